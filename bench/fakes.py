"""Slack's and Microsoft's cloud for the benchmark: the test suite's fakes, as one process.

``python -m bench.fakes`` serves ``tests/support/fake_slack.py`` (the Slack Web API) and
``tests/support/fake_connector.py`` (the Bot Framework connector) on two loopback ports.
Both speak the real wire format. A run makes tens of thousands of calls, so here each fake
counts its calls instead of keeping them, and ``GET /stats`` on either port answers the
count of each method and the time of its last call: that is how the suite knows when the
bot's work after an ``ack`` has finished.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import FakeSlack


class Tally:
    """Stands in for a fake's list of calls: counts each by kind and notes the last time."""

    def __init__(self, kind: Callable[[Any], str]) -> None:
        self._kind = kind
        self.counts: Counter[str] = Counter()
        self.last: dict[str, float] = {}

    def append(self, call: Any) -> None:
        kind = self._kind(call)
        self.counts[kind] += 1
        self.last[kind] = time.time()

    def stats(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "last": self.last}


def with_stats(app: web.Application, tally: Tally) -> web.Application:
    """Add ``GET /stats`` to a fake's application."""

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(tally.stats())

    app.router.add_get("/stats", stats)
    return app


def slack_app() -> web.Application:
    """The fake Slack Web API, counting calls by method (``views.open``, ``chat.update``)."""
    tally = Tally(lambda call: call.method)
    accepted = Tally(lambda call: call.method)  # the fake keeps these too: count them instead
    fake = FakeSlack(calls=tally, accepted=accepted)  # type: ignore[arg-type]
    return with_stats(fake.app(), tally)


def connector_app() -> web.Application:
    """The fake connector, counting activities by operation (``send``, ``update``, ...)."""
    tally = Tally(lambda sent: sent.operation)
    return with_stats(FakeConnector(sent=tally).app(), tally)  # type: ignore[arg-type]


async def _serve(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()


async def main(slack_port: int, connector_port: int) -> None:
    await _serve(slack_app(), slack_port)
    await _serve(connector_app(), connector_port)
    print(json.dumps({"slack": slack_port, "connector": connector_port}), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slack-port", type=int, required=True)
    parser.add_argument("--connector-port", type=int, required=True)
    options = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(options.slack_port, options.connector_port))
