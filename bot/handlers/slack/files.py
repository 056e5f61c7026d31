"""Downloading files people attached in a Slack modal's ``file_input``.

Slack serves ``url_private_download`` only to requests carrying the bot token. The token is
sent only to Slack's own file hosts, or to the host of ``SLACK_API_URL`` (a local fake in
tests), never to any other host a payload might name. Reading stops at the pack's size
limit, so an oversize file is refused without being held in memory.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from bot.evidence import FileTooLarge
from bot.model import FileUpload

SLACK_FILE_HOSTS = ("slack.com", "slack-files.com")
CHUNK = 64 * 1024


class SlackFileFetcher:
    """Fetches Slack files with the bot token, up to ``max_bytes`` each."""

    def __init__(self, *, token: str, api_url: str, max_bytes: int) -> None:
        self._token = token
        self._api_host = urlsplit(api_url).hostname or ""
        self._max = max_bytes

    def _trusted(self, url: str) -> bool:
        """Slack's own file hosts over https, or the configured API host (a fake in tests)."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host == self._api_host:
            return True
        return parts.scheme == "https" and any(
            host == allowed or host.endswith("." + allowed) for allowed in SLACK_FILE_HOSTS
        )

    async def __call__(self, upload: FileUpload) -> bytes:
        if not self._trusted(upload.download_url):
            raise PermissionError(f"not a Slack file URL: {upload.download_url[:80]}")
        headers = {"Authorization": f"Bearer {self._token}"}
        timeout = aiohttp.ClientTimeout(total=30)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(upload.download_url, headers=headers, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise ConnectionError(f"Slack file download answered {response.status}")
            # Without files:read Slack answers 200 with its login page: never keep that.
            if response.content_type == "text/html" and upload.mime_type != "text/html":
                raise ConnectionError("Slack answered with a web page, not the file")
            data = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK):
                data.extend(chunk)
                if len(data) > self._max:
                    raise FileTooLarge(upload.name)
            if upload.size is not None and len(data) != upload.size:
                raise ConnectionError("the file downloaded is not the size Slack gave")
            return bytes(data)
