"""The outbox: an index of each case card's renderings, for the delivery loop.

The delivery loop asks two things of a case card's other renderings on every pass: is one
leased to a worker right now (then the card waits), and was a newer one queued (then this
one is skipped). Without an index starting with the case, both walked the pending or sent
rows of the whole outbox, a cost that grew with every message ever sent.

On PostgreSQL the index is built with ``CREATE INDEX CONCURRENTLY``. A plain ``CREATE
INDEX`` holds a SHARE lock on ``outbox`` for the whole build, so every message queued
meanwhile (by the replicas still serving during a rolling deploy) would wait for it; a
concurrent build takes longer and first waits for transactions already writing to the
outbox to end, but blocks no insert. It cannot run inside a transaction, hence the
autocommit block, and ``transaction_per_migration`` in ``env.py``. SQLite builds the index
as before, inside the one transaction of the whole upgrade.

A concurrent build that fails half-way (cancelled, a deadlock, the connection lost) is not
rolled back: it leaves the index behind marked INVALID (``pg_index.indisvalid`` false),
kept up to date on every write yet never used, with the revision still at 0004. So the
upgrade looks first. An invalid leftover is dropped (``DROP INDEX CONCURRENTLY``, which
blocks nobody either) and built again; a valid index is kept (``IF NOT EXISTS``): the
build finished but the version stamp after it was never committed. ``IF NOT EXISTS``
looks at the name alone, so a valid index of that name is kept only if the catalog shows
it is this one: a plain btree on ``outbox`` over (case_id, card_purpose, platform) in that
order, not unique, not partial, nothing included. Any other valid index of that name
(made by hand, say) is dropped concurrently and built again, as an invalid one is. Running
the upgrade again is therefore the whole recovery, and nothing else can be building the
index at the time, as upgrades take turns under an advisory lock (``bot.storage.migrate``).
The downgrade drops the index concurrently too, ``IF EXISTS`` so that it can be re-run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_outbox_case_id_card_purpose_platform"
COLUMNS = ["case_id", "card_purpose", "platform"]

# NULL when there is no index of that name; otherwise whether it is valid and exactly this
# one. Its key columns by name, in order: an expression's position (attnum 0) finds no
# column and an INCLUDE column is in ``indkey`` too, so either makes the lists differ.
_IS_THE_VALID_INDEX = text(
    """
    SELECT i.indisvalid
       AND i.indrelid = 'outbox'::regclass
       AND NOT i.indisunique
       AND i.indpred IS NULL
       AND am.amname = 'btree'
       AND ARRAY(
             SELECT a.attname::text
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
             LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             ORDER BY k.n
           ) = CAST(:columns AS text[])
    FROM pg_index AS i
    JOIN pg_class AS c ON c.oid = i.indexrelid
    JOIN pg_am AS am ON am.oid = c.relam
    WHERE i.indexrelid = to_regclass(:name)
    """
)


def upgrade() -> None:
    context = op.get_context()
    if context.dialect.name != "postgresql":
        op.create_index(INDEX, "outbox", COLUMNS)
        return
    with context.autocommit_block():
        if not context.as_sql and _left_unusable():
            op.drop_index(INDEX, table_name="outbox", postgresql_concurrently=True, if_exists=True)
        op.create_index(INDEX, "outbox", COLUMNS, postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    context = op.get_context()
    if context.dialect.name != "postgresql":
        op.drop_index(INDEX, table_name="outbox")
        return
    with context.autocommit_block():
        op.drop_index(INDEX, table_name="outbox", postgresql_concurrently=True, if_exists=True)


def _left_unusable() -> bool:
    """True when there is an index of that name that is INVALID or is not this one.

    A failed concurrent build leaves it INVALID; an index made some other way may be valid
    yet on another table or other columns. Either way ``IF NOT EXISTS`` would keep it.
    """
    usable = op.get_bind().scalar(_IS_THE_VALID_INDEX, {"name": INDEX, "columns": COLUMNS})
    return usable is False
