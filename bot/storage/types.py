"""Column types shared by the tables: timezone-aware UTC datetimes on every backend.

PostgreSQL's ``timestamptz`` keeps the instant, but SQLite stores a datetime as text and
drops the offset, so a naive value would come back and compare wrongly with aware ones.
:class:`UTCDateTime` stores UTC on both and always hands back an aware UTC datetime. It
refuses naive datetimes on the way in: a naive time is a bug (which zone was it?).

:class:`SealedJSON` and :class:`SealedText` hold personal free text: with ``BOT_DATA_KEY``
set they seal it on the way in and open it on the way out (see :mod:`bot.storage.crypto`);
without it they store what they are given, exactly like ``JSON`` and ``Text``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bot.storage.crypto import cipher_of, open_text, open_tree, seal_text, seal_tree


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that reads and writes aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; on SQLite drop the (now redundant) offset, as it cannot store it."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the driver gave back."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class SealedJSON(TypeDecorator[Any]):
    """``JSON`` whose strings are sealed one by one when the engine has a data key.

    Keys and structure stay readable, so ``column["answer"]`` still works in SQL; wrap such
    an expression in ``type_coerce(..., SealedText())`` to have the answer opened.
    """

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Seal every string of the value with the newest key (if a key is set)."""
        return seal_tree(value, cipher_of(dialect))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """Open every sealed string; values from before encryption read as they are."""
        return open_tree(value, cipher_of(dialect))


class SealedText(TypeDecorator[str]):
    """``Text`` sealed whole when the engine has a data key."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Seal the text with the newest key (if a key is set)."""
        return None if value is None else seal_text(value, cipher_of(dialect))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Open the text if it is sealed."""
        return None if value is None else open_text(str(value), cipher_of(dialect))
