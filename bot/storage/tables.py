"""The database schema as SQLAlchemy declarative models.

These classes are the single description of the schema: the Alembic migrations are checked
against them by a test, and the repositories in :mod:`bot.storage.repos` query them. Other
modules should go through the repositories rather than query these directly, so the
concurrency rules (versions, claims, the hash chain) stay in one place.

Conventions: string ids are 32-hex UUIDs, integer ids autoincrement, every datetime is an
aware UTC datetime (:class:`~bot.storage.types.UTCDateTime`), and JSON columns hold the
``to_json()`` forms of the neutral model types. Columns that hold personal free text (answers,
drafts, timeline details, queued cards, evidence file names) are
:class:`~bot.storage.types.SealedJSON` / :class:`~bot.storage.types.SealedText`: encrypted at
rest when ``BOT_DATA_KEY`` is set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.storage.types import SealedJSON, SealedText, UTCDateTime

# Stable constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The ``prev_hash`` of a timeline's first event, and the head of an empty timeline.
GENESIS_HASH = "0" * 64

# SQLite only autoincrements an ``INTEGER PRIMARY KEY``; PostgreSQL gets a 64-bit identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")
Key = String(255)
Name = String(64)


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention and the UTC datetime type."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Case(Base):
    """An abuse report or a business case: its current state and answers."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_kind_state", "kind", "state"),
        Index("ix_cases_created_at", "created_at"),
        Index("ix_cases_reporter_key", "reporter_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(Name)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(Name)
    version: Mapped[int] = mapped_column(Integer)
    urgent: Mapped[bool] = mapped_column(Boolean)
    reporter_key: Mapped[str] = mapped_column(Key)
    reporter: Mapped[dict[str, Any]]
    assignee_key: Mapped[str | None] = mapped_column(Key)
    assignee: Mapped[dict[str, Any] | None]
    data: Mapped[dict[str, Any]] = mapped_column(SealedJSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # The timeline's head (its last event's number and hash), moved on by every append, so
    # an event cut off the end of the chain is noticed (``python -m bot audit verify``).
    chain_seq: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    chain_hash: Mapped[str] = mapped_column(
        String(64), default=GENESIS_HASH, server_default=GENESIS_HASH
    )
    # A per-case legal hold (``python -m bot hold REF --on``): never purged while it is on.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CaseEvent(Base):
    """One entry of a case's append-only timeline, linked to the previous one by hash."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor_key: Mapped[str] = mapped_column(Key)
    actor_name: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(Name)
    from_state: Mapped[str | None] = mapped_column(Name)
    to_state: Mapped[str | None] = mapped_column(Name)
    detail: Mapped[dict[str, Any]] = mapped_column(SealedJSON)
    internal: Mapped[bool] = mapped_column(Boolean)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CaseVersion(Base):
    """A submitted version of a case's answers (business cases keep every version)."""

    __tablename__ = "case_versions"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    number: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(SealedJSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(Key)


class ReferenceCounter(Base):
    """The last reference number handed out per prefix and year (``AB-2026-0042``)."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class FlowSession(Base):
    """A person's draft of a flow: where they are, what they answered, where they came from."""

    __tablename__ = "flow_sessions"
    __table_args__ = (
        # At most one open draft per person and flow; submitted and discarded ones pile up.
        Index(
            "uq_flow_sessions_open",
            "platform",
            "user_id",
            "flow",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(Key)
    flow: Mapped[str] = mapped_column(Name)
    step: Mapped[str] = mapped_column(Name)
    answers: Mapped[dict[str, Any]] = mapped_column(SealedJSON)
    history: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    version: Mapped[int] = mapped_column(Integer)
    view_ref: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PostedCard(Base):
    """A card the bot posted for a case, so it can be updated in place later."""

    __tablename__ = "posted_cards"
    __table_args__ = (UniqueConstraint("case_id", "purpose", "platform", "conversation_id"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    purpose: Mapped[str] = mapped_column(Name)
    platform: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[str] = mapped_column(Key)
    conversation: Mapped[dict[str, Any]]
    message_id: Mapped[str] = mapped_column(Key)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChannelBinding(Base):
    """Which conversation plays a role (abuse triage, board triage, …) on a platform."""

    __tablename__ = "channel_bindings"
    __table_args__ = (UniqueConstraint("purpose", "platform"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(Name)
    platform: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[str] = mapped_column(Key)
    conversation: Mapped[dict[str, Any]]
    bound_by: Mapped[str] = mapped_column(Key)
    bound_at: Mapped[datetime]


class OutboxMessage(Base):
    """A message to deliver, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        # A case card's renderings: is one in flight, was a newer one queued (delivery loop).
        Index("ix_outbox_case_id_card_purpose_platform", "case_id", "card_purpose", "platform"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    operation: Mapped[str] = mapped_column(String(16))
    target: Mapped[dict[str, Any]]
    card: Mapped[dict[str, Any]] = mapped_column(SealedJSON)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    card_purpose: Mapped[str | None] = mapped_column(Name)
    dedupe_key: Mapped[str | None] = mapped_column(Key, unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(Key)
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(Key)


class Reminder(Base):
    """Something to do at a time (a check-in, a nudge about an unacknowledged report)."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_status_due_at", "status", "due_at"),
        Index("ix_reminders_case_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(Name)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    subject: Mapped[dict[str, Any]]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(Key, unique=True)
    claimed_by: Mapped[str | None] = mapped_column(Key)
    claimed_until: Mapped[datetime | None]
    fired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class StoredFile(Base):
    """An evidence file kept in the file store; the bytes live on disk at ``path``."""

    __tablename__ = "stored_files"
    __table_args__ = (
        Index("ix_stored_files_case_id", "case_id"),
        Index("ix_stored_files_session_id", "session_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    session_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(SealedText)
    mime_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(512))
    platform: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]


class Presence(Base):
    """An approved organisational social media presence: the register of approved sites.

    Added when the board approves a business case (seed 002 Section 3); the review date is
    the policy's review period on from approval, and the owner is reminded to monitor it.
    """

    __tablename__ = "presences"
    __table_args__ = (Index("ix_presences_review_at", "review_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), unique=True)
    platform: Mapped[str] = mapped_column(Text)
    name_or_url: Mapped[str] = mapped_column(Text)
    owner_key: Mapped[str] = mapped_column(String(255))
    owner: Mapped[dict[str, Any]] = mapped_column(JSON)
    approved_by: Mapped[str] = mapped_column(String(255))
    approved_at: Mapped[datetime]
    review_at: Mapped[datetime]


class RegisterKey(Base):
    """A random key made on first use, shared by every replica (the sender hashes' key)."""

    __tablename__ = "register_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128))


class SenderHash(Base):
    """A sender named in a report, kept only as a keyed hash (recurring senders)."""

    __tablename__ = "sender_hashes"
    __table_args__ = (
        UniqueConstraint("case_id", "digest"),
        Index("ix_sender_hashes_digest", "digest"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class PurgeRecord(Base):
    """A case or draft deleted under the pack's retention rules; kept after the purge.

    ``pending_files`` lists the file-store paths still to remove once the deleting
    transaction has committed; it is emptied (and ``files_removed_at`` set) when they are
    gone, so a purge interrupted between the two is finished by the next run.
    """

    __tablename__ = "purge_log"
    __table_args__ = (Index("ix_purge_log_reference", "reference"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(Name)
    closed_at: Mapped[datetime | None]
    purged_at: Mapped[datetime]
    file_count: Mapped[int] = mapped_column(Integer)
    purged_by: Mapped[str] = mapped_column(Key)
    pending_files: Mapped[list[Any]]
    files_removed_at: Mapped[datetime | None]


class ProcessedEvent(Base):
    """An inbound event id already handled (Slack retries the same ``event_id``)."""

    __tablename__ = "processed_events"

    key: Mapped[str] = mapped_column(Key, primary_key=True)
    seen_at: Mapped[datetime]
