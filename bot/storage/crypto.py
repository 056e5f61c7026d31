"""Encryption at rest: sealing personal free text and evidence with keys from ``BOT_DATA_KEY``.

The recipe is ``cryptography``'s Fernet (AES-128-CBC with an HMAC-SHA256 over the whole
token, a random IV per value): authenticated encryption from a vetted library, so a changed
byte is refused, never decrypted into something else. ``BOT_DATA_KEY`` holds one or more
Fernet keys separated by commas, newest first (``python -m bot keys generate`` prints one).
New values are sealed with the first key; any listed key opens what it sealed.

A sealed value says which key sealed it: ``sealed:v1:<key id>:<Fernet token>``, where the key
id is the first 8 hex digits of the key's SHA-256 (it identifies a key without revealing it).
So a value sealed with a key that is no longer listed fails with that key id named, and
rotation (:mod:`bot.keys`) can tell what is already under the newest key. Anything without
the ``sealed:`` prefix was written before encryption was turned on and reads as it is.

``sealed:`` is reserved, so that nobody can plant a value that looks sealed: without a key,
a string (or file) someone sent that starts with it is stored as ``sealed:plain:`` followed
by the original, and read back as the original.

Strings inside JSON are sealed one by one (:func:`seal_tree`), keeping keys, numbers and
booleans as they are, so SQL can still pick an answer out of a case's JSON and the register
opens just that answer. Evidence files are sealed whole (:meth:`DataCipher.seal_bytes`).

The engine carries its cipher (:func:`install`): the column types in
:mod:`bot.storage.types` find it from the dialect they are handed, so there is no module
global and two apps in one process can use different keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

RESERVED = "sealed:"
RESERVED_BYTES = RESERVED.encode("ascii")
PREFIX = "sealed:v1:"
PREFIX_BYTES = PREFIX.encode("ascii")
ESCAPE = "sealed:plain:"
ESCAPE_BYTES = ESCAPE.encode("ascii")
_SEALED = re.compile(r"sealed:v1:([0-9a-f]{8}):([A-Za-z0-9_\-]+=*)")
_KEY_ID = re.compile(r"sealed:v1:([0-9a-f]{8}):")
_DIALECT_ATTRIBUTE = "staff_safety_data_cipher"


class DataKeyError(RuntimeError):
    """A sealed value cannot be opened: no key set, its key is not listed, or it was altered."""


class BadDataKey(ValueError):
    """``BOT_DATA_KEY`` holds something that is not a key (the key itself is never shown)."""


def key_id(key: str | bytes) -> str:
    """The 8-hex-digit id of a Fernet key: the start of the SHA-256 of its 32 raw bytes."""
    raw = base64.urlsafe_b64decode(key.encode("ascii") if isinstance(key, str) else key)
    return hashlib.sha256(raw).hexdigest()[:8]


def generate_key() -> str:
    """A new random key for ``BOT_DATA_KEY`` (44 characters of url-safe base64)."""
    return Fernet.generate_key().decode("ascii")


def is_sealed(value: str | bytes) -> bool:
    """True for a value written sealed (it starts with ``sealed:v1:``)."""
    if isinstance(value, bytes):
        return value.startswith(PREFIX_BYTES)
    return value.startswith(PREFIX)


@dataclass(frozen=True)
class DataCipher:
    """The keys from ``BOT_DATA_KEY``, newest first, each with its id."""

    keys: tuple[tuple[str, Fernet], ...]

    @classmethod
    def from_text(cls, text: str) -> DataCipher:
        """Parse ``BOT_DATA_KEY``: keys separated by commas (or spaces), newest first.

        Raises:
            BadDataKey: when it holds no key or something that is not a Fernet key.
        """
        parts = [part for part in re.split(r"[,\s]+", text.strip()) if part]
        if not parts:
            raise BadDataKey("BOT_DATA_KEY is set but holds no key")
        keys: dict[str, Fernet] = {}
        for number, part in enumerate(parts, start=1):
            try:
                fernet = Fernet(part)
                ident = key_id(part)
            except (ValueError, binascii.Error):
                raise BadDataKey(
                    f"BOT_DATA_KEY: key {number} of {len(parts)} is not a key (expected 44 "
                    "characters of url-safe base64, as `python -m bot keys generate` prints)"
                ) from None
            keys.setdefault(ident, fernet)
        return cls(tuple(keys.items()))

    @property
    def primary_id(self) -> str:
        """The id of the key new values are sealed with (the first listed)."""
        return self.keys[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every listed key's id, newest first."""
        return tuple(ident for ident, _ in self.keys)

    def seal(self, text: str) -> str:
        """Seal a string with the newest key."""
        ident, fernet = self.keys[0]
        token = fernet.encrypt(text.encode("utf-8")).decode("ascii")
        return f"{PREFIX}{ident}:{token}"

    def open(self, sealed: str) -> str:
        """Open a sealed string.

        Raises:
            DataKeyError: its key is not listed, or the value was altered.
        """
        return self._open(sealed).decode("utf-8")

    def seal_bytes(self, data: bytes) -> bytes:
        """Seal a file's bytes with the newest key."""
        ident, fernet = self.keys[0]
        return PREFIX_BYTES + ident.encode("ascii") + b":" + fernet.encrypt(data)

    def open_bytes(self, sealed: bytes) -> bytes:
        """Open sealed file bytes (see :meth:`open` for the errors)."""
        try:
            text = sealed.decode("ascii")
        except UnicodeDecodeError:
            raise DataKeyError("a sealed file is damaged or was altered") from None
        return self._open(text)

    def _open(self, sealed: str) -> bytes:
        ident, token = _parse(sealed)
        fernet = dict(self.keys).get(ident)
        if fernet is None:
            raise DataKeyError(
                f"a value is sealed with key {ident}, which BOT_DATA_KEY does not list "
                f"(it lists {', '.join(self.key_ids)}): add that key back"
            )
        try:
            return fernet.decrypt(token.encode("ascii"))
        except InvalidToken:
            raise DataKeyError(
                f"a value sealed with key {ident} failed its integrity check: it was altered"
            ) from None


