"""Repositories: the only code that reads and writes the tables.

Each module covers one group of tables with async functions taking keyword-only arguments
and an ``AsyncSession`` (``await cases.get(session=s, case_id=...)``), in the style of
Dispatch. They return frozen dataclasses (``CaseRow``, ``OutboxRow``, …): plain values that
are safe to keep after the session closes and cannot trigger lazy loads. They never commit:
the caller owns the transaction, so a state change and the messages it causes commit
together. The same contract tests run them on SQLite and on PostgreSQL.
"""
