"""The benchmark suite's smoke run: every server starts, answers, and the results file holds
exactly the issue's keys, with numbers.

Speed is never asserted here (a test on a shared machine cannot time anything fairly); the
figures are printed for the eye. The full run is ``make bench``. Without ``wrk`` the run
falls back to its Python load driver, and the results' ``driver`` says so.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.bench.conftest import FIGURES

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "machine": str,
    "ratios": {
        "slash_vs_bolt",
        "press_vs_bolt",
        "teams_message_vs_cloudadapter",
        "teams_press_vs_cloudadapter",
    },
    "p99_ms": {"slash", "press"},
    "register": {"lookup_p99_ms", "export_seconds", "export_peak_mb"},
    "idle_rss_mb": float,
    "ready_seconds": float,
}
SERVERS = {
    "limit_aiohttp",
    "bolt_command",
    "bolt_action",
    "cloudadapter_message",
    "cloudadapter_invoke",
    "floor_slash",
    "floor_press",
    "floor_teams_message",
    "stack_slash",
    "stack_press",
    "stack_teams_message",
    "stack_teams_press",
    "bot_slash",
    "bot_press",
    "bot_teams_message",
    "bot_teams_press",
}


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One smoke run of ``python -m bench``, written under a temporary directory."""
    base = tmp_path_factory.mktemp("bench")
    out = base / "results.json"
    command = [sys.executable, "-m", "bench", "--smoke", "--out", str(out)]
    command += ["--work", str(base / "work"), "--cache", str(base / "cache")]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr[-4000:]
    assert out.with_suffix(".md").read_text(encoding="utf-8").startswith("# Benchmark results")
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return document