def sealed_with(sealed: str | bytes) -> str:
    """The id of the key a sealed value names (it may not be listed).

    Raises:
        DataKeyError: the value is not in the sealed format.
    """
    head = sealed[: len(PREFIX) + 9]
    text = head.decode("ascii", "replace") if isinstance(head, bytes) else head
    match = _KEY_ID.fullmatch(text)
    if match is None:
        raise DataKeyError("a sealed value is damaged or was altered (not in the sealed format)")
    return match.group(1)


def _parse(sealed: str) -> tuple[str, str]:
    match = _SEALED.fullmatch(sealed)
    if match is None:
        raise DataKeyError("a sealed value is damaged or was altered (not in the sealed format)")
    return match.group(1), match.group(2)


def parse_key(secret: str | None) -> DataCipher | None:
    """The cipher for a ``BOT_DATA_KEY`` value; ``None`` when unset or empty (no encryption)."""
    if secret is None or not secret.strip():
        return None
    return DataCipher.from_text(secret)


def seal_text(value: str, cipher: DataCipher | None) -> str:
    """Seal ``value`` when there is a key; otherwise store it as it is (escaped if it starts
    with the reserved ``sealed:``)."""
    if cipher is not None:
        return cipher.seal(value)
    return ESCAPE + value if value.startswith(RESERVED) else value


def seal_bytes(data: bytes, cipher: DataCipher | None) -> bytes:
    """A file's bytes as they are to be stored (see :func:`seal_text`)."""
    if cipher is not None:
        return cipher.seal_bytes(data)
    return ESCAPE_BYTES + data if data.startswith(RESERVED_BYTES) else data


def open_text(value: str, cipher: DataCipher | None) -> str:
    """Open ``value`` if it is sealed; a value from before encryption reads as it is.

    Raises:
        DataKeyError: it is sealed and there is no key (or not its key), or it was altered.
    """
    if value.startswith(ESCAPE):
        return value[len(ESCAPE) :]
    if not is_sealed(value):
        return value
    if cipher is None:
        raise DataKeyError(_no_key_message(value))
    return cipher.open(value)


def open_bytes(data: bytes, cipher: DataCipher | None) -> bytes:
    """Open a file's bytes if they are sealed (see :func:`open_text`)."""
    if data.startswith(ESCAPE_BYTES):
        return data[len(ESCAPE_BYTES) :]
    if not is_sealed(data):
        return data
    if cipher is None:
        raise DataKeyError(_no_key_message(data))
    return cipher.open_bytes(data)


def _no_key_message(sealed: str | bytes) -> str:
    try:
        which = f"key {sealed_with(sealed)}"
    except DataKeyError:
        which = "a key"
    return f"stored data is sealed with {which} but BOT_DATA_KEY is not set"


def seal_tree(value: Any, cipher: DataCipher | None) -> Any:
    """Seal every string in a JSON value (dict keys, numbers, booleans and nulls stay)."""
    return _map_strings(value, lambda text: seal_text(text, cipher))


def open_tree(value: Any, cipher: DataCipher | None) -> Any:
    """Open every sealed string in a JSON value (see :func:`open_text`)."""
    return _map_strings(value, lambda text: open_text(text, cipher))


def reseal_tree(value: Any, cipher: DataCipher) -> tuple[Any, int]:
    """Bring every string of a JSON value under the newest key.

    Returns:
        The new value and how many strings changed (plain ones sealed, older keys' resealed).
        Strings already under the newest key are kept byte for byte.
    """
    changed = 0

    def reseal(text: str) -> str:
        nonlocal changed
        if is_sealed(text) and sealed_with(text) == cipher.primary_id:
            cipher.open(text)  # still prove it opens, so rotation also checks integrity
            return text
        changed += 1
        return cipher.seal(open_text(text, cipher))

    return _map_strings(value, reseal), changed


def _map_strings(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: _map_strings(item, change) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_map_strings(item, change) for item in value]
    return value


def install(engine: Any, cipher: DataCipher | None) -> None:
    """Give an engine (sync or async) its cipher; the sealed column types find it there."""
    dialect = engine.dialect
    setattr(dialect, _DIALECT_ATTRIBUTE, cipher)


def cipher_of(dialect: Any) -> DataCipher | None:
    """The cipher installed on the engine this dialect belongs to (``None``: no encryption)."""
    cipher: DataCipher | None = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    return cipher
