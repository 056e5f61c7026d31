"""Recurring senders: who is named in more than one report, without a plain list of them.

The reporter names senders one per line (handles, profile links, e-mail addresses, phone
numbers). Each is normalised so the same sender written differently matches: case folded,
a leading @ dropped, a profile link reduced to its handle, an e-mail address to its
canonical form (no +tag; Gmail's dots ignored), a phone number to E.164 (with the
``phonenumbers`` library, UK numbers by default). Then each is stored only as a keyed hash
(HMAC-SHA256 with a random key kept in the database), so the register can say "this sender
is named in 3 earlier reports" while nobody can read a list of handles out of it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import urlsplit

import phonenumbers

DEFAULT_REGION = "GB"
PROFILE_HOSTS = {
    "twitter.com",
    "x.com",
    "instagram.com",
    "facebook.com",
    "tiktok.com",
    "threads.net",
    "linkedin.com",
    "youtube.com",
    "bsky.app",
    "reddit.com",
    "mastodon.social",
}
GMAIL = {"gmail.com", "googlemail.com"}
_PHONE = re.compile(r"^[+(]?[\d][\d\s().-]{6,}$")


def normalise(sender: str, region: str = DEFAULT_REGION) -> str:
    """One canonical spelling of a sender, or "" when nothing is left to match on.

    Each pass can uncover something the last one stripped around (``/<?`` loses its query,
    then its bracket), so passes repeat until the spelling stops changing.
    """
    text = _normalise_once(sender, region)
    for _ in range(8):
        again = _normalise_once(text, region)
        if again == text:
            break
        text = again
    return text


def _normalise_once(sender: str, region: str) -> str:
    text = sender.strip().strip("<>\"'").strip()
    if not text:
        return ""
    if "@" in text[1:] and " " not in text and "/" not in text:
        return _email(text)
    if _PHONE.match(text):
        phone = _phone(text, region)
        if phone:
            return phone
    if "/" in text or text.lower().startswith(("http:", "https:", "www.")):
        handle = _handle_from_url(text)
        if handle:
            return handle
    return text.lower().lstrip("@").strip()


def _email(text: str) -> str:
    local, _, domain = text.lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def _phone(text: str, region: str) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _handle_from_url(text: str) -> str:
    url = text if "://" in text else f"https://{text}"
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed "[" reads as a broken IPv6 address
        return ""
    host = (hostname or "").lower().removeprefix("www.").removeprefix("m.")
    segments = [s for s in parts.path.split("/") if s]
    if host not in PROFILE_HOSTS or not segments:
        return f"{host}{parts.path.rstrip('/')}".lower()
    first = segments[0]
    if first.lower() in ("in", "user", "u", "c", "channel") and len(segments) > 1:
        first = segments[1]
    return first.lower().lstrip("@")


def senders_in(text: str, region: str = DEFAULT_REGION) -> list[str]:
    """The distinct normalised senders of a free-text answer, one per line (or comma)."""
    found: list[str] = []
    for line in re.split(r"[\n,;]+", text or ""):
        value = normalise(line, region)
        if value and value not in found:
            found.append(value)
    return found


def digest(key: bytes, sender: str) -> str:
    """The keyed hash stored for a normalised sender."""
    return hmac.new(key, sender.encode("utf-8"), hashlib.sha256).hexdigest()
