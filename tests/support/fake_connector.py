"""A local fake of the Bot Framework connector service (the Teams side of the wire).

The bot sends replies, proactive messages and card updates to the ``serviceUrl`` of an
activity; in tests that URL points here. It implements the v3 REST routes the bot uses,
records every activity sent or updated, serves attachment downloads, and can be told to
fail the next calls with a 500 or a 429 with ``Retry-After``.

For the reliability tests it can turn hostile (``chaos``: seeded random faults on the calls
that deliver messages, always before an activity is accepted; replies within a turn are
left alone) and can ``hold`` an operation forever, before or after accepting it, while a test
kills the bot. Deliveries are told apart by the outbox id the bot puts in the activity's
``channelData``; ``log`` keeps their attempts, acceptances and each 429's ``Retry-After``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.chaos import Chaos, DeliveryLog, Fault, Hold, injected_response

# What the delivery loop does (a "reply" answers a person within a turn).
DELIVERY_OPERATIONS = frozenset({"send", "update", "create"})


def delivery_of(activity: dict[str, Any]) -> str | None:
    """The outbox delivery an activity carries in its ``channelData``, if any."""
    data = activity.get("channelData")
    marker = data.get("staffSafety") if isinstance(data, dict) else None
    value = marker.get("delivery") if isinstance(marker, dict) else None
    return str(value) if value else None


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

    @property
    def delivery(self) -> str | None:
        """The outbox delivery this activity carries, if any."""
        return delivery_of(self.activity)


@dataclass
class FakeConnector:
    """The fake's state."""

    sent: list[Sent] = field(default_factory=list)
    failures: list[tuple[int, int | None]] = field(default_factory=list)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    chaos: Chaos | None = None
    log: DeliveryLog = field(default_factory=DeliveryLog)
    holds: dict[str, Hold] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)  # calls received, by operation
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

    def hold(self, operation: str, *, after_accept: bool) -> Hold:
        """Hold the next ``operation`` (send, update, create, reply) until released: before
        accepting it (then it is refused), or after (the activity is kept, never answered)."""
        self.holds[operation] = Hold(after_accept=after_accept)
        return self.holds[operation]

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

    async def _before_accepting(
        self, request: web.Request, operation: str, delivery: str | None
    ) -> tuple[web.StreamResponse | None, Hold | None]:
        """Count the attempt, hold it or fail it as told; ``(answer, hold)`` where an answer
        means nothing is accepted, and a hold left over waits after accepting."""
        self.attempts[operation] += 1
        if delivery:
            self.log.attempt(delivery)
        hold = self.holds.pop(operation, None)
        if hold is not None and not hold.after_accept:
            await hold.wait()
            return web.Response(status=503, text="held, then refused"), None
        failed = self._failure() or await self._chaos_fault(request, operation, delivery)
        return (failed, None) if failed is not None else (None, hold)

    async def _chaos_fault(
        self, request: web.Request, operation: str, delivery: str | None
    ) -> web.StreamResponse | None:
        """When hostile, a random fault for what the delivery loop sends (it names its outbox
        row) and for the chats it creates for direct messages (no 429 for those: with no id,
        their retry could not be told apart to check its ``Retry-After``)."""
        if self.chaos is None or not (delivery or operation == "create"):
            return None
        fault = self.chaos.draw(rate_limit=operation != "create")
        if fault is None:
            return None
        retry_after = self.chaos.retry_after_seconds() if fault is Fault.RATE_LIMITED else 0
        if delivery and retry_after:
            self.log.limited(delivery, retry_after)
        limited = web.json_response(
            {"error": {"code": "TooManyRequests", "message": "injected"}},
            status=429,
            headers={"Retry-After": str(retry_after)},
        )
        return await injected_response(request, fault, self.chaos, limited)

    async def _record(
        self, request: web.Request, operation: str, cid: str, aid: str | None = None
    ) -> web.StreamResponse:
        activity = await request.json()
        delivery = delivery_of(activity)
        failed, hold = await self._before_accepting(request, operation, delivery)
        if failed is not None:
            return failed
        activity_id = aid or f"activity-{next(self._ids)}"
        self.sent.append(Sent(operation, cid, activity_id, activity, dict(request.headers)))
        if delivery:
            self.log.accept(delivery)
        if hold is not None:
            await hold.wait()
        return web.json_response({"id": activity_id})

    async def _send(self, request: web.Request) -> web.StreamResponse:
        return await self._record(request, "send", request.match_info["cid"])

    async def _reply(self, request: web.Request) -> web.StreamResponse:
        return await self._record(request, "reply", request.match_info["cid"])

    async def _update(self, request: web.Request) -> web.StreamResponse:
        return await self._record(
            request, "update", request.match_info["cid"], request.match_info["aid"]
        )

    async def _create(self, request: web.Request) -> web.StreamResponse:
        params = await request.json()
        failed, hold = await self._before_accepting(request, "create", None)
        if failed is not None:
            return failed
        members = params.get("members") or [{}]
        cid = f"a:dm-{members[0].get('id', 'unknown')}"
        activity = params.get("activity") or {}
        activity_id = f"activity-{next(self._ids)}"
        self.sent.append(Sent("create", cid, activity_id, activity, dict(request.headers)))
        if hold is not None:
            await hold.wait()
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


_ACTIVITY_IDS = itertools.count(1)


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
        "id": f"incoming-{next(_ACTIVITY_IDS)}",  # unique, as Teams gives them
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
