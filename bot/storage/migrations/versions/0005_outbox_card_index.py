"""The outbox: an index of each case card's renderings, for the delivery loop.

The delivery loop asks two things of a case card's other renderings on every pass: is one
leased to a worker right now (then the card waits), and was a newer one queued (then this
one is skipped). Without an index starting with the case, both walked the pending or sent
rows of the whole outbox, a cost that grew with every message ever sent.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_outbox_case_id_card_purpose_platform"


def upgrade() -> None:
    op.create_index(INDEX, "outbox", ["case_id", "card_purpose", "platform"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="outbox")