@pytest.mark.bench
def test_the_results_have_exactly_the_required_keys_with_numbers(
    results: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    assert set(REQUIRED) <= set(results)
    assert isinstance(results["machine"], str) and results["machine"]
    for key in ("ratios", "p99_ms", "register"):
        assert set(results[key]) == REQUIRED[key], key
        assert all(is_number(v) for v in results[key].values()), results[key]
    assert is_number(results["idle_rss_mb"]) and is_number(results["ready_seconds"])
    assert "wrk" in results["driver"] or "python" in results["driver"]
    figures = request.config.stash.setdefault(FIGURES, [])
    figures.append(f"driver: {results['driver']}")
    for target in results["targets"]:
        figures.append(f"{target['what']}: {target['measured']} (target {target['target']})")


@pytest.mark.bench
def test_every_server_answered_every_request_with_a_2xx(
    results: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    servers = results["servers"]
    assert set(servers) == SERVERS
    for name, figures in servers.items():
        assert figures["answered"] > 0, name
        assert figures["non_2xx"] == 0, name
        assert figures["socket_errors"] == 0, name
    lines = request.config.stash.setdefault(FIGURES, [])
    lines += [f"{name}: {s['requests_per_s']} requests/s" for name, s in servers.items()]


@pytest.mark.bench
def test_the_bot_did_the_work_each_request_asked_for(results: dict[str, Any]) -> None:
    """Each request is a different person or report, so each one answered leaves a trace."""
    servers = results["servers"]
    slash, press = servers["bot_slash"], servers["bot_press"]
    message, teams_press = servers["bot_teams_message"], servers["bot_teams_press"]
    assert slash["seen"] >= 1 and slash["open_drafts"] >= slash["seen"], slash
    assert press["acknowledged"] > 1 and press["seen"] == press["acknowledged"], press
    assert message["open_drafts"] >= message["answered"], message
    assert teams_press["acknowledged"] >= teams_press["answered"], teams_press
    assert teams_press["delivered"] == teams_press["acknowledged"], teams_press


@pytest.mark.bench
def test_each_floor_did_the_work_each_request_asked_for(results: dict[str, Any]) -> None:
    """A floor is only a ceiling if it does the job: every answer leaves its call on a fake."""
    servers = results["servers"]
    slash, press = servers["floor_slash"], servers["floor_press"]
    message = servers["floor_teams_message"]
    # Requests still in flight when the load stops are done but not counted as answered.
    assert slash["seen"] >= slash["answered"] and slash["acked_never_seen"] == 0, slash
    assert press["acknowledged"] > 1 and press["seen"] == press["acknowledged"], press
    assert press["acknowledged"] >= min(press["answered"], results["run"]["requests_per_set"])
    assert press["outbox_pending"] == 0 and press["acked_never_seen"] == 0, press
    assert message["done"] >= message["answered"] and message["acked_never_seen"] == 0, message
    for floor in (slash, press, message):
        assert floor["errors_logged"] == 0, floor


@pytest.mark.bench
def test_the_ceilings_are_the_floors_ratios(
    results: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    ceilings, servers = results["ceilings"], results["servers"]
    assert set(ceilings) == {"slash_vs_bolt", "press_vs_bolt", "teams_message_vs_cloudadapter"}
    assert all(is_number(v) and v > 0 for v in ceilings.values()), ceilings
    slash = servers["floor_slash"]["seen_per_s"] / servers["bolt_command"]["requests_per_s"]
    assert ceilings["slash_vs_bolt"] == pytest.approx(slash, rel=0.01)
    lines = request.config.stash.setdefault(FIGURES, [])
    lines += [f"ceiling {key}: {value}" for key, value in ceilings.items()]


@pytest.mark.bench
def test_each_missed_target_is_explained_with_the_runs_own_figures(
    results: dict[str, Any],
) -> None:
    """The limits cite this run's CPU per request, not figures copied from an older run."""
    missed = {t["key"] for t in results["targets"] if not t["met"]}
    explained = set(results["limits"])
    assert explained <= missed
    for key, text in results["limits"].items():
        assert "{" not in text and "? ms" not in text, (key, text)  # every server was driven
    cpu = str(results["servers"]["bot_press"]["cpu_ms_each"])
    parts = results["parts"]
    assert all(is_number(parts[f"{name}_ms"]) for name in ("draft", "lookup", "press", "delivery"))
    assert all(p["delivered"] > 0 for p in parts["by_round"]), parts
    if "ratios.press_vs_bolt" in explained:
        assert f"spent {cpu} ms" in results["limits"]["ratios.press_vs_bolt"]
        assert (
            f"{parts['press_ms']} ms (parts.press_ms)" in results["limits"]["ratios.press_vs_bolt"]
        )


@pytest.mark.bench
def test_each_stack_floor_did_the_work_each_request_asked_for(
    results: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """A stack floor is only a ceiling if it does the job: a modal opened and a reply sent
    for every answer, every press recorded and its message sent, nothing logged."""
    servers = results["servers"]
    slash, press = servers["stack_slash"], servers["stack_press"]
    message, teams_press = servers["stack_teams_message"], servers["stack_teams_press"]
    assert slash["seen"] >= slash["answered"] > 0 and slash["acked_never_seen"] == 0, slash
    assert message["done"] >= message["answered"] > 0, message
    assert message["acked_never_seen"] == 0, message
    for presses in (press, teams_press):
        assert presses["acknowledged"] >= min(
            presses["answered"], results["run"]["requests_per_set"]
        ), presses
        assert presses["done"] == presses["acknowledged"] > 0, presses
        assert presses["outbox_pending"] == 0 and presses["acked_never_seen"] == 0, presses
    for floor in (slash, press, message, teams_press):
        assert floor["errors_logged"] == 0, floor
    stack = results["stack_ceilings"]
    assert set(stack) == set(REQUIRED["ratios"]), stack
    assert all(is_number(v) and v > 0 for v in stack.values()), stack
    seen = servers["stack_press"]["seen_per_s"] / servers["bolt_action"]["requests_per_s"]
    assert stack["press_vs_bolt"] == pytest.approx(seen, rel=0.01)
    lines = request.config.stash.setdefault(FIGURES, [])
    lines += [f"stack ceiling {key}: {value}" for key, value in stack.items()]
