"""The reply helper (seed 002 Annex A): ready-made replies by situation, for channel managers.

Each reply is shown as approved, with its character count and a warning when it is over the
pack's limit (the seed counts against 140), followed by the escalation steps that go with the
situation and, where there is one, the e-mail reply template. Slack shows it from the message
shortcut "Suggest a reply"; Teams from the command ``replies``.
"""

from __future__ import annotations

from bot.cards import Card, Divider, Element, Text
from bot.policy import PolicyPack


def replies_card(pack: PolicyPack) -> Card:
    """Every situation of Annex A with its replies and escalation steps."""
    policy = pack.replies
    elements: list[Element] = [
        Text(
            "Ready-made replies, already approved. Copy the one that fits; keep to the agreed "
            "lines and never ask for clinical or personal details.",
            "muted",
        )
    ]
    for situation in policy.situations:
        elements += [Divider(), Text(situation.label, "heading")]
        if situation.guidance:
            elements.append(Text(situation.guidance))
        for reply in situation.replies:
            elements.append(Text(f"{reply.label}: {reply.text}"))
            count = f"{reply.characters} characters"
            if reply.over_limit(policy.character_limit):
                elements.append(
                    Text(
                        f"{count}: over the {policy.character_limit}-character "
                        "limit. Shorten it before posting.",
                        "alert",
                    )
                )
            else:
                elements.append(Text(count, "muted"))
        if situation.escalation:
            elements.append(Text("If it goes further", "heading"))
            elements += [Text(f"• {step}") for step in situation.escalation]
        if situation.email_template is not None:
            elements += [
                Text(situation.email_template.label, "heading"),
                Text(situation.email_template.text),
            ]
    return Card(
        title="Suggest a reply",
        elements=tuple(elements),
        cancel_label="Close",
        fallback="Ready-made replies for comments on organisational accounts",
    )
