"""Every (state, event) pair of both lifecycles: legal ones move as the table says, others
refuse."""

from __future__ import annotations

import itertools

import pytest

from bot.cases.lifecycle import (
    ACTION_EVENTS,
    EVENT_ACTIONS,
    INITIAL_STATE,
    STATES,
    TRANSITIONS,
    AbuseState,
    BusinessCaseState,
    CaseEvent,
    CaseKind,
    IllegalTransition,
    allowed_events,
    apply,
)

ALL_PAIRS = [
    (kind, state, event)
    for kind in CaseKind
    for state, event in itertools.product(STATES[kind], CaseEvent)
]

# The abuse graph of DOMAIN.md, written out independently of the table under test.
ABUSE_EXPECTED = {
    ("new", "acknowledge"): "acknowledged",
    ("acknowledged", "assign"): "acknowledged",
    ("acknowledged", "record_action"): "acknowledged",
    ("acknowledged", "check_in"): "acknowledged",
    ("acknowledged", "escalate"): "escalated",
    ("escalated", "assign"): "escalated",
    ("escalated", "escalate"): "escalated",
    ("escalated", "check_in"): "escalated",
    ("escalated", "record_action"): "in_progress",
    ("in_progress", "assign"): "in_progress",
    ("in_progress", "record_action"): "in_progress",
    ("in_progress", "check_in"): "in_progress",
    ("in_progress", "escalate"): "escalated",
    ("in_progress", "close"): "closed",
    ("closed", "reopen"): "in_progress",
}
# DOMAIN.md's graph: every state change the table makes is one of these edges.
ABUSE_GRAPH = {
    ("new", "acknowledged"),
    ("acknowledged", "escalated"),
    ("escalated", "in_progress"),
    ("in_progress", "escalated"),
    ("in_progress", "closed"),
    ("closed", "in_progress"),
}
BUSINESS_EXPECTED = {
    ("awaiting_support", "support"): "under_review",
    ("awaiting_support", "decline_support"): "not_supported",
    ("awaiting_support", "withdraw"): "withdrawn",
    ("not_supported", "resubmit"): "awaiting_support",
    ("not_supported", "withdraw"): "withdrawn",
    ("under_review", "approve"): "approved",
    ("under_review", "reject"): "rejected",
    ("under_review", "request_changes"): "changes_requested",
    ("under_review", "withdraw"): "withdrawn",
    ("changes_requested", "resubmit"): "under_review",
    ("changes_requested", "withdraw"): "withdrawn",
}
EXPECTED = {CaseKind.ABUSE_REPORT: ABUSE_EXPECTED, CaseKind.BUSINESS_CASE: BUSINESS_EXPECTED}


@pytest.mark.parametrize(("kind", "state", "event"), ALL_PAIRS)
def test_every_pair_moves_or_refuses(kind: CaseKind, state: str, event: CaseEvent) -> None:
    expected = EXPECTED[kind].get((state, event.value))
    if expected is None:
        with pytest.raises(IllegalTransition) as refused:
            apply(kind, state, event)
        assert event.value in str(refused.value)
        assert event not in allowed_events(kind, state)
    else:
        assert apply(kind, state, event) == expected
        assert event in allowed_events(kind, state)


def test_new_report_offers_only_acknowledge() -> None:
    assert allowed_events(CaseKind.ABUSE_REPORT, AbuseState.NEW) == (CaseEvent.ACKNOWLEDGE,)


def test_closed_report_offers_only_reopen() -> None:
    assert allowed_events(CaseKind.ABUSE_REPORT, AbuseState.CLOSED) == (CaseEvent.REOPEN,)


def test_decided_business_cases_offer_nothing() -> None:
    for state in (BusinessCaseState.APPROVED, BusinessCaseState.REJECTED):
        assert allowed_events(CaseKind.BUSINESS_CASE, state) == ()


def test_tables_name_only_known_states() -> None:
    for kind, table in TRANSITIONS.items():
        for (state, _), target in table.items():
            assert state in STATES[kind] and target in STATES[kind]
        assert INITIAL_STATE[kind] in STATES[kind]


def test_every_event_has_exactly_one_button() -> None:
    assert set(EVENT_ACTIONS) == set(CaseEvent)
    assert len(ACTION_EVENTS) == len(EVENT_ACTIONS)


def test_every_state_is_reachable_from_the_initial_state() -> None:
    for kind, table in TRANSITIONS.items():
        seen, frontier = {INITIAL_STATE[kind]}, [INITIAL_STATE[kind]]
        while frontier:
            state = frontier.pop()
            for (source, _), target in table.items():
                if source == state and target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert seen == set(STATES[kind])


def test_abuse_state_changes_are_exactly_the_domain_graph() -> None:
    changes = {(a, b) for (a, _), b in TRANSITIONS[CaseKind.ABUSE_REPORT].items() if a != b}
    assert changes == ABUSE_GRAPH


def test_every_case_action_has_exactly_one_handler() -> None:
    from bot.actions import ActionName
    from bot.cases.board import BOARD_ACTIONS

    abuse_events = {e for (_, e) in TRANSITIONS[CaseKind.ABUSE_REPORT]}
    triage = {EVENT_ACTIONS[e] for e in abuse_events} | {ActionName.CASE_VIEW_DETAILS}
    case_actions = {a for a in ActionName if a.value.startswith(("case.", "presence."))}
    assert triage.isdisjoint(BOARD_ACTIONS)
    assert triage | BOARD_ACTIONS == case_actions
