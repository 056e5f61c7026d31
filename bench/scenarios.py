"""The runs: each server in turn, driven with its request set; for the bot, what people saw.

Slack listeners ``ack()`` first and work after (bolt answers the HTTP request on the
``ack``), so ``wrk``'s figure for the bot is how fast it *acknowledges*. What a person
waits for comes later: the modal (``views.open``) after ``/report-abuse``, the updated card
(``chat.update``, sent by the delivery loop) after a press. The suite therefore counts those
calls on the fake Slack and takes the bot's throughput as results seen per second, from
the start of the run to the last one seen. Teams answers in the request itself (the reply
is sent, or the card returned, before the response), so there ``wrk``'s figure is it.
The floors (:mod:`bench.floors`) are counted the same way, so their ratios compare; the
counting is in :mod:`bench.counting`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import payloads
from bench.config import BOT_TOKEN, SIGNING_SECRET, RunConfig
from bench.counting import (
    Fakes,
    database_figures,
    errors_logged,
    floor_figures,
    settle,
)
from bench.driver import Load, drive
from bench.processes import Server, free_port, running
from bench.seed import PressCases, bind_triage_channel
from bot.model import Platform

IDLE_SETTLE_SECONDS = 1.0
WAL = ("-wal", "-shm")  # the files beside a SQLite database in WAL mode
PLATFORM_VARIABLES = (
    "SLACK_APP_TOKEN",
    "TEAMS_APP_PASSWORD",
    "TEAMS_TENANT_ID",
)


@dataclass
class Outcome:
    """One server driven with one request set.

    ``completed`` and ``completed_rps`` are the results people saw after an ``ack`` (bot
    on Slack only); ``drain_seconds`` is how long after the load stopped the last one came.
    """

    name: str
    setup: str
    load: Load
    completed: int | None = None
    completed_rps: float | None = None
    drain_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        """Per second: results seen when they come after the ack, else answers."""
        return self.completed_rps if self.completed_rps is not None else self.load.rps


@dataclass(frozen=True)
class Context:
    """What every run needs."""

    config: RunConfig
    work: Path
    fakes: Fakes
    press: PressCases
    template: Path
    pack: Path


def request_file(context: Context, name: str, requests: Sequence[payloads.Request]) -> Path:
    return payloads.write(requests, context.work / f"{name}.requests")


def load(context: Context, server: Server, requests: Path) -> Load:
    return drive(
        context.config.driver,
        server.url,
        requests,
        duration=context.config.duration,
        connections=context.config.connections,
    )


def run_peer(
    context: Context, name: str, peer: str, setup: str, requests: Sequence[payloads.Request]
) -> Outcome:
    """Drive one of :mod:`bench.peers` with ``requests``."""
    port = free_port()
    arguments = ["-m", "bench.peers", peer, "--port", str(port)]
    arguments += ["--slack-api-url", context.fakes.slack_api_url]
    file = request_file(context, name, requests)
    with running(name, arguments, port=port, log=context.work / f"{name}.log") as server:
        cpu = server.cpu_seconds()
        measured = load(context, server, file)
        cpu = server.cpu_seconds() - cpu
        rss = server.rss_mb()
    extra = {"rss_after_mb": round(rss, 1), "cpu_ms_each": cpu_ms_each(cpu, measured.requests)}
    return Outcome(name, setup, measured, extra=extra)


@dataclass(frozen=True)
class FloorRun:
    """One of :mod:`bench.floors` or :mod:`bench.stack_floors`: the least work a job needs,
    measured like the bot's.

    Args:
        name: the key in the results.
        floor: the floor's name for ``python -m {module}``.
        setup: what is measured, said in the results.
        requests: builds the request set (the bot's own, signed now).
        done_on: ``(fake, methods)`` whose calls are the floor's work done, counted (and
            waited for after the load) as ``done``.
        seen: whether those calls are the floor's throughput (seen per second, as for the
            bot's Slack scenarios) rather than the answers (as for the bot on Teams).
        module: the floor's module.
        cases: the presses: which seeded reports the floor's new SQLite file holds
            (``--database``, ``--cases``); its presses recorded are what it owes the fakes.
    """

    name: str
    floor: str
    setup: str
    requests: Callable[[Context], Sequence[payloads.Request]]
    done_on: tuple[str, tuple[str, ...]]
    seen: bool
    module: str = "bench.floors"
    cases: Callable[[Context], Sequence[str]] | None = None


def run_floor(context: Context, run: FloorRun) -> Outcome:
    """Start the floor's server and drive it; count its work on the fakes."""
    home = context.work / run.name
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    arguments = ["-m", run.module, run.floor, "--port", str(port)]
    arguments += ["--slack-api-url", context.fakes.slack_api_url]
    database: Path | None = None
    if run.cases is not None:
        database = home / "floor.db"
        for leftover in (database, *(database.with_name(database.name + s) for s in WAL)):
            leftover.unlink(missing_ok=True)
        cases = write_cases(home / "cases.txt", run.cases(context))
        arguments += ["--database", str(database), "--cases", str(cases)]
    file = request_file(context, run.name, run.requests(context))
    log = context.work / f"{run.name}.log"
    with running(run.name, arguments, port=port, log=log) as server:
        before = {w: context.fakes.stats(w) for w in ("slack", "connector")}
        cpu = server.cpu_seconds()
        outcome = Outcome(run.name, run.setup, load(context, server, file))
        measured = outcome.load
        owed = floor_figures(database)["acknowledged"] if database else measured.requests
        count, last = settle(context.fakes, run.done_on, before, owed, None)
        outcome.extra["done"] = count
        outcome.extra["acked_never_seen"] = max(owed - count, 0)
        if run.seen:
            outcome.completed = count
            outcome.completed_rps = count / max(last - measured.started_at, 1e-9)
            outcome.drain_seconds = max(last - (measured.started_at + measured.seconds), 0.0)
        done = outcome.completed if outcome.completed is not None else measured.requests
        outcome.extra["cpu_ms_each"] = cpu_ms_each(server.cpu_seconds() - cpu, done)
        outcome.extra["rss_after_mb"] = round(server.rss_mb(), 1)
    if database is not None:
        outcome.extra.update(floor_figures(database))
    outcome.extra["errors_logged"] = errors_logged(log)
    return outcome


