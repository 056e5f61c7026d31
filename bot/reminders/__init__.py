"""Reminders: rows with a due time, claimed like outbox rows, each firing once."""
