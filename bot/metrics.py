"""A few Prometheus metrics, written in the text exposition format at ``GET /metrics``.

Requests by route and status, request time, and the outbox backlog are what an operator
watches for this bot; a handful of counters does not justify a metrics library.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Metrics:
    """Counters kept in memory, per process."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.gauges: dict[str, Callable[[], float]] = {}

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count every request by route and status, and time it."""
        started = time.perf_counter()
        route = request.match_info.route.resource
        path = route.canonical if route is not None else "unmatched"
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status
            raise
        finally:
            self.requests[(request.method, path, status)] += 1
            self.seconds[path] += time.perf_counter() - started

    def render(self) -> str:
        """The metrics in Prometheus text format."""
        lines = [
            "# HELP bot_http_requests_total HTTP requests by route and status.",
            "# TYPE bot_http_requests_total counter",
        ]
        for (method, path, status), count in sorted(self.requests.items()):
            lines.append(
                f'bot_http_requests_total{{method="{method}",route="{path}",'
                f'status="{status}"}} {count}'
            )
        lines += [
            "# HELP bot_http_request_seconds_total Time spent serving requests.",
            "# TYPE bot_http_request_seconds_total counter",
        ]
        for path, seconds in sorted(self.seconds.items()):
            lines.append(f'bot_http_request_seconds_total{{route="{path}"}} {seconds:.6f}')
        for name, read in sorted(self.gauges.items()):
            lines += [f"# TYPE {name} gauge", f"{name} {read()}"]
        return "\n".join(lines) + "\n"
