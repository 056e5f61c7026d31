"""The case lifecycles as tables, and a pure ``apply()``.

Abuse reports (DOMAIN.md section 1)::

    new ─acknowledge─▶ acknowledged ─escalate─▶ escalated ⇄ in_progress ─close─▶ closed
                                                 (record action / escalate)      │
                                                  closed ─reopen─▶ in_progress ◀┘

Business cases (DOMAIN.md section 2)::

    awaiting_support ─support─▶ under_review ─approve─▶ approved
          │ └decline_support─▶ not_supported         ├─reject─▶ rejected
          │                         │                └─request_changes─▶ changes_requested
          └──────────────────────────┴──────resubmit───────────────────────────┘

A transition not in a table is refused with ``IllegalTransition``. Events that leave the
state as it is (assign while in progress, log a check-in) are entries mapping a state to
itself, so that the table also says which buttons a card may offer in each state.
"""

from __future__ import annotations

from enum import StrEnum

from bot.actions import ActionName


class CaseKind(StrEnum):
    """The two kinds of case the bot keeps."""

    ABUSE_REPORT = "abuse_report"
    BUSINESS_CASE = "business_case"


class AbuseState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class BusinessCaseState(StrEnum):
    AWAITING_SUPPORT = "awaiting_support"
    NOT_SUPPORTED = "not_supported"
    UNDER_REVIEW = "under_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class CaseEvent(StrEnum):
    """Things that happen to a case; each is carried by the action of the same name."""

    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    ESCALATE = "escalate"
    RECORD_ACTION = "record_action"
    CHECK_IN = "check_in"
    CLOSE = "close"
    REOPEN = "reopen"
    SUPPORT = "support"
    DECLINE_SUPPORT = "decline_support"
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"


A = AbuseState
B = BusinessCaseState
E = CaseEvent

ABUSE_TRANSITIONS: dict[tuple[str, CaseEvent], str] = {
    (A.NEW, E.ACKNOWLEDGE): A.ACKNOWLEDGED,
    # Seed 000 para 8: the report goes to the communications lead for advice on handling,
    # so an acknowledged report moves on by escalation; nothing skips the graph.
    (A.ACKNOWLEDGED, E.ASSIGN): A.ACKNOWLEDGED,
    (A.ACKNOWLEDGED, E.RECORD_ACTION): A.ACKNOWLEDGED,
    (A.ACKNOWLEDGED, E.CHECK_IN): A.ACKNOWLEDGED,
    (A.ACKNOWLEDGED, E.ESCALATE): A.ESCALATED,
    (A.ESCALATED, E.ASSIGN): A.ESCALATED,
    (A.ESCALATED, E.ESCALATE): A.ESCALATED,
    (A.ESCALATED, E.CHECK_IN): A.ESCALATED,
    (A.ESCALATED, E.RECORD_ACTION): A.IN_PROGRESS,
    (A.IN_PROGRESS, E.ASSIGN): A.IN_PROGRESS,
    (A.IN_PROGRESS, E.RECORD_ACTION): A.IN_PROGRESS,
    (A.IN_PROGRESS, E.CHECK_IN): A.IN_PROGRESS,
    (A.IN_PROGRESS, E.ESCALATE): A.ESCALATED,
    (A.IN_PROGRESS, E.CLOSE): A.CLOSED,
    (A.CLOSED, E.REOPEN): A.IN_PROGRESS,
}

