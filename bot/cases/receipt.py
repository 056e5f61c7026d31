"""The reporter's receipt: the reference, who has the report now, and the advice that fits.

Shown at once after the report is stored (seed 000 para 8 to 11 and Further information).
Advice is chosen by the answers (``pack.abuse_report.advice_for``), so, for example, the
platform's own report page appears for the platform the reporter named; urgent reports
repeat the police advice first.
"""

from __future__ import annotations

from typing import Any

from bot.cards import Card, Element, Fields, Link, Text
from bot.cases.routing import copy_contacts
from bot.policy import PolicyPack


def who_has_it(pack: PolicyPack, answers: dict[str, Any]) -> str:
    """Plain words for where the report went."""
    role_id = answers.get("reporter_role")
    reporting = pack.abuse_report.steps["reporter_role"].options
    reports_to = next((o.reports_to for o in reporting if o.id == role_id), "line_manager")
    first = "your line manager" if reports_to == "line_manager" else "your project team contact"
    others = [contact.label for contact in copy_contacts(pack, answers)]
    return (
        f"Your report has gone to {first} and the team that supports staff, with copies to "
        f"{', '.join(others)}."
        if others
        else f"Your report has gone to {first}."
    )


def receipt_card(pack: PolicyPack, reference: str, answers: dict[str, Any], urgent: bool) -> Card:
    """The receipt card for a stored abuse report."""
    elements: list[Element] = []
    if urgent:
        safety = pack.abuse_report.safety_advice
        elements.append(Text(safety.text, "alert"))
    notice = pack.abuse_report.notices["submitted"].replace("{reference}", reference)
    elements += [
        Text(notice, "good"),
        Fields((("Reference", reference),)),
        Text(who_has_it(pack, answers)),
        Text("What you can do now", "heading"),
    ]
    for advice in pack.abuse_report.advice_for(answers):
        elements.append(Text(advice.text))
        if advice.link is not None:
            elements.append(Link(advice.link.label, str(advice.link.url)))
    return Card(
        title="Report received", elements=tuple(elements), fallback=f"Report received: {reference}"
    )
