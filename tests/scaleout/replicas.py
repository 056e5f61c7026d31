"""Replicas of the bot as an operator runs them: ``python -m bot serve`` processes, one port each,
all on one PostgreSQL database, all pointed at one fake Slack Web API.

Nothing is shared between replicas but the database and the evidence file store, exactly as
behind a load balancer. Each replica's output goes to a log file, shown when a test fails.
The policy pack is the built-in one with the test's people added to its roles, written to a
file and named by ``BOT_POLICY_PACK``, as an operator would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from bot.policy.loader import parse_pack
from tests.e2e.test_serve import PLATFORM_VARIABLES, ROOT, free_port
from tests.support.bot_fixtures import Wire
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.slack_signing import SIGNING_SECRET

READY_WITHIN = 90.0  # seconds; two cold starts share two busy cores with the rest of the suite


def write_pack(path: Path, **members: Sequence[str]) -> Path:
    """The built-in pack with ``members`` in the named roles (``triage_manager=["slack:U1"]``).

    The YAML is edited as text, not loaded and dumped, so every other line stays as the
    seeds wrote it; the result is validated before any replica reads it.
    """
    text = resources.files("bot.policy").joinpath("packs", "default.yaml").read_text("utf-8")
    for role, identities in members.items():
        pattern = re.compile(rf"(\n  {role}:\n    label: [^\n]*\n    members: )\[\]")
        listed = json.dumps(list(identities))
        text, found = pattern.subn(lambda m, listed=listed: m.group(1) + listed, text)
        assert found == 1, f"no empty role {role!r} in the default pack"
    parse_pack(text, str(path))
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Replica(Wire):
    """One running ``serve`` process and a client session to talk to it over HTTP."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    log_path: Path
    session: aiohttp.ClientSession

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def metric(self, name: str) -> float:
        """One unlabelled value from this replica's ``GET /metrics``."""
        async with self.session.get(self.url("/metrics")) as response:
            page = await response.text()
        for line in page.splitlines():
            if line.startswith(f"{name} "):
                return float(line.split()[1])
        raise AssertionError(f"{self.name} exposes no metric {name!r}")

    async def ready(self) -> bool:
        """``GET /readyz`` answered 200: serving, database reachable, migrations current."""
        try:
            async with self.session.get(self.url("/readyz")) as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def errors(self) -> list[str]:
        """Lines of the log that report an error or an exception."""
        return [
            line
            for line in self.log().splitlines()
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
        ]


def replica_environment(
    database_url: str, fake_slack: FakeSlack, pack: Path, files: Path, port: int
) -> dict[str, str]:
    """The variables an operator sets on every replica (only ``PORT`` differs)."""
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARIABLES}
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        TEAMS_APP_ID="",
        BOT_POLICY_PACK=str(pack),
        BOT_FILE_STORE=str(files),
        PORT=str(port),
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(ROOT),
    )
    return env


async def _spawn(name: str, env: dict[str, str], workdir: Path, log: TextIO) -> Any:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "serve",
        cwd=workdir,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _wait_ready(replicas: Sequence[Replica]) -> None:
    deadline = time.monotonic() + READY_WITHIN
    waiting = list(replicas)
    while waiting:
        for replica in list(waiting):
            if replica.process.returncode is not None:
                raise AssertionError(f"{replica.name} exited:\n{replica.log()}")
            if await replica.ready():
                waiting.remove(replica)
        if waiting and time.monotonic() > deadline:
            logs = "\n".join(f"--- {r.name}\n{r.log()}" for r in waiting)
            raise AssertionError(f"not ready within {READY_WITHIN} s:\n{logs}")
        await asyncio.sleep(0.1)


async def _stop(replica: Replica) -> None:
    """SIGTERM (aiohttp shuts down gracefully: loops finish their pass), then SIGKILL."""
    if replica.process.returncode is None:
        replica.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(replica.process.wait(), timeout=20)
        except TimeoutError:
            replica.process.kill()
            await replica.process.wait()


@contextlib.asynccontextmanager
async def running_replicas(
    count: int, *, database_url: str, fake_slack: FakeSlack, pack: Path, workdir: Path
) -> AsyncIterator[list[Replica]]:
    """Start ``count`` replicas at the same moment (migrations included) and wait until each
    answers ``/readyz``; stop them all afterwards."""
    files = workdir / "files"  # shared storage, as a network volume would be
    replicas: list[Replica] = []
    logs: list[TextIO] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        try:
            for number in range(1, count + 1):
                name, port = f"replica-{number}", free_port()
                home = workdir / name
                home.mkdir(parents=True, exist_ok=True)
                log = (home / "serve.log").open("w")
                logs.append(log)
                env = replica_environment(database_url, fake_slack, pack, files, port)
                process = await _spawn(name, env, home, log)
                replicas.append(Replica(name, port, process, home / "serve.log", session))
            await _wait_ready(replicas)
            yield replicas
        finally:
            await asyncio.gather(*(_stop(replica) for replica in replicas))
            for log in logs:
                log.close()
