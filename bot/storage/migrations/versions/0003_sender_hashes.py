"""Recurring senders: keyed hashes of the senders each report names, and the key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "register_keys",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_register_keys"),
    )
    op.create_table(
        "sender_hashes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_sender_hashes_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_sender_hashes"),
        sa.UniqueConstraint("case_id", "digest", name="uq_sender_hashes_case_id_digest"),
    )
    op.create_index("ix_sender_hashes_digest", "sender_hashes", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_sender_hashes_digest", table_name="sender_hashes")
    op.drop_table("sender_hashes")
    op.drop_table("register_keys")