def write_cases(path: Path, cases: Sequence[str]) -> Path:
    """The case ids a floor or the parts press, one a line, for their ``--cases``."""
    path.write_text("".join(f"{case}\n" for case in cases), "ascii")
    return path


def cpu_ms_each(cpu_seconds: float, done: int) -> float | None:
    """The server's CPU time per request done (its work after the ack included), in ms."""
    return round(cpu_seconds * 1000 / done, 2) if done else None


@dataclass(frozen=True)
class BotScenario:
    """One of the bot's scenarios.

    Args:
        name: the key in the results.
        setup: what is measured, said in the results.
        requests: builds the request set (signed now).
        bind: the platform whose triage channel is bound (press scenarios).
        seen_on: ``(fake, methods)`` whose calls are what people see after the ack.
        delivered_on: ``(fake, methods)`` the delivery loop sends to, waited for.
    """

    name: str
    setup: str
    requests: Callable[[Context], Sequence[payloads.Request]]
    bind: Platform | None = None
    seen_on: tuple[str, tuple[str, ...]] | None = None
    delivered_on: tuple[str, tuple[str, ...]] | None = None


def bot_environment(context: Context, database: Path, port: int, files: Path) -> dict[str, str]:
    """The variables an operator would set, pointing Slack's Web API at the fake."""
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": context.fakes.slack_api_url,
        "TEAMS_APP_ID": "",
        "BOT_POLICY_PACK": str(context.pack),
        "BOT_FILE_STORE": str(files),
        "PORT": str(port),
        **{name: "" for name in PLATFORM_VARIABLES},
    }


def fresh_database(context: Context, home: Path, bind: Platform | None) -> Path:
    """A fresh copy of the seeded press database in ``home``, with ``bind``'s triage channel
    bound (the press scenarios)."""
    home.mkdir(parents=True, exist_ok=True)
    database = shutil.copyfile(context.template, home / "bot.db")
    if bind is not None:
        bind_triage_channel(database, bind, context.fakes.service_url)
    return database


