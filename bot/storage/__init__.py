"""Storage: the engine, the tables, the repositories, the migrations and the file store.

Everything the bot must not lose lives here: cases and their append-only timelines, drafts
of flows, the outbox of messages still to send, reminders and evidence files. SQLite is the
default so a small organisation can run one process with no database server; PostgreSQL is
the same schema for several replicas. Nothing in this package imports a platform SDK.
"""
