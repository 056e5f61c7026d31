"""One run of the suite: seed, start the fakes, drive every server in rounds, measure the register.

Each round drives every server once, job by job: the limit, then for each job its peer, the
bot's scenario, its floor (the least work the job needs: the ceiling any implementation
could reach here, :mod:`bench.floors`) and its stack floor (the same least work through the
libraries the bot must use, :mod:`bench.stack_floors`). So each ratio's two servers run one
after the other, a few seconds apart, and a shared machine that slows down for a minute
moves that round's ratios, not all of them; the results take the median of the rounds.
Each bot run is a fresh process on a fresh copy of the same seeded database. Servers run
one at a time so each has the machine to itself, apart from the load driver and the fakes.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import payloads, register, report, seed
from bench.config import SLACK_MANAGER, TEAMS_MANAGER, RunConfig
from bench.counting import Fakes
from bench.parts import run_parts
from bench.processes import free_port, running
from bench.scenarios import (
    BOT_SCENARIOS,
    PRESS_SEEN,
    SLACK_SEEN,
    Context,
    FloorRun,
    Outcome,
    press_set,
    run_bot,
    run_floor,
    run_peer,
    slack_cases,
    slash_set,
    teams_cases,
    teams_message_set,
    teams_press_set,
)
from bot.policy.loader import DEFAULT_PACK

LOCAL_MODE = "empty app id: local mode, no token check (as the bot is run here)"
PEER_RUNS: tuple[tuple[str, str, str, Callable[[Context], Sequence[payloads.Request]]], ...] = (
    (
        "limit_aiohttp",
        "aiohttp",
        "bare aiohttp handler answering 200 (the slash requests)",
        slash_set,
    ),
    (
        "bolt_command",
        "bolt",
        "slack-bolt AsyncApp via AsyncApp.web_app(), signature checked, auth.test once; "
        "the /report-abuse listener only acks",
        slash_set,
    ),
    (
        "bolt_action",
        "bolt",
        "the same bolt app; its action listener only acks (the press requests)",
        press_set,
    ),
    (
        "cloudadapter_message",
        "cloudadapter",
        f"stock CloudAdapter.process() and a no-op ActivityHandler, {LOCAL_MODE}; message",
        teams_message_set,
    ),
    (
        "cloudadapter_invoke",
        "cloudadapter",
        f"the same; adaptiveCard/action answered with a fixed one-line card, {LOCAL_MODE}",
        teams_press_set,
    ),
)

FLOOR_RUNS = (
    FloorRun(
        "floor_slash",
        "slash",
        "the least a slash command needs (bench/floors.py): bare aiohttp, slack-sdk's "
        "SignatureVerifier, the form parsed, views.open with a fixed modal over one kept-alive "
        "session, then 200 (seen = views.open calls)",
        slash_set,
        done_on=SLACK_SEEN,
        seen=True,
    ),
    FloorRun(
        "floor_press",
        "press",
        "the least a press needs (bench/floors.py): bare aiohttp, signature checked, payload "
        "parsed, one stdlib sqlite3 transaction (WAL, synchronous=NORMAL, BEGIN IMMEDIATE: "
        "versioned case UPDATE, timeline INSERT, outbox INSERT), 200; then a background task "
        "sends chat.update and marks the outbox row sent (seen = chat.update calls)",
        press_set,
        done_on=PRESS_SEEN,
        seen=True,
        cases=slack_cases,
    ),
    FloorRun(
        "floor_teams_message",
        "teams_message",
        "the least a Teams message needs (bench/floors.py): bare aiohttp, the activity "
        "decoded, one reply with a fixed Adaptive Card posted to the fake connector over one "
        "kept-alive session, then 200 (local mode, no token check)",
        teams_message_set,
        done_on=("connector", ("reply",)),
        seen=False,
    ),
)

STACK = "bench.stack_floors"
ON_THE_STACK = (
    "the floor's steps, and nothing else, through the bot's libraries (bench/stack_floors.py): "
)
SQLALCHEMY = "one held Core connection of SQLAlchemy's asyncio engine, the bot's SQLite engine"
STACK_RUNS = (
    FloorRun(
        "stack_slash",
        "slash",
        f"{ON_THE_STACK}a slack-bolt AsyncApp (process_before_response), its listener acks and "
        "opens a fixed modal with slack-sdk's AsyncWebClient.views_open over one kept-alive "
        "session (seen = views.open calls)",
        slash_set,
        done_on=SLACK_SEEN,
        seen=True,
        module=STACK,
    ),
    FloorRun(
        "stack_press",
        "press",
        f"{ON_THE_STACK}the same bolt app; the action listener acks and runs the press floor's "
        f"transaction ({SQLALCHEMY}); then a background task sends chat_update with "
        "slack-sdk's client and marks the outbox row sent (seen = chat.update calls)",
        press_set,
        done_on=PRESS_SEEN,
        seen=True,
        module=STACK,
        cases=slack_cases,
    ),
    FloorRun(
        "stack_teams_message",
        "teams_message",
        f"{ON_THE_STACK}the activity read by the bot's reader, the turn run by the bot's "
        "TeamsAdapter (botbuilder's CloudAdapter, local mode) and an ActivityHandler that "
        "replies with a fixed Adaptive Card",
        teams_message_set,
        done_on=("connector", ("reply",)),
        seen=False,
        module=STACK,
    ),
    FloorRun(
        "stack_teams_press",
        "teams_press",
        f"{ON_THE_STACK}the same adapter; on_adaptive_card_invoke runs the press floor's "
        f"transaction ({SQLALCHEMY}) and answers a fixed card; then a background task posts "
        "a notice through the bot's connector and marks the outbox row sent",
        teams_press_set,
        done_on=("connector", ("send",)),
        seen=False,
        module=STACK,
        cases=teams_cases,
    ),
)

ALL_FLOORS = (*FLOOR_RUNS, *STACK_RUNS)
SERVER_NAMES = frozenset(
    [
        *(run[0] for run in PEER_RUNS),
        *(run.name for run in ALL_FLOORS),
        *(s.name for s in BOT_SCENARIOS),
    ]
)


def write_pack(path: Path) -> Path:
    """The default pack with the benchmark's triage managers named in its roles.

    The pack is edited as text: a YAML round trip would turn its ``yes``/``no`` option ids
    into booleans.
    """
    from importlib import resources

    text = resources.files("bot.policy").joinpath("packs", DEFAULT_PACK).read_text("utf-8")
    empty = "  triage_manager:\n    label: Abuse report triage\n    members: []\n"
    assert empty in text, "the default pack's triage_manager role has changed"
    members = f'["slack:{SLACK_MANAGER}", "teams:{TEAMS_MANAGER}"]'
    named = empty.replace("members: []", f"members: {members}")
    path.write_text(text.replace(empty, named), encoding="utf-8")
    return path


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Job by job, each peer just before the bot's scenario it is compared with (bench.report).
ORDER = (
    "limit_aiohttp",
    "bolt_command",
    "bot_slash",
    "floor_slash",
    "stack_slash",
    "bolt_action",
    "bot_press",
    "floor_press",
    "stack_press",
    "cloudadapter_message",
    "bot_teams_message",
    "floor_teams_message",
    "stack_teams_message",
    "cloudadapter_invoke",
    "bot_teams_press",
    "stack_teams_press",
)
assert set(ORDER) == SERVER_NAMES, "every server has its place in a round"


PARTS = "parts"  # the bot's parts, timed in-process (bench.parts): chosen like a server


@dataclass
class Runs:
    """What the rounds measured: each server's outcomes and the parts' figures, a round each."""

    servers: dict[str, list[Outcome]] = field(default_factory=dict)
    parts: list[dict[str, float]] = field(default_factory=list)


def drive_servers(config: RunConfig, work: Path, only: Collection[str] | None = None) -> Runs:
    """Start the fakes, seed the press database, and drive every server (or ``only`` those),
    timing the bot's parts at the end of each round.

    Args:
        config: sizes, durations and rounds.
        work: a directory for this run's databases, request sets and logs.
        only: the names of the servers to drive (and ``"parts"``); all of them when None.
    """
    work.mkdir(parents=True, exist_ok=True)
    slack_port, connector_port = free_port(), free_port()
    arguments = ["-m", "bench.fakes", "--slack-port", str(slack_port)]
    arguments += ["--connector-port", str(connector_port)]
    runs = Runs()
    with running("fakes", arguments, port=connector_port, log=work / "fakes.log", health="/stats"):
        fakes = Fakes(slack_port, connector_port)
        say(f"Seeding {config.requests_per_set:,} reports per press scenario")
        template = work / "press-template.db"
        template.unlink(missing_ok=True)
        press = seed.press_database(template, config.requests_per_set, fakes.service_url)
        context = Context(config, work, fakes, press, template, write_pack(work / "pack.yaml"))
        drives = _drives(context)
        chosen = [name for name in ORDER if only is None or name in only]
        for number in range(1, config.rounds + 1):
            say(f"Round {number} of {config.rounds}")
            for name in chosen:
                say(f"Driving {name}")
                outcome = drives[name]()
                runs.servers.setdefault(name, []).append(outcome)
                say(f"  {outcome.throughput:,.0f} per second")
            if only is None or PARTS in only:
                say("Timing the bot's parts")
                runs.parts.append(run_parts(context))
                say(f"  {runs.parts[-1]}")
    return runs


def _drives(context: Context) -> dict[str, Callable[[], Outcome]]:
    """Each server's name, and how to drive it once.

    Request sets are signed when their run starts: Slack's signatures are only good for
    five minutes, and a full run lasts longer.
    """
    drives: dict[str, Callable[[], Outcome]] = {}
    for name, peer, setup, requests in PEER_RUNS:
        drives[name] = functools.partial(_run_peer, context, name, peer, setup, requests)
    for floor in ALL_FLOORS:
        drives[floor.name] = functools.partial(run_floor, context, floor)
    for scenario in BOT_SCENARIOS:
        drives[scenario.name] = functools.partial(run_bot, context, scenario)
    return drives


def _run_peer(
    context: Context,
    name: str,
    peer: str,
    setup: str,
    requests: Callable[[Context], Sequence[payloads.Request]],
) -> Outcome:
    return run_peer(context, name, peer, setup, requests(context))


def run(config: RunConfig, driver: str, work: Path, cache: Path) -> dict[str, Any]:
    """Run everything and return the results document.

    Args:
        config: sizes and durations.
        driver: how the load was driven, as the results should say.
        work: a directory for this run's databases, request sets and logs.
        cache: where seeded registers are kept between runs.
    """
    runs = drive_servers(config, work)
    say(f"Seeding (or reusing) the register of {config.register_rows:,} reports")
    database = seed.register(config.register_rows, cache)
    say("Timing the recurring-sender lookup")
    lookup = register.lookup(database, config.register_rows, config.lookups)
    say("Exporting the register")
    exported = register.export(database, work / "export")
    return report.results(config, driver, runs.servers, runs.parts, lookup, exported)
