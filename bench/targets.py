"""The issue's targets, and what limits each one the bot misses.

The limits come from profiling the bot under the suite's load (``py-spy record`` on the
server process, ``pyinstrument`` on single operations; see README "Benchmarks"). They are
put in the results for any target a run misses, so a reader of one run knows why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (where in the results, comparison, bound, what it measures)
TARGETS = (
    ("ratios.slash_vs_bolt", ">=", 0.8, "slash command throughput vs plain bolt"),
    ("p99_ms.slash", "<", 50.0, "slash command ack p99 (ms)"),
    ("ratios.press_vs_bolt", ">=", 0.5, "button press throughput vs plain bolt"),
    ("p99_ms.press", "<", 100.0, "button press ack p99, delivery running (ms)"),
    ("ratios.teams_message_vs_cloudadapter", ">=", 10.0, "Teams message vs CloudAdapter"),
    ("ratios.teams_press_vs_cloudadapter", ">=", 10.0, "Teams card press vs CloudAdapter"),
    ("register.lookup_p99_ms", "<", 20.0, "recurring-sender lookup p99 (ms)"),
    ("register.export_seconds", "<", 60.0, "export of the whole register (s)"),
    ("register.export_peak_mb", "<", 250.0, "export peak memory (MB)"),
    ("idle_rss_mb", "<", 150.0, "idle memory (MB)"),
    ("ready_seconds", "<", 3.0, "start to /healthz 200 (s)"),
)

ACK_FIRST = (
    "Bolt answers the request when the listener calls ack(); the work after it runs on the "
    "same event loop as the acks of later requests, with no priority for acks, so under "
    "load an ack waits behind earlier requests' work."
)
LIMITS = {
    "ratios.slash_vs_bolt": (
        "Counted is modals opened per second (views.open on the fake), not acks. Per "
        "command the bot spends a few ms of CPU where bolt's ack-only listener spends about "
        "half a millisecond: the flow engine's draft transaction (SQLAlchemy ORM session "
        "set-up, statement building, and a hop to aiosqlite's thread and back for each "
        "statement; about a third of it), views.open (slack-sdk opens a new aiohttp session "
        "and connection for every call unless given one; about a tenth), and bolt's own "
        "dispatch, which the peer pays too. Acks run faster than modals open "
        "(servers.bot_slash.requests_per_s), which only builds a backlog: seen_drain_s is "
        "how long after the burst the last modal opened, and on real Slack a modal opened "
        "more than 3 s after its command fails (the trigger_id expires). Past 64 modals "
        "waiting to open, the bot answers a command at once with a plain 'please try again "
        "in a minute' and starts nothing, so those acks count as acked and never seen: "
        "under this flood most acks are such answers, and their bolt dispatch takes CPU "
        "from the modals that do open."
    ),
    "p99_ms.slash": ACK_FIRST,
    "ratios.press_vs_bolt": (
        "Counted is card updates sent (chat.update) per second. A press is one SQLite "
        "transaction of about 25 statements (the case, the versioned update, the timeline "
        "append and its chain head, the fresh case and timeline, earlier reports, bound "
        "channels, two outbox rows read back, the reporter's conversation, reminders), each "
        "a hop to aiosqlite's thread and back: 25-35 ms of CPU a press measured alone on "
        "this machine, and SQLite runs one write transaction at a time, so the bot "
        "sustains tens of presses a second where bolt acks thousands. Should presses be "
        "acked faster than that, the backlog grows: past 64 presses waiting, a press is "
        "turned away at once (it changes nothing and the person is told privately to press "
        "again), so no press waits for the pool's 30 s timeout and fails unseen."
    ),
    "p99_ms.press": (
        "A press is acked before any database work (the repeat-press check runs after the "
        "ack). " + ACK_FIRST
    ),
    "ratios.teams_message_vs_cloudadapter": (
        "The stock adapter's msrest client set-up per request is cached away, but each "
        "message still stores a new draft (a SQLite transaction), renders an Adaptive Card "
        "and sends the reply through msrest, which runs requests in the default thread "
        "pool and (de)serialises activities through msrest models. Ten times the stock "
        "adapter is about a thousand such messages a second, each a database write and an "
        "outbound HTTP call, from one Python process on two cores."
    ),
    "ratios.teams_press_vs_cloudadapter": (
        "The same transaction as a Slack press (see ratios.press_vs_bolt), inside the "
        "request, plus the card rendered for the response."
    ),
    "register.lookup_p99_ms": (
        "earlier_reports joins every report naming any of the case's senders and sorts "
        "them: the one report in twenty that names a prolific sender has hundreds to go "
        "through."
    ),
    "register.export_seconds": (
        "Per row, in Python: SQLAlchemy result processing (three times, and each of five "
        "answer columns checked for sealed text), register_row, safe_cell and the csv "
        "writer, tens of microseconds a row; the page query (correlated subqueries for the "
        "acknowledge and close times and the file count) runs in aiosqlite's thread, one "
        "page after another rather than alongside the rows being written."
    ),
}


def evaluate(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each target with the figure measured and whether it was met."""
    found = []
    for path, comparison, bound, what in TARGETS:
        value: Any = document
        for key in path.split("."):
            value = value[key]
        met = value >= bound if comparison == ">=" else value < bound
        found.append(
            {
                "key": path,
                "what": what,
                "target": f"{comparison} {bound:g}",
                "measured": value,
                "met": met,
            }
        )
    return found


def limits(evaluated: list[dict[str, Any]]) -> dict[str, str]:
    """What limits each target missed."""
    return {t["key"]: LIMITS[t["key"]] for t in evaluated if not t["met"] and t["key"] in LIMITS}
