"""The policy pack: every word, role, contact and route the bot uses, as validated data.

Read a pack with :func:`load_pack` (a file) or :func:`load_default_pack` (built from the seed
policies); both raise :class:`PackError` naming the file, line and field of every problem.
Flows read the pack's parts, for example ``pack.abuse_report.steps["kind"].options``, and
authorisation asks ``pack.may("case.acknowledge", identities)``.
"""

from bot.policy.abuse import STEP_KINDS, AbuseReportPolicy, Advice, EscalationTarget, Step
from bot.policy.business_case import BusinessCasePolicy, ChecklistPoint, Question
from bot.policy.cli import check_pack
from bot.policy.common import CrossReferenceError, Link, Option
from bot.policy.loader import PackError, Problem, load_default_pack, load_pack, parse_pack
from bot.policy.organisation import Contact, Organisation, Role, normalise_identity
from bot.policy.replies import Reply, ReplyPolicy, Situation
from bot.policy.schema import CASE_ROLES, EVERYONE, REQUIRED_ROLES, PolicyPack

__all__ = [
    "CASE_ROLES",
    "EVERYONE",
    "REQUIRED_ROLES",
    "STEP_KINDS",
    "AbuseReportPolicy",
    "Advice",
    "BusinessCasePolicy",
    "ChecklistPoint",
    "Contact",
    "CrossReferenceError",
    "EscalationTarget",
    "Link",
    "Option",
    "Organisation",
    "PackError",
    "PolicyPack",
    "Problem",
    "Question",
    "Reply",
    "ReplyPolicy",
    "Role",
    "Situation",
    "Step",
    "check_pack",
    "load_default_pack",
    "load_pack",
    "normalise_identity",
    "parse_pack",
]
