"""Which records the pack's retention rules let go, and which are kept anyway.

Retention runs from the moment a record was finished with (``retention`` in the pack):

* an abuse report, from when it was **closed** (``abuse_report_closed_days``); a reopened
  report is not closed, so its clock stops until it is closed again;
* a business case, from when it was **decided**: approved, rejected or withdrawn by the
  applicant (``business_case_decided_days``); a case waiting for support or for changes is
  still open;
* a draft of either flow, from when it was last touched, whether left open or discarded
  (``flow_draft_days``); a submitted draft goes with its case.

Kept although past retention, and listed as such:

* everything while the pack's ``legal_hold`` is on;
* a case on legal hold of its own (``python -m bot hold REF --on``), and any draft of a
  change to it;
* an approved business case whose presence is still on the register of approved sites: the
  register is an operational record of an account the organisation still runs, and the case
  is what its approval rests on. The case becomes due once the presence leaves the register.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import AbuseState, BusinessCaseState, CaseEvent, CaseKind
from bot.policy.organisation import Retention
from bot.storage.repos import retention as rows
from bot.storage.repos.purge_log import DRAFT

PACK_HOLD = "legal hold (the whole policy pack)"
CASE_HOLD = "legal hold"
LIVE_PRESENCE = "its presence is still on the register of approved sites"


@dataclass(frozen=True)
class Rule:
    """How one kind of case finishes, and which retention setting counts from then."""

    kind: CaseKind
    states: tuple[str, ...]
    end_events: tuple[str, ...]
    setting: str
    ended: str

    def days(self, retention: Retention) -> int:
        """The number of days the pack keeps this kind after it finished."""
        return int(getattr(retention, self.setting))


RULES = (
    Rule(
        CaseKind.ABUSE_REPORT,
        (AbuseState.CLOSED,),
        (CaseEvent.CLOSE,),
        "abuse_report_closed_days",
        "closed",
    ),
    Rule(
        CaseKind.BUSINESS_CASE,
        (BusinessCaseState.APPROVED, BusinessCaseState.REJECTED, BusinessCaseState.WITHDRAWN),
        (CaseEvent.APPROVE, CaseEvent.REJECT, CaseEvent.WITHDRAW),
        "business_case_decided_days",
        "decided",
    ),
)
RULE_OF = {rule.kind.value: rule for rule in RULES}


@dataclass(frozen=True)
class Candidate:
    """A case or draft past its retention period.

    Attributes:
        kind: ``abuse_report``, ``business_case`` or ``flow_draft``.
        subject_id: the case's or the draft's id.
        reference: the case's reference (a draft's id for a draft).
        ended_at: when it was closed, decided or last touched.
        files: how many evidence files it holds.
        kept: why it stays although past retention, or ``None`` when it may go.
        flow: for a draft, which flow it is a draft of.
    """

    kind: str
    subject_id: str
    reference: str
    ended_at: datetime
    files: int
    kept: str | None = None
    flow: str | None = None

    def age_days(self, now: datetime) -> int:
        """Whole days since it ended."""
        return (now - self.ended_at).days

    @property
    def label(self) -> str:
        """How a person reads it: ``AB-2026-0042`` or ``draft 1f2e3d4c``."""
        return f"draft {self.subject_id[:8]}" if self.kind == DRAFT else self.reference

    @property
    def ended(self) -> str:
        """The word for how it ended: closed, decided, last touched."""
        return RULE_OF[self.kind].ended if self.kind in RULE_OF else "last touched"


async def past_retention(
    session: AsyncSession, retention: Retention, now: datetime
) -> list[Candidate]:
    """Every case and draft past retention at ``now``, with the reason for any kept."""
    found: list[Candidate] = []
    for rule in RULES:
        found.extend(await _ended(session, retention, now, rule))
    found.extend(await _drafts(session, retention, now))
    return found


async def recheck(
    session: AsyncSession, retention: Retention, now: datetime, candidate: Candidate
) -> Candidate | None:
    """The candidate as it stands now (inside the purging transaction), or ``None`` if it is
    no longer past retention (reopened, resubmitted, touched again, or gone)."""
    if candidate.kind == DRAFT:
        drafts = await _drafts(session, retention, now, draft_id=candidate.subject_id)
        return drafts[0] if drafts else None
    rule = RULE_OF[candidate.kind]
    ended = await _ended(session, retention, now, rule, case_id=candidate.subject_id)
    return ended[0] if ended else None


async def _ended(
    session: AsyncSession,
    retention: Retention,
    now: datetime,
    rule: Rule,
    case_id: str | None = None,
) -> list[Candidate]:
    ended = await rows.ended_before(
        session=session,
        kind=rule.kind.value,
        states=rule.states,
        end_events=rule.end_events,
        before=now - timedelta(days=rule.days(retention)),
        case_id=case_id,
    )
    return [
        Candidate(
            kind=case.kind,
            subject_id=case.case_id,
            reference=case.reference,
            ended_at=case.ended_at,
            files=case.files,
            kept=_kept(retention, case.legal_hold, case.live_presence),
        )
        for case in ended
    ]


async def _drafts(
    session: AsyncSession, retention: Retention, now: datetime, draft_id: str | None = None
) -> list[Candidate]:
    drafts = await rows.drafts_untouched_since(
        session=session,
        before=now - timedelta(days=retention.flow_draft_days),
        draft_id=draft_id,
    )
    return [
        Candidate(
            kind=DRAFT,
            subject_id=draft.id,
            reference=draft.id,
            ended_at=draft.touched_at,
            files=draft.files,
            kept=_kept(retention, draft.case_held, live_presence=False),
            flow=draft.flow,
        )
        for draft in drafts
    ]


def _kept(retention: Retention, held: bool, live_presence: bool) -> str | None:
    if retention.legal_hold:
        return PACK_HOLD
    if held:
        return CASE_HOLD
    if live_presence:
        return LIVE_PRESENCE
    return None