def run_bot(context: Context, scenario: BotScenario) -> Outcome:
    """Start ``python -m bot serve`` on a fresh copy of the press database and drive it."""
    home = context.work / scenario.name
    database = fresh_database(context, home, scenario.bind)
    port = free_port()
    env = bot_environment(context, database, port, home / "files")
    file = request_file(context, scenario.name, scenario.requests(context))
    log = context.work / f"{scenario.name}.log"
    with running(scenario.name, ["-m", "bot", "serve"], port=port, log=log, env=env, cwd=home) as s:
        time.sleep(IDLE_SETTLE_SECONDS)
        idle = s.rss_mb()
        before = {w: context.fakes.stats(w) for w in ("slack", "connector")}
        cpu = s.cpu_seconds()
        outcome = Outcome(scenario.name, scenario.setup, load(context, s, file))
        observe(context.fakes, scenario, outcome, before, database)
        done = outcome.completed if outcome.completed is not None else outcome.load.requests
        outcome.extra["cpu_ms_each"] = cpu_ms_each(s.cpu_seconds() - cpu, done)
        outcome.extra.update(ready_seconds=s.ready_seconds, idle_rss_mb=idle)
        outcome.extra["rss_after_mb"] = round(s.rss_mb(), 1)
    outcome.extra.update(database_figures(database))
    outcome.extra["errors_logged"] = errors_logged(log)
    return outcome


def observe(
    fakes: Fakes,
    scenario: BotScenario,
    outcome: Outcome,
    before: dict[str, Any],
    database: Path,
) -> None:
    """After the load: wait for what people see and what is delivered, and count it."""
    measured = outcome.load
    ended = measured.started_at + measured.seconds
    if scenario.seen_on is not None:
        count, last = settle(fakes, scenario.seen_on, before, measured.requests, database)
        outcome.completed = count
        outcome.completed_rps = count / max(last - measured.started_at, 1e-9)
        outcome.drain_seconds = max(last - ended, 0.0)
        outcome.extra["acked_never_seen"] = max(measured.requests - count, 0)
    if scenario.delivered_on is not None:
        count, last = settle(fakes, scenario.delivered_on, before, measured.requests, database)
        outcome.extra["delivered"] = count
        outcome.extra["delivery_drain_seconds"] = round(max(last - ended, 0.0), 3)


def slash_set(context: Context) -> list[payloads.Request]:
    return payloads.slash_commands(context.config.requests_per_set)


def press_set(context: Context) -> list[payloads.Request]:
    return payloads.triage_presses(context.press.slack)


def teams_message_set(context: Context) -> list[payloads.Request]:
    return payloads.teams_messages(context.config.requests_per_set, context.fakes.service_url)


def teams_press_set(context: Context) -> list[payloads.Request]:
    return payloads.teams_presses(teams_cases(context), context.fakes.service_url)


def slack_cases(context: Context) -> list[str]:
    return [case for case, _ in context.press.slack]


def teams_cases(context: Context) -> list[str]:
    return [case for case, _ in context.press.teams]


SLACK_SEEN = ("slack", ("views.open",))
PRESS_SEEN = ("slack", ("chat.update", "chat.postEphemeral"))
BOT_SCENARIOS = (
    BotScenario(
        "bot_slash",
        "python -m bot serve on SQLite: /report-abuse from a new person each time; ack, then "
        "a new draft stored and views.open on the fake Slack (seen = views.open calls)",
        slash_set,
        seen_on=SLACK_SEEN,
    ),
    BotScenario(
        "bot_press",
        "python -m bot serve on SQLite, delivery loop running: Acknowledge on a different "
        "new report each time (a legal move); ack, then authorise, transition, timeline, "
        "card update and reporter notice queued; the delivery loop sends chat.update "
        "(seen = chat.update calls)",
        press_set,
        bind=Platform.SLACK,
        seen_on=PRESS_SEEN,
    ),
    BotScenario(
        "bot_teams_message",
        "python -m bot serve, Teams local mode: 'report abuse' from a new person each time; "
        "a new draft stored and the first page sent as a reply on the fake connector, "
        "before the response",
        teams_message_set,
    ),
    BotScenario(
        "bot_teams_press",
        "python -m bot serve, Teams local mode, delivery loop running: Acknowledge "
        "(adaptiveCard/action) on a different new report each time; the refreshed card is "
        "the invoke response; the channel card update goes out through the outbox",
        teams_press_set,
        bind=Platform.TEAMS,
        delivered_on=("connector", ("update",)),
    ),
)
