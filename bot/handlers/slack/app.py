"""The Slack side: one function builds the bolt ``AsyncApp`` and registers every listener.

Listeners are tiny: ``ack()`` (or answer in ``ack`` for modal submissions, within Slack's
3 seconds), parse the payload into neutral values, make one core call, render the result.
The error boundary turns domain errors into a calm message and logs anything else with a
correlation id.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import Core
from bot.handlers.slack import listeners
from bot.handlers.slack.files import SlackFileFetcher
from bot.handlers.slack.people import SlackPeople
from bot.handlers.slack.repeats import event_key

log = logging.getLogger(__name__)

FLOW_CALLBACK = "flow"


def build_slack_app(core: Core, *, client: AsyncWebClient, signing_secret: str) -> AsyncApp:
    """Build the bolt app with every listener registered.

    Args:
        core: the platform-neutral bot.
        client: the Web API client (its ``base_url`` is ``SLACK_API_URL``).
        signing_secret: verifies every request came from Slack.
        verify_token: check the token with ``auth.test`` on the first request.
    """
    app = AsyncApp(client=client, signing_secret=signing_secret)
    fetch = SlackFileFetcher(
        token=client.token or "",
        api_url=client.base_url,
        max_bytes=core.pack.abuse_report.evidence_limits.max_file_bytes,
    )
    handlers = listeners.SlackListeners(
        core, callback_id=FLOW_CALLBACK, fetch=fetch, people=SlackPeople(client)
    )
    # bolt tries the listeners in this order and builds every argument a listener could take
    # for each matcher it tries, so the busiest come first: commands, then buttons. No two
    # listeners match the same request, so the order changes nothing else.
    app.command("/report-abuse")(handlers.report_abuse)
    app.command("/social-case")(handlers.social_case)
    app.command("/staff-safety")(handlers.admin_command)
    # Every button carries an encoded ActionRef in its value; one listener decodes and routes.
    app.action(re.compile(r".+"))(handlers.button)
    app.view_submission(FLOW_CALLBACK)(handlers.flow_submit)
    app.view_closed(FLOW_CALLBACK)(handlers.flow_closed)
    app.view_submission(listeners.CASE_FORM)(handlers.case_form_submit)
    app.shortcut("report_abuse")(handlers.report_abuse_shortcut)
    app.shortcut("social_case")(handlers.social_case_shortcut)
    app.shortcut("suggest_reply")(handlers.suggest_reply)
    once = [_deduplicate(core)]  # only events are retried; other requests skip the check
    app.event("app_home_opened", middleware=once)(handlers.home_opened)
    app.event("message", middleware=once)(handlers.ignore_event)
    app.event("app_mention", middleware=once)(handlers.ignore_event)
    app.error(_error_boundary)
    return app


def _deduplicate(core: Core) -> Any:
    """Events API retries (``X-Slack-Retry-Num``) are processed once: their keys are recorded
    in the database, so a retry reaching another replica is caught. (Repeated presses are
    caught by the button listener after its ack, keeping the database off the ack path.)

    It is the event listeners' middleware, not the app's: as global middleware bolt would
    run it (and build its arguments) for every command and press, to find no event there.
    Every event the manifests subscribe to has a listener.
    """

    async def deduplicate(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        key = event_key(body)
        if key and await core.seen_before(key):
            log.info("ignored a repeated Slack delivery %s", key)
            return BoltResponse(status=200, body="")
        return await next()

    return deduplicate


async def _error_boundary(error: Exception, body: dict[str, Any]) -> None:
    correlation = uuid.uuid4().hex[:12]
    log.error("slack listener failed [%s] type=%s", correlation, body.get("type"), exc_info=error)
