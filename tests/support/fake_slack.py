"""A local fake of the Slack Web API that speaks Slack's wire format.

It answers ``POST /api/<method>`` like slack.com does (form or JSON bodies, ``{"ok": ...}``
replies, ``Retry-After`` on 429), records every call, and can be told to fail a method: with
an API error, a 429 and a ``Retry-After``, or a 500. It also serves uploaded files at
``/files/<id>/<name>`` to requests carrying the bot token, as ``url_private_download`` does.

For the reliability tests it can turn hostile (``chaos``: seeded random faults on the calls
that deliver messages, always before a message is accepted) and can ``hold`` a call forever,
before or after accepting it, while a test kills the bot. Deliveries are told apart by the
outbox id the bot sends in the message's ``metadata``; ``log`` keeps their attempts,
acceptances and the ``Retry-After`` each 429 gave.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.chaos import Chaos, DeliveryLog, Fault, Hold, injected_response

BOT_TOKEN = "xoxb-test-token"
# The methods the delivery loop calls (the others answer a person within a request).
DELIVERY_METHODS = frozenset({"chat.postMessage", "chat.update", "conversations.open"})


@dataclass
class Call:
    """One request the fake received."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    reply: dict[str, Any] | None = None  # what the fake answered, once it accepted the call

    def json_arg(self, name: str) -> Any:
        """An argument that Slack accepts as a JSON string in form bodies (blocks, view)."""
        value = self.body.get(name)
        return json.loads(value) if isinstance(value, str) else value

    @property
    def delivery(self) -> str | None:
        """The outbox delivery this call carries (from the message's ``metadata``), if any."""
        metadata = self.json_arg("metadata")
        payload = metadata.get("event_payload") if isinstance(metadata, dict) else None
        value = payload.get("delivery") if isinstance(payload, dict) else None
        return str(value) if value else None


@dataclass
class Failure:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    times: int = 1


