"""A local fake of the Bot Framework connector service (the Teams side of the wire).

The bot sends replies, proactive messages and card updates to the ``serviceUrl`` of an
activity; in tests that URL points here. It implements the v3 REST routes the bot uses,
records every activity sent or updated, serves attachment downloads, and can be told to
fail the next calls with a 500 or a 429 with ``Retry-After``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Sent:
    """One activity the bot sent (``operation`` is send, reply, update or create)."""

    operation: str
    conversation_id: str
    activity_id: str
    activity: dict[str, Any]
    headers: dict[str, str]

    @property
    def card(self) -> dict[str, Any] | None:
        """The first Adaptive Card attached, if any."""
        for attachment in self.activity.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content = attachment.get("content")
                return content if isinstance(content, dict) else None
        return None


@dataclass
class FakeConnector:
    """The fake's state."""

    sent: list[Sent] = field(default_factory=list)
    failures: list[tuple[int, int | None]] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    server: TestServer | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def service_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/"))

    def fail_next(
        self, status: int = 500, *, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Make the next ``times`` calls fail with ``status``."""
        self.failures.extend([(status, retry_after)] * times)

    def add_file(self, file_id: str, data: bytes, mime: str) -> str:
        """Serve a file as a chat attachment would be, and return its download URL."""
        self.files[file_id] = (data, mime)
        assert self.server is not None
        return str(self.server.make_url(f"/attachments/{file_id}"))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{cid}/activities", self._send)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._reply)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._update)
        app.router.add_get("/attachments/{file_id}", self._file)
        return app

    def _failure(self) -> web.Response | None:
        if not self.failures:
            return None
        status, retry_after = self.failures.pop(0)
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        return web.json_response(
            {"error": {"code": "ServiceError", "message": "injected"}},
            status=status,
            headers=headers,
        )

    async def _record(
        self, request: web.Request, operation: str, cid: str, aid: str | None = None
    ) -> web.Response:
        failed = self._failure()
        if failed is not None:
            return failed
        activity = await request.json()
        activity_id = aid or f"activity-{next(self._ids)}"
        self.sent.append(Sent(operation, cid, activity_id, activity, dict(request.headers)))
        return web.json_response({"id": activity_id})

    async def _send(self, request: web.Request) -> web.Response:
        return await self._record(request, "send", request.match_info["cid"])

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._record(request, "reply", request.match_info["cid"])

    async def _update(self, request: web.Request) -> web.Response:
        return await self._record(
            request, "update", request.match_info["cid"], request.match_info["aid"]
        )

    async def _create(self, request: web.Request) -> web.Response:
        failed = self._failure()
        if failed is not None:
            return failed
        params = await request.json()
        members = params.get("members") or [{}]
        cid = f"a:dm-{members[0].get('id', 'unknown')}"
        activity = params.get("activity") or {}
        activity_id = f"activity-{next(self._ids)}"
        self.sent.append(Sent("create", cid, activity_id, activity, dict(request.headers)))
        return web.json_response({"id": cid, "activityId": activity_id})

    async def _file(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["file_id"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

    def to_conversation(self, cid: str) -> list[Sent]:
        """Activities sent or updated in one conversation, in order."""
        return [s for s in self.sent if s.conversation_id == cid]


async def start_fake_connector() -> FakeConnector:
    """Start a fake on a free loopback port."""
    fake = FakeConnector()
    fake.server = TestServer(fake.app(), host="127.0.0.1")
    await fake.server.start_server()
    return fake


def message_activity(
    text: str,
    *,
    service_url: str,
    user_id: str = "29:reporter",
    conversation_id: str = "a:personal-chat",
    aad_object_id: str = "aad-1",
    conversation_type: str = "personal",
    **extra: Any,
) -> dict[str, Any]:
    """A Teams message activity as the Bot Framework delivers it to ``/api/messages``."""
    return {
        "type": "message",
        "id": "incoming-1",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "timestamp": "2026-11-21T10:00:00.000Z",
        "text": text,
        "from": {"id": user_id, "name": "Rita Reporter", "aadObjectId": aad_object_id},
        "conversation": {
            "id": conversation_id,
            "conversationType": conversation_type,
            "tenantId": "tenant-1",
        },
        "recipient": {"id": "28:bot", "name": "Staff Safety"},
        "channelData": {"tenant": {"id": "tenant-1"}},
        **extra,
    }


def card_action_activity(
    data: dict[str, Any], *, service_url: str, verb: str = "action", **kwargs: Any
) -> dict[str, Any]:
    """A Teams ``adaptiveCard/action`` invoke (an ``Action.Execute`` press)."""
    activity = message_activity("", service_url=service_url, **kwargs)
    activity.update(
        {
            "type": "invoke",
            "name": "adaptiveCard/action",
            "text": None,
            "value": {
                "action": {"type": "Action.Execute", "verb": verb, "data": data},
                "trigger": "manual",
            },
        }
    )
    return activity
