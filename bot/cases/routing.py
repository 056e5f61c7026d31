"""Where a new abuse report goes (seed 000 para 8; seed 002 Annex A step d).

Besides the triage channel and the line manager (``bot.cases.triage``), the pack names the
communications lead, the enquiry handling team and the corporate governance and risk manager
(``routing.abuse_report.notify``), and the equality and diversity adviser when a protected
characteristic is involved. Each contact is reached the ways the pack gives: its Slack
channel, the people in its role (by their Slack or Teams id), and its e-mail address. The bot
sends no e-mail: addresses it cannot reach in chat are listed on the timeline as "forward by
e-mail", so the triage team sees who still needs a copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.cases import notify
from bot.model import ConversationRef, Platform
from bot.policy import PolicyPack
from bot.policy.organisation import Contact


@dataclass
class Recipients:
    """Where copies of a report go, and what is left to forward by e-mail."""

    channels: list[ConversationRef] = field(default_factory=list)
    people: list[ConversationRef] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def involves_protected_characteristic(answers: dict[str, object]) -> bool:
    chosen = answers.get("protected_characteristics") or []
    return isinstance(chosen, list) and any(c != "none" for c in chosen)


def copy_contacts(pack: PolicyPack, answers: dict[str, object]) -> list[Contact]:
    """The pack's contacts who get a copy of this report, in the pack's order."""
    routing = pack.routing.abuse_report
    ids = list(routing.notify)
    if involves_protected_characteristic(answers):
        ids += [i for i in routing.protected_characteristic if i not in ids]
    return [pack.contact(contact_id) for contact_id in ids]


def recipients(
    pack: PolicyPack, answers: dict[str, object], reply_to: ConversationRef | None
) -> Recipients:
    """Resolve an abuse report's copy contacts to chat destinations and e-mail addresses."""
    return reach(pack, copy_contacts(pack, answers), reply_to)


def reach(
    pack: PolicyPack, contacts: list[Contact], reply_to: ConversationRef | None
) -> Recipients:
    """Resolve contacts to their Slack channels, their role's members, or their e-mail."""
    found = Recipients()
    for contact in contacts:
        found.labels.append(contact.label)
        reached = False
        if contact.slack_channel:
            found.channels.append(ConversationRef(Platform.SLACK, contact.slack_channel))
            reached = True
        members = pack.roles[contact.role].members if contact.role in pack.roles else []
        for identity in members:
            person = _person(identity, reply_to)
            if person is not None:
                found.people.append(person)
                reached = True
        if not reached and contact.email:
            found.emails.append(contact.email)
    return found


def _person(identity: str, reply_to: ConversationRef | None) -> ConversationRef | None:
    """A pack identity (``slack:U…`` or ``teams:<id>``) as a direct-message target.

    E-mail identities cannot be messaged in chat; Teams needs the tenant's service URL,
    taken from the conversation the report came from.
    """
    platform, _, user_id = identity.partition(":")
    if platform not in ("slack", "teams") or not user_id:
        return None
    if platform == "teams" and (reply_to is None or reply_to.platform is not Platform.TEAMS):
        return None
    found = notify.people([user_id], Platform(platform), reply_to)
    return found[0] if found else None
