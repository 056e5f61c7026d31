"""The Bot Framework connector's REST calls, made over one shared aiohttp session.

botframework-connector's ``ConnectorClient`` sends each call with ``requests`` in a worker
thread of the default pool and builds and reads every request and answer through msrest's
pipeline and models: about a third of the CPU of a Teams message that is answered with a
card, and the pool's few threads queued the replies under load. ``Connector`` posts the JSON
botbuilder's own models serialise to (``serialize.py``) to the same v3 REST paths
(``/v3/conversations``, ``/v3/conversations/{id}/activities[/{activityId}]``, path parts
quoted as msrest quotes them), with the headers that client sends, from one aiohttp session
on the event loop.

The bearer token comes from the botframework credentials the connector factory made for the
service URL (``AppCredentials.signed_session``, which msal backs): with no app id (local
mode) no token is sent, as the stock client sends none. msal's token call is synchronous and
may go to the network, so it runs in a worker thread, and its answer is reused for a minute
(msal hands out a token only while it has more than five minutes left).

Each call has a timeout and is made once: aiohttp's own repeat of an idempotent request
(a PUT, a card update) on a dropped connection is turned off, so whoever calls decides
about retrying (for the outbox, the delivery loop). No cookies are kept: what a connector
answers one tenant's call has nothing to say to the next. An answer other than 200, 201 or
202 raises :class:`ConnectorError` with its status and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

DEFAULT_TIMEOUT = 20.0  # seconds for the connector to answer one call
TOKEN_REUSE_SECONDS = 60.0
ACCEPTED = frozenset({200, 201, 202})
Json = dict[str, Any]  # an activity, or the connector's answer
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json; charset=utf-8"}


class ConnectorError(Exception):
    """The connector answered a call with an error status."""

    def __init__(self, status: int, retry_after: str | None = None) -> None:
        super().__init__(f"connector answered {status}")
        self.status = status
        self.retry_after = retry_after


class _SignedHeaders:
    """What ``AppCredentials.signed_session`` signs: it only sets or removes a header."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}


def conversations_url(service_url: str, *parts: str) -> URL:
    """``{service_url}/v3/conversations[/{part}...]``, each part quoted whole."""
    path = "".join(f"/{quote(part, safe='')}" for part in parts)
    return URL(f"{service_url.rstrip('/')}/v3/conversations{path}", encoded=True)


class Connector:
    """Sends activities to Bot Framework connectors, any service URL.

    Args:
        pooled: keep one session (and its connections) for every call, until ``close``;
            otherwise each call opens and closes its own (for a messenger made on its own,
            which no one closes).
    """

    def __init__(self, *, pooled: bool = True) -> None:
        self._pooled = pooled
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tokens: dict[int, tuple[float, str | None, Any]] = {}

    async def send_to_conversation(
        self, service_url: str, conversation_id: str, activity: dict[str, Any], **call: Any
    ) -> dict[str, Any]:
        """POST an activity to the end of a conversation; the connector's answer."""
        url = conversations_url(service_url, conversation_id, "activities")
        return await self.call("POST", url, activity, conversation_id=conversation_id, **call)

    async def reply_to_activity(
        self, service_url: str, conversation: str, reply_to: str, activity: Json, **call: Any
    ) -> Json:
        """POST an activity as a reply to another; the connector's answer."""
        return await self._on_activity("POST", service_url, conversation, reply_to, activity, call)

    async def update_activity(
        self, service_url: str, conversation: str, activity_id: str, activity: Json, **call: Any
    ) -> Json:
        """PUT an activity in place of one sent before; the connector's answer."""
        return await self._on_activity(
            "PUT", service_url, conversation, activity_id, activity, call
        )

    async def _on_activity(
        self,
        method: str,
        service_url: str,
        conversation_id: str,
        activity_id: str,
        activity: Json,
        call: dict[str, Any],
    ) -> Json:
        """``method`` on ``/v3/conversations/{conversation}/activities/{activity_id}``."""
        url = conversations_url(service_url, conversation_id, "activities", activity_id)
        return await self.call(method, url, activity, conversation_id=conversation_id, **call)

    async def create_conversation(
        self, service_url: str, parameters: dict[str, Any], **call: Any
    ) -> dict[str, Any]:
        """POST conversation parameters: the new conversation (``id``, ``activityId``)."""
        return await self.call("POST", conversations_url(service_url), parameters, **call)

    async def call(
        self,
        method: str,
        url: URL,
        body: dict[str, Any],
        *,
        credentials: Any,
        time_limit: float = DEFAULT_TIMEOUT,
        conversation_id: str = "",
    ) -> dict[str, Any]:
        """One call, made once; the answer's JSON object (``{}`` for an empty answer).

        Raises:
            ConnectorError: the connector answered with a status other than 200-202.
            aiohttp.ClientError, TimeoutError: the call failed or took over ``time_limit``.
        """
        headers = await self._headers(credentials, conversation_id)
        data = json.dumps(body, ensure_ascii=False).encode()
        limit = aiohttp.ClientTimeout(total=time_limit)
        if self._pooled:
            return await _send(self._current_session(), method, url, data, headers, limit)
        async with _new_session() as session:
            return await _send(session, method, url, data, headers, limit)

    async def _headers(self, credentials: Any, conversation_id: str) -> dict[str, str]:
        headers = dict(JSON_HEADERS)
        if conversation_id:
            headers["x-ms-conversation-id"] = conversation_id
        authorization = await self._authorization(credentials)
        if authorization:
            headers["Authorization"] = authorization
        return headers

    async def close(self) -> None:
        """Close the session (a later call opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _current_session(self) -> aiohttp.ClientSession:
        """The shared session, opened on first use in the running loop."""
        session, loop = self._session, asyncio.get_running_loop()
        if session is None or session.closed or self._loop is not loop:
            session = _new_session()
            self._session, self._loop = session, loop
        return session

    async def _authorization(self, credentials: Any) -> str | None:
        """The ``Authorization`` header botframework's credentials give, if any."""
        if credentials is None or not getattr(credentials, "microsoft_app_id", None):
            return None  # local mode: the stock client sends no token either
        now = time.monotonic()
        cached = self._tokens.get(id(credentials))
        if cached is not None and cached[0] > now and cached[2] is credentials:
            return cached[1]
        signed = _SignedHeaders()
        await asyncio.to_thread(credentials.signed_session, signed)
        header = signed.headers.get("Authorization")
        self._tokens[id(credentials)] = (now + TOKEN_REUSE_SECONDS, header, credentials)
        return header


def _new_session() -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    # Not even aiohttp repeats a call on its own (see the module docstring).
    session._retry_connection = False
    return session


async def _send(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    data: bytes,
    headers: dict[str, str],
    limit: aiohttp.ClientTimeout,
) -> dict[str, Any]:
    async with session.request(method, url, data=data, headers=headers, timeout=limit) as answer:
        body = await answer.read()
        if answer.status not in ACCEPTED:
            raise ConnectorError(answer.status, answer.headers.get("Retry-After"))
    return _json_object(body)


def _json_object(answer: bytes) -> dict[str, Any]:
    """The answer as a JSON object; an empty answer is ``{}``.

    Raises:
        ValueError: the answer is not a JSON object.
    """
    if not answer.strip():
        return {}
    value = json.loads(answer)
    if not isinstance(value, dict):
        raise ValueError("the connector's answer is not a JSON object")
    return value
