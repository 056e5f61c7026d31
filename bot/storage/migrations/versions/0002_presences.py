"""The register of approved sites: one row per approved social media presence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "presences",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("name_or_url", sa.Text(), nullable=False),
        sa.Column("owner_key", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.JSON(), nullable=False),
        sa.Column("approved_by", sa.String(length=255), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_presences_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_presences"),
        sa.UniqueConstraint("case_id", name="uq_presences_case_id"),
    )
    op.create_index("ix_presences_review_at", "presences", ["review_at"])


def downgrade() -> None:
    op.drop_index("ix_presences_review_at", table_name="presences")
    op.drop_table("presences")
