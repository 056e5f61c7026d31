"""Evidence sent as Teams chat attachments: which attachments are files, and fetching them.

Teams delivers a file a person attaches in the personal chat as an attachment of type
``application/vnd.microsoft.teams.file.download.info`` whose ``content.downloadUrl`` is a
short-lived, pre-authenticated link (no token may be sent with it), and an image pasted into
the message as an ``image/*`` attachment whose ``contentUrl`` needs the bot's own token.
Messages also carry a ``text/html`` copy of themselves and, from some clients, card
attachments: those are not files and are skipped.

``TeamsFileFetcher`` reads at most the pack's size limit, refuses plain-HTTP links (except to
this machine, for tests), sends the token only for inline images on Microsoft's hosts, and
refuses an HTML page offered in place of a file (an expired link answers with a login page).
"""

from __future__ import annotations

import asyncio
import ipaddress
import mimetypes
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.evidence import FileTooLarge
from bot.model import FileUpload

FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
OCTET_STREAM = "application/octet-stream"
# Not files: the HTML copy of the message and the cards Teams or the bot put on it.
NOT_FILES = (
    "text/html",
    "application/vnd.microsoft.card.",
    "application/vnd.microsoft.teams.card.",
)
# Hosts that serve inline images and may see the bot's token (besides the activity's own
# service URL): the Bot Framework connector and the Teams media service.
TOKEN_HOSTS = ("smba.trafficmanager.net",)
TOKEN_DOMAINS = (".botframework.com", ".asm.skype.com")
# ``mimetypes`` reads /etc/mime.types where there is one; slim images lack it, and the
# built-in table misses these evidence types.
FILE_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "eml": "message/rfc822",
    "heic": "image/heic",
    "webp": "image/webp",
}
# Teams sends a pasted image as "image/*"; its clients paste screenshots as PNG.
PASTED_IMAGE = "image/png"
CHUNK = 64 * 1024
MAX_REDIRECTS = 3
REDIRECTS = (301, 302, 303, 307, 308)

Token = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True)
class ChatFiles:
    """The files on one message, and which of them are inline images needing the token."""

    uploads: tuple[FileUpload, ...]
    inline_urls: frozenset[str] = frozenset()


def _get(item: Any, name: str, key: str) -> Any:
    """A field of an attachment, whether botbuilder deserialised it or it is a plain dict."""
    return item.get(key) if isinstance(item, dict) else getattr(item, name, None)


def mime_type(name: str, file_type: str = "", declared: str = "") -> str:
    """The file's type: from its name, else its Teams ``fileType``, else what was declared."""
    for candidate in (name, f"file.{file_type}" if file_type else ""):
        guessed = mimetypes.guess_type(candidate)[0] if "." in candidate else None
        extension = candidate.rpartition(".")[2].lower()
        if guessed or extension in FILE_TYPES:
            return guessed or FILE_TYPES[extension]
    return declared or OCTET_STREAM


def chat_files(attachments: Iterable[Any] | None) -> ChatFiles:
    """The evidence files on a message's ``attachments``, in the order they were sent."""
    uploads: list[FileUpload] = []
    inline: set[str] = set()
    for attachment in attachments or ():
        kind = str(_get(attachment, "content_type", "contentType") or "").lower()
        name = str(_get(attachment, "name", "name") or "")
        content = _get(attachment, "content", "content")
        if kind == FILE_DOWNLOAD_INFO and isinstance(content, dict):
            url = str(content.get("downloadUrl") or "")
            file_type = str(content.get("fileType") or "")
            if url:
                uploads.append(
                    FileUpload(name or f"file.{file_type}", url, mime_type(name, file_type))
                )
            continue
        url = str(_get(attachment, "content_url", "contentUrl") or "")
        if not url or not kind or kind.startswith(NOT_FILES):
            continue
        # An image pasted into the message (or a file from another Bot Framework channel).
        if kind == "image/*":
            kind = PASTED_IMAGE  # Teams does not say which image type it is
        if not name:
            name = f"image-{len(uploads) + 1}{mimetypes.guess_extension(kind) or ''}"
        uploads.append(FileUpload(name, url, mime_type(name, declared=kind)))
        inline.add(url)
    return ChatFiles(tuple(uploads), frozenset(inline))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _allowed(url: str) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return True
    return parts.scheme == "http" and _is_loopback(host)


class TeamsFileFetcher:
    """Fetches chat attachments for ``bot.evidence.take_in``, up to ``max_bytes`` each.

    Args:
        max_bytes: the pack's ``evidence_limits.max_file_bytes``.
        inline_urls: the URLs of inline images, fetched with the bot's token.
        token: returns the bot's connector token, or None in local mode.
        service_url: the activity's service URL: its host may see the token too.
        timeout: seconds for one whole download.
    """

    def __init__(
        self,
        *,
        max_bytes: int,
        inline_urls: frozenset[str] = frozenset(),
        token: Token | None = None,
        service_url: str = "",
        timeout: float = 30.0,
    ) -> None:
        self._max = max_bytes
        self._inline = inline_urls
        self._token = token
        self._service_host = urlsplit(service_url).hostname or ""
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def _may_see_token(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        return (
            (bool(host) and host == self._service_host)
            or host in TOKEN_HOSTS
            or any(host.endswith(domain) for domain in TOKEN_DOMAINS)
        )

    async def _headers(self, url: str) -> dict[str, str]:
        if url not in self._inline or self._token is None or not self._may_see_token(url):
            return {}  # a download link is pre-authenticated: it never gets the token
        token = await self._token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def __call__(self, upload: FileUpload) -> bytes:
        url = upload.download_url
        headers = await self._headers(url) if _allowed(url) else {}
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            for _ in range(MAX_REDIRECTS + 1):
                if not _allowed(url):
                    raise PermissionError(f"not an https file link: {url[:80]}")
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    if response.status in REDIRECTS and "Location" in response.headers:
                        url, headers = urljoin(url, response.headers["Location"]), {}
                        continue
                    return await self._body(upload, response)
        raise ConnectionError("too many redirects fetching a Teams file")

    async def _body(self, upload: FileUpload, response: aiohttp.ClientResponse) -> bytes:
        if response.status != 200:
            raise ConnectionError(f"Teams file download answered {response.status}")
        if response.content_type == "text/html" and upload.mime_type != "text/html":
            raise ConnectionError("Teams answered with a web page, not the file")
        if (response.content_length or 0) > self._max:
            raise FileTooLarge(upload.name)
        data = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            data.extend(chunk)
            if len(data) > self._max:
                raise FileTooLarge(upload.name)
        return bytes(data)


def connector_token(turn_state: dict[Any, Any], key: str) -> Token:
    """The bot's connector token for this turn (None in local mode, where there is none).

    Args:
        turn_state: the turn's state, which holds the connector client botbuilder made.
        key: botbuilder's key for that client (``BotAdapter.BOT_CONNECTOR_CLIENT_KEY``).
    """

    async def token() -> str | None:
        client = turn_state.get(key)
        credentials = getattr(getattr(client, "config", None), "credentials", None)
        if credentials is None or not getattr(credentials, "microsoft_app_id", None):
            return None
        # msal's token call is synchronous (and may go to the network): keep it off the loop.
        return str(await asyncio.to_thread(credentials.get_access_token))

    return token
