"""Records: each case's chain head and legal hold, and the purge log.

``cases.chain_seq`` / ``cases.chain_hash`` hold the number and hash of the case's last
timeline event, moved on by every append, so ``audit verify`` can tell that an event was
cut off the end of a chain. Existing cases take their head from the events they have now
(whatever is there when this runs is trusted). ``cases.legal_hold`` keeps one case from
being purged; ``purge_log`` records every purge and outlives the rows it deleted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64

# Plain SQL that both SQLite and PostgreSQL run: each case's head from its newest event.
BACKFILL_HEADS = f"""
UPDATE cases SET
    chain_seq = COALESCE(
        (SELECT MAX(e.seq) FROM case_events e WHERE e.case_id = cases.id), 0),
    chain_hash = COALESCE(
        (SELECT e.hash FROM case_events e WHERE e.case_id = cases.id
         ORDER BY e.seq DESC LIMIT 1), '{GENESIS_HASH}')
"""


def upgrade() -> None:
    op.add_column(
        "cases", sa.Column("chain_seq", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "cases",
        sa.Column("chain_hash", sa.String(length=64), server_default=GENESIS_HASH, nullable=False),
    )
    op.add_column(
        "cases", sa.Column("legal_hold", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.execute(BACKFILL_HEADS)
    op.create_table(
        "purge_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("purged_by", sa.String(length=255), nullable=False),
        sa.Column("pending_files", sa.JSON(), nullable=False),
        sa.Column("files_removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_purge_log"),
    )
    op.create_index("ix_purge_log_reference", "purge_log", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_purge_log_reference", table_name="purge_log")
    op.drop_table("purge_log")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("legal_hold")
        batch.drop_column("chain_hash")
        batch.drop_column("chain_seq")
