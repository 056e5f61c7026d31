"""What makes a Slack delivery the same one again, so it is processed once.

Slack retries an Events API delivery it thinks failed (the same ``event_id``), and a press
can arrive twice (a proxy's retry, a replay inside the five signed minutes) with the same
``action_ts``, while a person pressing again makes a new one. The keys are recorded in the
database, race-safe, so a repeat reaching another replica is caught too: a press on a case
card records its key in the press's own transaction (``Core.press``), so a press that failed
is processed when it comes again; anything else with ``Core.seen_before`` first. Modal
submissions are left alone: saving the same page twice is harmless, and a person may resend
a page that showed an error.
"""

from __future__ import annotations

from typing import Any


def event_key(body: dict[str, Any]) -> str:
    """``slack-event:<event_id>`` for an Events API callback, else ""."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return f"slack-event:{body['event_id']}"
    return ""


def press_key(body: dict[str, Any]) -> str:
    """``slack-press:<user>:<action_ts>`` for a ``block_actions`` press, else ""."""
    if body.get("type") != "block_actions":
        return ""
    user = (body.get("user") or {}).get("id", "")
    actions = body.get("actions")
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        return ""
    stamps = [str(a.get("action_ts") or "") for a in actions]
    if user and stamps and all(stamps):
        return f"slack-press:{user}:{':'.join(stamps)}"
    return ""
