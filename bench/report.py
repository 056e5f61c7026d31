"""``bench/results.json`` (the issue's fixed keys, then the raw figures) and ``results.md``.

The fixed keys let anyone compare runs; everything after them (the ceilings: the same
ratios for the floors, every server's requests per second and latencies, how each was set
up, the targets, and what limits a missed one) is there to explain them.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.config import RunConfig
from bench.register import Export, Lookup
from bench.scenarios import Outcome
from bench.targets import evaluate, limits

RATIOS = {
    "slash_vs_bolt": ("bot_slash", "bolt_command"),
    "press_vs_bolt": ("bot_press", "bolt_action"),
    "teams_message_vs_cloudadapter": ("bot_teams_message", "cloudadapter_message"),
    "teams_press_vs_cloudadapter": ("bot_teams_press", "cloudadapter_invoke"),
}
# The same ratios for the floors (bench/floors.py): the most any implementation reaches here.
CEILINGS = {
    "slash_vs_bolt": ("floor_slash", "bolt_command"),
    "press_vs_bolt": ("floor_press", "bolt_action"),
    "teams_message_vs_cloudadapter": ("floor_teams_message", "cloudadapter_message"),
}


def machine() -> str:
    """A one-line description of where the run happened."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def results(
    config: RunConfig,
    driver: str,
    outcomes: Mapping[str, Outcome],
    lookup: Lookup,
    exported: Export,
) -> dict[str, Any]:
    """The results document: the fixed keys first, then the figures behind them."""
    bots = [o for name, o in outcomes.items() if name.startswith("bot_")]
    document: dict[str, Any] = {
        "machine": machine(),
        "ratios": ratios(outcomes, RATIOS),
        "p99_ms": {
            "slash": round(outcomes["bot_slash"].load.p99_ms, 2),
            "press": round(outcomes["bot_press"].load.p99_ms, 2),
        },
        "register": {
            "lookup_p99_ms": round(lookup.p99_ms, 2),
            "export_seconds": round(exported.seconds, 2),
            "export_peak_mb": round(exported.peak_mb, 1),
        },
        "idle_rss_mb": round(max(o.extra["idle_rss_mb"] for o in bots), 1),
        "ready_seconds": round(statistics.median(o.extra["ready_seconds"] for o in bots), 3),
    }
    document["ceilings"] = ratios(outcomes, CEILINGS)
    document["driver"] = driver
    document["run"] = {
        "smoke": config.smoke,
        "seconds_per_server": config.duration,
        "connections": config.connections,
        "requests_per_set": config.requests_per_set,
        "register_reports": config.register_rows,
    }
    document["servers"] = {name: server_figures(o) for name, o in outcomes.items()}
    document["register_detail"] = {"lookup": asdict(lookup), "export": asdict(exported)}
    document["targets"] = evaluate(document)
    document["limits"] = limits(document)
    return document


def ratios(
    outcomes: Mapping[str, Outcome], pairs: Mapping[str, tuple[str, str]]
) -> dict[str, float]:
    """Each ``(server, peer)`` pair's throughput ratio, for the pairs that were both driven.

    Throughput is results seen per second where they come after the answer (Slack), else
    answers per second (:attr:`Outcome.throughput`).
    """
    return {
        key: round(outcomes[server].throughput / outcomes[peer].throughput, 3)
        for key, (server, peer) in pairs.items()
        if server in outcomes and peer in outcomes and outcomes[peer].throughput
    }


def server_figures(outcome: Outcome) -> dict[str, Any]:
    """One server's figures, rounded for reading."""
    load = outcome.load
    figures: dict[str, Any] = {
        "setup": outcome.setup,
        "requests_per_s": round(load.rps, 1),
        "answered": load.requests,
        "non_2xx": load.non_2xx,
        "socket_errors": load.socket_errors,
        "p50_ms": round(load.p50_ms, 2),
        "p99_ms": round(load.p99_ms, 2),
        "max_ms": round(load.max_ms, 2),
    }
    if outcome.completed is not None:
        figures["seen"] = outcome.completed
        figures["seen_per_s"] = round(outcome.completed_rps or 0.0, 1)
        figures["seen_drain_s"] = round(outcome.drain_seconds or 0.0, 2)
    figures.update(
        {k: round(v, 3) if isinstance(v, float) else v for k, v in outcome.extra.items()}
    )
    return figures


def write(document: Mapping[str, Any], json_path: Path, markdown_path: Path) -> None:
    """Write the JSON and the markdown."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown(document), encoding="utf-8")


def markdown(document: Mapping[str, Any]) -> str:
    """The results as markdown: targets, servers, set-ups, limits."""
    run = document["run"]
    smoke = " (a smoke run: not for comparing)" if run["smoke"] else ""
    lines = [
        "# Benchmark results",
        "",
        f"{document['machine']}. Load: {document['driver']}, {run['connections']} "
        f"connections, {run['seconds_per_server']} s per server{smoke}. Register: "
        f"{run['register_reports']:,} reports.",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for t in document["targets"]:
        met = "yes" if t["met"] else "**no**"
        lines.append(f"| {t['what']} | {t['target']} | {t['measured']:g} | {met} |")
    if document.get("ceilings"):
        lines += [
            "",
            "Ceilings: the same ratios for the floors, servers that do only the unavoidable "
            "work of each job (bench/floors.py), measured in the same run: an implementation "
            "that does the job can come near its floor's ratio on this machine, not above it.",
            "",
            "| ratio | goal | bot | floor (ceiling here) |",
            "|---|---|---|---|",
        ]
        goals = {t["key"]: t["target"] for t in document["targets"]}
        for key, ceiling in document["ceilings"].items():
            goal = goals.get(f"ratios.{key}", "")
            bot = document["ratios"].get(key, "")
            lines.append(f"| {key} | {goal} | {bot} | {ceiling:g} |")
    lines += [
        "",
        "| server | answered/s | seen/s | seen drain s | p50 ms | p99 ms | CPU ms each | "
        "non-2xx | acked, never seen | errors logged |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in document["servers"].items():
        cells = [s.get(k, "") for k in ("seen_per_s", "seen_drain_s")]
        cells += [s["p50_ms"], s["p99_ms"], s.get("cpu_ms_each", ""), s["non_2xx"]]
        cells += [s.get(k, "") for k in ("acked_never_seen", "errors_logged")]
        lines.append(f"| {name} | {s['requests_per_s']:,} | " + " | ".join(map(str, cells)) + " |")
    lines += ["", "How each server was set up:", ""]
    lines += [f"* **{name}**: {s['setup']}" for name, s in document["servers"].items()]
    if document["limits"]:
        lines += ["", "What limits the targets missed:", ""]
        lines += [f"* **{key}**: {why}" for key, why in document["limits"].items()]
    return "\n".join(lines) + "\n"
