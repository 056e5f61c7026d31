"""The authorisation matrix as data: its rows (roles), its people, and the pack's answers.

Rows are every role of the default pack and every case role. One person holds each row's
role on each platform: a pack role as the pack's only member of it, a case role by what
``seed_case`` makes them on the case pressed (its reporter, named line manager or assignee;
a business case's applicant or named supporter; the owner of an approved presence is its
applicant). Columns are every action. ``CASE_STATE`` puts each case in a state where the
action is legal, so a refusal can only be for the role.
"""

from __future__ import annotations

from bot.actions import ActionName
from bot.cases.board import BOARD_ACTIONS
from bot.cases.lifecycle import CaseKind
from bot.model import Platform
from bot.policy import EVERYONE, load_default_pack
from tests.security.support import person
from tests.support.bot_fixtures import pack_with_roles

A = ActionName
PACK = load_default_pack()
CASE_ROLE_ORDER = (
    "case_reporter",
    "case_line_manager",
    "case_assignee",
    "case_applicant",
    "case_supporter",
    "presence_owner",
)
ROLES = (*PACK.roles, *CASE_ROLE_ORDER)
PLATFORMS = (Platform.SLACK, Platform.TEAMS)
PEOPLE = {
    platform: {
        role: person(platform, number, role.replace("_", " ").capitalize())
        for number, role in enumerate(ROLES, start=1)
    }
    for platform in PLATFORMS
}
MATRIX_PACK = pack_with_roles(
    **{
        role: [PEOPLE[platform][role].identity for platform in PLATFORMS]
        for role in PACK.roles
        if role != EVERYONE
    }
)

# A state in which each case action is legal (the lifecycle table allows its event there).
CASE_STATE: dict[ActionName, str] = {
    A.CASE_ACKNOWLEDGE: "new",
    A.CASE_ASSIGN: "acknowledged",
    A.CASE_ESCALATE: "acknowledged",
    A.CASE_RECORD_ACTION: "acknowledged",
    A.CASE_CHECK_IN: "acknowledged",
    A.CASE_CLOSE: "in_progress",
    A.CASE_REOPEN: "closed",
    A.CASE_VIEW_DETAILS: "new",
    A.CASE_SUPPORT: "awaiting_support",
    A.CASE_DECLINE_SUPPORT: "awaiting_support",
    A.CASE_APPROVE: "under_review",
    A.CASE_REJECT: "under_review",
    A.CASE_REQUEST_CHANGES: "under_review",
    A.CASE_RESUBMIT: "changes_requested",
    A.CASE_WITHDRAW: "awaiting_support",
    A.CASE_VIEW_FULL_CASE: "under_review",
    A.PRESENCE_CHECKED: "approved",
}
# What an allowed press does, when it is not a move of the case (or a timeline event).
OPENS_FORM = {
    A.CASE_ASSIGN,
    A.CASE_ESCALATE,
    A.CASE_RECORD_ACTION,
    A.CASE_CLOSE,
    A.CASE_DECLINE_SUPPORT,
    A.CASE_APPROVE,
    A.CASE_REJECT,
    A.CASE_REQUEST_CHANGES,
}
OPENS_DETAILS = {A.CASE_VIEW_DETAILS, A.CASE_VIEW_FULL_CASE}
OPENS_EDIT = {A.CASE_RESUBMIT}
# Cells the seed policies (000 and 002) decide, written out by hand.
SEED_POLICY = [
    ("triage_manager", A.CASE_ACKNOWLEDGE, True),
    ("case_line_manager", A.CASE_ACKNOWLEDGE, True),
    ("enquiry_handling", A.CASE_ACKNOWLEDGE, False),
    ("enquiry_handling", A.CASE_VIEW_DETAILS, True),
    ("case_reporter", A.CASE_VIEW_DETAILS, True),
    ("case_reporter", A.CASE_CLOSE, False),
    ("case_assignee", A.CASE_CHECK_IN, True),
    ("case_assignee", A.CASE_CLOSE, False),
    ("reporter", A.CASE_VIEW_DETAILS, False),
    ("admin", A.CASE_ACKNOWLEDGE, False),
    ("board_member", A.CASE_APPROVE, True),
    ("triage_manager", A.CASE_APPROVE, False),
    ("case_supporter", A.CASE_SUPPORT, True),
    ("case_applicant", A.CASE_SUPPORT, False),
    ("case_applicant", A.CASE_WITHDRAW, True),
    ("corporate_communications", A.PRESENCE_CHECKED, True),
    ("presence_owner", A.PRESENCE_CHECKED, True),
    ("board_member", A.PRESENCE_CHECKED, False),
    ("reporter", A.FLOW_START_ABUSE_REPORT, True),
    ("board_member", A.FLOW_START_BUSINESS_CASE, True),
]


def kind_of(action: ActionName) -> CaseKind:
    return CaseKind.BUSINESS_CASE if action in BOARD_ACTIONS else CaseKind.ABUSE_REPORT


def held_case_roles(role: str, kind: CaseKind, state: str) -> set[str]:
    """The case roles the person in row ``role`` holds on the case ``seed_case`` makes."""
    if kind is CaseKind.ABUSE_REPORT:
        return {role} & {"case_reporter", "case_line_manager", "case_assignee"}
    held = {"case_supporter"} if role == "case_supporter" else set()
    if role in ("case_applicant", "presence_owner"):  # the applicant owns what is approved
        held |= {"case_applicant", "presence_owner"} if state == "approved" else {"case_applicant"}
    return held


def allowed(role: str, action: ActionName) -> bool:
    """The pack's answer for the person in row ``role`` pressing ``action``."""
    held: set[str] = set()
    if action in CASE_STATE:
        held = held_case_roles(role, kind_of(action), CASE_STATE[action])
    identity = PEOPLE[Platform.SLACK][role].identity
    return MATRIX_PACK.may(action.value, [identity], case_roles=held)