@dataclass
class FakeSlack:
    """The fake's state: calls received, failures queued, files served."""

    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=lambda: defaultdict(list))
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    accepted: list[Call] = field(default_factory=list)
    chaos: Chaos | None = None
    log: DeliveryLog = field(default_factory=DeliveryLog)
    holds: list[tuple[str, Callable[[Call], bool], Hold]] = field(default_factory=list)
    server: TestServer | None = None
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/api/"))

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail as described."""
        self.failures[method].append(Failure(status, error, retry_after, times))

    def hold(
        self,
        method: str,
        *,
        after_accept: bool,
        where: Callable[[Call], bool] = lambda call: True,
    ) -> Hold:
        """Hold the next call of ``method`` (that ``where`` picks) until released: before
        accepting it (then it is refused), or after (the message is kept, never answered)."""
        hold = Hold(after_accept=after_accept)
        self.holds.append((method, where, hold))
        return hold

    def _take_hold(self, call: Call) -> Hold | None:
        for entry in self.holds:
            method, where, hold = entry
            if method == call.method and where(call):
                self.holds.remove(entry)
                return hold
        return None

    def delivered(self, method: str = "chat.postMessage") -> list[Call]:
        """The calls of ``method`` the fake accepted (answered ``ok``), in order."""
        return [c for c in self.accepted if c.method == method]

    def add_file(self, file_id: str, name: str, data: bytes, mime: str) -> dict[str, Any]:
        """Serve a file and return its ``files.info``-style object."""
        self.files[file_id] = (data, mime)
        url = str(self.server.make_url(f"/files/{file_id}/{name}")) if self.server else ""
        return {
            "id": file_id,
            "name": name,
            "mimetype": mime,
            "size": len(data),
            "url_private_download": url,
            "url_private": url,
        }

    def called(self, method: str) -> list[Call]:
        """The calls of ``method``, in order."""
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, within: float = 5.0) -> list[Call]:
        """Wait until ``method`` was called ``count`` times (listeners run after ``ack``)."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.called(method)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"{method} called {len(self.called(method))} times, expected {count}"
                )
            await asyncio.sleep(0.01)
        return self.called(method)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack-sdk reads some methods by GET
        app.router.add_get("/files/{file_id}/{name}", self._file)
        return app

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        call = Call(method, await _body(request), dict(request.headers))
        self.calls.append(call)
        if call.delivery:
            self.log.attempt(call.delivery)
        hold = self._take_hold(call)
        if hold is not None and not hold.after_accept:
            await hold.wait()
            return web.Response(status=503, text="held, then refused")
        failure = self._next_failure(method)
        if failure is not None:
            if failure.status == 429:
                return _rate_limited(failure.retry_after or 1)
            if failure.status >= 500:
                return web.Response(status=failure.status, text="internal error")
            return web.json_response({"ok": False, "error": failure.error or "fatal_error"})
        fault = self._chaos_fault(call)
        if fault is not None:
            assert self.chaos is not None
            retry_after = self.chaos.retry_after_seconds() if fault is Fault.RATE_LIMITED else 0
            if call.delivery and retry_after:
                self.log.limited(call.delivery, retry_after)
            return await injected_response(request, fault, self.chaos, _rate_limited(retry_after))
        reply = call.reply = self._reply(method, call.body)
        self.accepted.append(call)
        if call.delivery:
            self.log.accept(call.delivery)
        if hold is not None:
            await hold.wait()
        return web.json_response(reply)

    def _chaos_fault(self, call: Call) -> Fault | None:
        """A random fault, when hostile, for a call the delivery loop makes: one carrying an
        outbox id, or the ``conversations.open`` before a direct message. That one gets no
        429: with no id, its retry could not be told apart to check its ``Retry-After``."""
        opening = call.method == "conversations.open"
        if self.chaos is None or not (call.delivery or opening):
            return None
        return self.chaos.draw(rate_limit=not opening)

    def _next_failure(self, method: str) -> Failure | None:
        queue = self.failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    def _reply(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        ts = f"1700000000.{next(self._ts):06d}"
        channel = body.get("channel", "C0FAKE")
        replies: dict[str, dict[str, Any]] = {
            "auth.test": {
                "url": "https://fake.slack/",
                "team": "Fake",
                "user": "bot",
                "team_id": "T0FAKE",
                "user_id": "U0BOT",
                "bot_id": "B0BOT",
            },
            "chat.postMessage": {"channel": channel, "ts": ts, "message": {"ts": ts}},
            "chat.update": {"channel": channel, "ts": body.get("ts", ts)},
            "chat.postEphemeral": {"message_ts": ts},
            "conversations.open": {"channel": {"id": f"D{body.get('users', 'X')}"}},
            "views.open": {"view": {"id": f"V{ts}", "hash": ts}},
            "views.update": {"view": {"id": body.get("view_id", f"V{ts}"), "hash": ts}},
            "views.push": {"view": {"id": f"V{ts}", "hash": ts}},
            "views.publish": {"view": {"id": f"V{ts}", "hash": ts}},
            "users.info": {"user": self._user(str(body.get("user", "")))},
            "files.info": {"file": self._file_info(str(body.get("file", "")))},
        }
        return {"ok": True, **replies.get(method, {})}

    def _user(self, user_id: str) -> dict[str, Any]:
        default = {
            "id": user_id,
            "name": user_id.lower(),
            "real_name": f"User {user_id}",
            "profile": {"email": f"{user_id.lower()}@example.org", "real_name": f"User {user_id}"},
        }
        return self.users.get(user_id, default)

    def _file_info(self, file_id: str) -> dict[str, Any]:
        data, mime = self.files.get(file_id, (b"", "application/octet-stream"))
        return self.add_file(file_id, file_id, data, mime)

    async def _file(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.Response(status=302, headers={"Location": "/login"})
        found = self.files.get(request.match_info["file_id"])
        if found is None:
            return web.Response(status=404)
        data, mime = found
        return web.Response(body=data, content_type=mime)


def _rate_limited(retry_after: int) -> web.Response:
    return web.json_response(
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


async def _body(request: web.Request) -> dict[str, Any]:
    """Arguments as Slack reads them: query string, then a JSON or form body."""
    arguments: dict[str, Any] = dict(request.query)
    if request.method == "GET":
        return arguments
    if request.content_type == "application/json":
        data = await request.json()
        arguments.update(data if isinstance(data, dict) else {})
    else:
        form = await request.post()
        arguments.update({k: v for k, v in form.items() if isinstance(v, str)})
    return arguments


async def start_fake_slack() -> FakeSlack:
    """Start a fake on a free loopback port."""
    fake = FakeSlack()
    fake.server = TestServer(fake.app(), host="127.0.0.1")
    await fake.server.start_server()
    return fake
