"""The bot's own parts, timed in-process in the same round as the servers they explain.

A server's figure says how much CPU a request took in all; what limits a missed target is
which parts that CPU went to. Figures for those parts measured on another day, on a machine
that may have been faster or slower, would not add up against this run's. So each round
times them again, here, on the same machine state:

* ``draft``: ``Core.start_flow`` for a new person, the draft that ``/report-abuse`` and a
  Teams "report abuse" store (one transaction);
* ``lookup``: looking for a person's open draft of the report and finding none (one read),
  all a command would need of the database were the draft stored only when its first page
  is answered: how much of the draft's cost that alternative design would save;
* ``press``: ``Core.press`` Acknowledge on a new report by the triage manager, with a
  delivery key, as a Slack press runs it after the ack (one transaction: the repeat check,
  the authorisation, the versioned update, the timeline, the card update and the
  reporter's notice queued, the reminders);
* ``delivery``: the delivery loop sending what those presses queued (each press's channel
  card update and reporter's notice) to the fake Slack, per message sent.

The bot is built as ``python -m bot serve`` builds it (:func:`bot.app.create_app`, from the
same environment, its start-up hooks run), on a fresh copy of the seeded press database,
but serves nothing: the parts are called directly, one at a time, and each figure is CPU
time (``time.process_time``) per operation over ``--count`` operations after a few
untimed ones. ``python -m bench.parts --cases FILE --count N`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web

from bench.config import SLACK_MANAGER
from bench.processes import child_environment, free_port
from bench.scenarios import Context, bot_environment, fresh_database, slack_cases, write_cases
from bot.actions import ActionName, ActionRef
from bot.app import CORE, DELIVERY, create_app
from bot.config import Settings
from bot.model import Actor, Platform

WARM_UP = 20


async def measure(cases: Sequence[str], count: int) -> dict[str, float]:
    """Time the parts, ``count`` operations each, after ``WARM_UP`` untimed ones."""
    app = create_app(Settings(), run_delivery=False)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        core, delivery = app[CORE], app[DELIVERY]
        manager = Actor(Platform.SLACK, SLACK_MANAGER, "Triage Manager")
        people = [Actor(Platform.SLACK, f"U0PART{n:06d}", "Staff") for n in range(len(cases))]
        strangers = [Actor(Platform.SLACK, f"U0LOOK{n:06d}", "Staff") for n in range(len(cases))]

        async def draft(n: int) -> None:
            await core.start_flow(actor=people[n], flow="abuse_report")

        async def lookup(n: int) -> None:
            if await core.flows.find_draft(actor=strangers[n], flow="abuse_report"):
                raise AssertionError(f"{strangers[n].user_id} has a draft")

        async def press(n: int) -> None:
            ref = ActionRef(ActionName.CASE_ACKNOWLEDGE, cases[n], 1)
            await core.press(actor=manager, ref=ref, delivery_key=f"bench-part-{n}")

        async def deliver_all() -> int:
            before = delivery.delivered
            while await delivery.run_once():
                pass
            return delivery.delivered - before

        figures = {
            "draft": await _per_operation(draft, count),
            "lookup": await _per_operation(lookup, count),
            "press": await _per_operation(press, count),
        }
        started = time.process_time()
        sent = await deliver_all()
        spent = time.process_time() - started
        figures["delivery"] = round(spent * 1000 / sent, 3) if sent else float("nan")
        figures["delivered"] = sent
        return figures
    finally:
        await runner.cleanup()


async def _per_operation(operation: Callable[[int], Awaitable[None]], count: int) -> float:
    """CPU ms per call of ``operation(n)``: ``WARM_UP`` calls untimed, then ``count`` timed."""
    for n in range(WARM_UP):
        await operation(n)
    started = time.process_time()
    for n in range(WARM_UP, WARM_UP + count):
        await operation(n)
    return round((time.process_time() - started) * 1000 / count, 3)


def run_parts(context: Context) -> dict[str, float]:
    """Time the parts in a fresh process on a fresh copy of the press database (the parent's
    side of ``python -m bench.parts``); the fakes must be running."""
    home = context.work / "parts"
    database = fresh_database(context, home, Platform.SLACK)
    count = context.config.part_operations
    cases = write_cases(home / "cases.txt", slack_cases(context)[: WARM_UP + count])
    env = bot_environment(context, database, free_port(), home / "files")
    arguments = ["-m", "bench.parts", "--cases", str(cases), "--count", str(count)]
    done = subprocess.run(
        [sys.executable, *arguments],
        cwd=home,
        env=child_environment(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.parts failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parts", description=__doc__)
    parser.add_argument("--cases", type=Path, required=True, help="seeded new reports, a line each")
    parser.add_argument("--count", type=int, required=True, help="operations timed per part")
    options = parser.parse_args(argv)
    cases = options.cases.read_text("ascii").split()
    if len(cases) < WARM_UP + options.count:
        print(f"need {WARM_UP + options.count} cases, got {len(cases)}", file=sys.stderr)
        return 2
    print(json.dumps(asyncio.run(measure(cases, options.count))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