BUSINESS_CASE_TRANSITIONS: dict[tuple[str, CaseEvent], str] = {
    (B.AWAITING_SUPPORT, E.SUPPORT): B.UNDER_REVIEW,
    (B.AWAITING_SUPPORT, E.DECLINE_SUPPORT): B.NOT_SUPPORTED,
    (B.AWAITING_SUPPORT, E.WITHDRAW): B.WITHDRAWN,
    (B.NOT_SUPPORTED, E.RESUBMIT): B.AWAITING_SUPPORT,
    (B.NOT_SUPPORTED, E.WITHDRAW): B.WITHDRAWN,
    (B.UNDER_REVIEW, E.APPROVE): B.APPROVED,
    (B.UNDER_REVIEW, E.REJECT): B.REJECTED,
    (B.UNDER_REVIEW, E.REQUEST_CHANGES): B.CHANGES_REQUESTED,
    (B.UNDER_REVIEW, E.WITHDRAW): B.WITHDRAWN,
    (B.CHANGES_REQUESTED, E.RESUBMIT): B.UNDER_REVIEW,
    (B.CHANGES_REQUESTED, E.WITHDRAW): B.WITHDRAWN,
}

TRANSITIONS: dict[CaseKind, dict[tuple[str, CaseEvent], str]] = {
    CaseKind.ABUSE_REPORT: ABUSE_TRANSITIONS,
    CaseKind.BUSINESS_CASE: BUSINESS_CASE_TRANSITIONS,
}

INITIAL_STATE: dict[CaseKind, str] = {
    CaseKind.ABUSE_REPORT: A.NEW,
    CaseKind.BUSINESS_CASE: B.AWAITING_SUPPORT,
}

STATES: dict[CaseKind, tuple[str, ...]] = {
    CaseKind.ABUSE_REPORT: tuple(AbuseState),
    CaseKind.BUSINESS_CASE: tuple(BusinessCaseState),
}

TERMINAL_STATES: frozenset[str] = frozenset({A.CLOSED, B.APPROVED, B.REJECTED, B.WITHDRAWN})

# The button that carries each event. Reopen and close are buttons like the others.
EVENT_ACTIONS: dict[CaseEvent, ActionName] = {
    E.ACKNOWLEDGE: ActionName.CASE_ACKNOWLEDGE,
    E.ASSIGN: ActionName.CASE_ASSIGN,
    E.ESCALATE: ActionName.CASE_ESCALATE,
    E.RECORD_ACTION: ActionName.CASE_RECORD_ACTION,
    E.CHECK_IN: ActionName.CASE_CHECK_IN,
    E.CLOSE: ActionName.CASE_CLOSE,
    E.REOPEN: ActionName.CASE_REOPEN,
    E.SUPPORT: ActionName.CASE_SUPPORT,
    E.DECLINE_SUPPORT: ActionName.CASE_DECLINE_SUPPORT,
    E.APPROVE: ActionName.CASE_APPROVE,
    E.REJECT: ActionName.CASE_REJECT,
    E.REQUEST_CHANGES: ActionName.CASE_REQUEST_CHANGES,
    E.RESUBMIT: ActionName.CASE_RESUBMIT,
    E.WITHDRAW: ActionName.CASE_WITHDRAW,
}
ACTION_EVENTS: dict[ActionName, CaseEvent] = {v: k for k, v in EVENT_ACTIONS.items()}


class IllegalTransition(ValueError):
    """An event that the case's current state does not allow."""

    def __init__(self, kind: CaseKind, state: str, event: CaseEvent) -> None:
        super().__init__(f"{kind.value}: cannot {event.value} a case that is {state}")
        self.kind = kind
        self.state = state
        self.event = event


def apply(kind: CaseKind, state: str, event: CaseEvent) -> str:
    """Return the state after ``event``, or raise ``IllegalTransition``. Pure: no I/O.

    Args:
        kind: which lifecycle table to use.
        state: the case's current state.
        event: what happened.
    """
    try:
        return TRANSITIONS[kind][(state, event)]
    except KeyError:
        raise IllegalTransition(kind, state, event) from None


def allowed_events(kind: CaseKind, state: str) -> tuple[CaseEvent, ...]:
    """The events the state allows, in the order the table lists them (the buttons' order)."""
    return tuple(event for (from_state, event) in TRANSITIONS[kind] if from_state == state)


def is_terminal(state: str) -> bool:
    """True for states from which only a reopen (or nothing) is possible."""
    return state in TERMINAL_STATES
