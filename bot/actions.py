"""Action names (one enum) and the codec for button payloads.

A button carries an ``ActionRef``: the action's dotted name, the id of what it acts on (a
case id or a flow session id) and the version the card showed, so a stale press can be told
apart from a fresh one. Never personal data: the payload is visible to the platform.

Encoded form: ``v1|<name>|<subject_id>|<version>``, under Slack's 2,000-character button
value limit and safe in a Teams ``data`` object.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

CODEC_VERSION = "v1"
MAX_SUBJECT_LENGTH = 64


class ActionName(StrEnum):
    """Every action a button or command can carry."""

    # Starting and walking flows.
    FLOW_START_ABUSE_REPORT = "flow.start.abuse_report"
    FLOW_START_BUSINESS_CASE = "flow.start.business_case"
    FLOW_NEXT = "flow.next"
    FLOW_BACK = "flow.back"
    FLOW_CANCEL = "flow.cancel"
    FLOW_SUBMIT = "flow.submit"
    FLOW_RESUME = "flow.resume"
    FLOW_DISCARD = "flow.discard"

    # Triage of abuse reports.
    CASE_ACKNOWLEDGE = "case.acknowledge"
    CASE_ASSIGN = "case.assign"
    CASE_ESCALATE = "case.escalate"
    CASE_RECORD_ACTION = "case.record_action"
    CASE_CHECK_IN = "case.check_in"
    CASE_CLOSE = "case.close"
    CASE_REOPEN = "case.reopen"
    CASE_VIEW_DETAILS = "case.view_details"
    CASE_VIEW_FULL_CASE = "case.view_full_case"

    # Business case support and decision.
    CASE_SUPPORT = "case.support"
    CASE_DECLINE_SUPPORT = "case.decline_support"
    CASE_APPROVE = "case.approve"
    CASE_REJECT = "case.reject"
    CASE_REQUEST_CHANGES = "case.request_changes"
    CASE_RESUBMIT = "case.resubmit"
    CASE_WITHDRAW = "case.withdraw"

    # Approved presences.
    PRESENCE_CHECKED = "presence.checked"

    # The reply helper (seed 002 Annex A).
    REPLIES_SHOW = "replies.show"

    @property
    def on_a_case(self) -> bool:
        """A press on a case's card (or a presence's), handled by ``Core.press``."""
        return self.value.startswith(("case.", "presence."))


class ActionCodecError(ValueError):
    """A button payload that is not one of ours, or was tampered with."""


@dataclass(frozen=True)
class ActionRef:
    """A typed button payload: what to do, to which subject, at which version."""

    name: ActionName
    subject_id: str = ""
    version: int = 0

    def encode(self) -> str:
        """Return the string carried by the button."""
        if "|" in self.subject_id or len(self.subject_id) > MAX_SUBJECT_LENGTH:
            raise ActionCodecError(f"subject id not encodable: {self.subject_id!r}")
        return f"{CODEC_VERSION}|{self.name.value}|{self.subject_id}|{self.version}"

    @classmethod
    def decode(cls, value: str) -> ActionRef:
        """Parse and validate a button payload.

        Raises:
            ActionCodecError: when the value is not a payload this codec wrote.
        """
        parts = value.split("|")
        if len(parts) != 4 or parts[0] != CODEC_VERSION:
            raise ActionCodecError(f"unknown action payload: {value[:80]!r}")
        _, name, subject_id, version = parts
        try:
            action = ActionName(name)
        except ValueError as exc:
            raise ActionCodecError(f"unknown action name: {name[:40]!r}") from exc
        # ASCII digits only: str.isdigit() also takes "²", which int() then refuses.
        if not (version.isascii() and version.isdigit()) or len(subject_id) > MAX_SUBJECT_LENGTH:
            raise ActionCodecError(f"malformed action payload: {value[:80]!r}")
        return cls(name=action, subject_id=subject_id, version=int(version))
