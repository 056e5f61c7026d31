"""Contract tests for bot.storage, run on SQLite and on PostgreSQL."""
