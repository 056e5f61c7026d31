"""``bench/results.json`` (the issue's fixed keys, then the raw figures) and ``results.md``.

The fixed keys let anyone compare runs; everything after them (the ceilings: the same
ratios for the floors and for the stack floors; every server's requests per second and
latencies, how each was set up, the targets, and what limits a missed one) explains them.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Mapping, Sequence
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
# The bot's parts timed alone (bench.parts), in CPU ms per operation.
PARTS = ("draft", "lookup", "press", "delivery")
# The same ratios for the floors (bench/floors.py): the most any implementation reaches here.
CEILINGS = {
    "slash_vs_bolt": ("floor_slash", "bolt_command"),
    "press_vs_bolt": ("floor_press", "bolt_action"),
    "teams_message_vs_cloudadapter": ("floor_teams_message", "cloudadapter_message"),
}
# The same ratios for the stack floors (bench/stack_floors.py): the most an implementation
# on the bot's required libraries reaches here.
STACK_CEILINGS = {
    "slash_vs_bolt": ("stack_slash", "bolt_command"),
    "press_vs_bolt": ("stack_press", "bolt_action"),
    "teams_message_vs_cloudadapter": ("stack_teams_message", "cloudadapter_message"),
    "teams_press_vs_cloudadapter": ("stack_teams_press", "cloudadapter_invoke"),
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
    runs: Mapping[str, Sequence[Outcome]],
    parts: Sequence[Mapping[str, float]],
    lookup: Lookup,
    exported: Export,
) -> dict[str, Any]:
    """The results document: the fixed keys first, then the figures behind them.

    Args:
        runs: each server's outcomes, one a round, in the same round order for every server.
        parts: the bot's parts timed alone (:mod:`bench.parts`), one a round.
    """
    bots = [o for name, each in runs.items() if name.startswith("bot_") for o in each]
    by_round = {
        "ratios": round_ratios(runs, RATIOS),
        "ceilings": round_ratios(runs, CEILINGS),
        "stack_ceilings": round_ratios(runs, STACK_CEILINGS),
    }
    document: dict[str, Any] = {
        "machine": machine(),
        "ratios": medians(by_round["ratios"], 3),
        "p99_ms": {
            "slash": round(statistics.median(o.load.p99_ms for o in runs["bot_slash"]), 2),
            "press": round(statistics.median(o.load.p99_ms for o in runs["bot_press"]), 2),
        },
        "register": {
            "lookup_p99_ms": round(lookup.p99_ms, 2),
            "export_seconds": round(exported.seconds, 2),
            "export_peak_mb": round(exported.peak_mb, 1),
        },
        "idle_rss_mb": round(max(o.extra["idle_rss_mb"] for o in bots), 1),
        "ready_seconds": round(statistics.median(o.extra["ready_seconds"] for o in bots), 3),
    }
    document["ceilings"] = medians(by_round["ceilings"], 3)
    document["stack_ceilings"] = medians(by_round["stack_ceilings"], 3)
    document["rounds"] = by_round
    document["driver"] = driver
    document["run"] = {
        "smoke": config.smoke,
        "rounds": config.rounds,
        "seconds_per_server": config.duration,
        "connections": config.connections,
        "requests_per_set": config.requests_per_set,
        "register_reports": config.register_rows,
    }
    document["servers"] = {name: server_summary(each) for name, each in runs.items()}
    document["parts"] = parts_summary(parts)
    document["register_detail"] = {"lookup": asdict(lookup), "export": asdict(exported)}
    document["targets"] = evaluate(document)
    document["limits"] = limits(document)
    return document


def round_ratios(
    runs: Mapping[str, Sequence[Outcome]], pairs: Mapping[str, tuple[str, str]]
) -> dict[str, list[float]]:
    """Each ``(server, peer)`` pair's throughput ratio in each round, for pairs both driven.

    Throughput is results seen per second where they come after the answer (Slack), else
    answers per second (:attr:`Outcome.throughput`). A round's ratio compares the two
    servers' runs of that round, which ran one after the other (:data:`bench.suite.ORDER`).
    """
    found: dict[str, list[float]] = {}
    for key, (server, peer) in pairs.items():
        if server in runs and peer in runs:
            pairs_run = zip(runs[server], runs[peer], strict=True)
            found[key] = [
                round(ours.throughput / theirs.throughput, 3)
                for ours, theirs in pairs_run
                if theirs.throughput
            ]
    return {key: each for key, each in found.items() if each}


def medians(values: Mapping[str, Sequence[float]], digits: int) -> dict[str, float]:
    """The median of each list of figures."""
    return {key: round(statistics.median(each), digits) for key, each in values.items()}


def representative(runs: Sequence[Outcome]) -> Outcome:
    """The run whose throughput is the median of a server's rounds (the lower of two)."""
    ranked = sorted(runs, key=lambda outcome: outcome.throughput)
    return ranked[(len(ranked) - 1) // 2]


def server_summary(runs: Sequence[Outcome]) -> dict[str, Any]:
    """A server's figures: those of its median round, and its throughput in every round."""
    figures = server_figures(representative(runs))
    if len(runs) > 1:
        figures["throughput_by_round"] = [round(o.throughput, 1) for o in runs]
    return figures


def parts_summary(parts: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """The median of each part's CPU ms per operation over the rounds, and every round's."""
    if not parts:
        return {}
    summary: dict[str, Any] = {
        f"{name}_ms": round(statistics.median(p[name] for p in parts), 3) for name in PARTS
    }
    summary["by_round"] = [dict(p) for p in parts]
    return summary


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
        f"connections, {run['seconds_per_server']} s per server in each of {run['rounds']} "
        f"rounds{smoke}. Register: {run['register_reports']:,} reports.",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
    ]
    for t in document["targets"]:
        met = "yes" if t["met"] else "**no**"
        lines.append(f"| {t['what']} | {t['target']} | {t['measured']:g} | {met} |")
    lines += ratio_table(document)
    lines += parts_lines(document)
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
    if run["rounds"] > 1:
        lines += [
            "",
            "Each server's figures are from its median round (by throughput); its throughput "
            "in every round is under `throughput_by_round` in results.json. The p99s in the "
            "targets are the median of every round's p99.",
        ]
    lines += ["", "How each server was set up:", ""]
    lines += [f"* **{name}**: {s['setup']}" for name, s in document["servers"].items()]
    if document["limits"]:
        lines += ["", "What limits the targets missed:", ""]
        lines += [f"* **{key}**: {why}" for key, why in document["limits"].items()]
    return "\n".join(lines) + "\n"


def ratio_table(document: Mapping[str, Any]) -> list[str]:
    """Each ratio: the goal, the median of the rounds, every round, and its floor's ratio."""
    rounds = document["rounds"]
    lines = [
        "",
        "Ratios: each round drives a ratio's two servers one after the other; the result is "
        "the median of the rounds. Ceilings: the same ratios for the floors, servers that do "
        "only the unavoidable work of each job (bench/floors.py), in the same rounds: an "
        "implementation that does the job can come near its floor's ratio on this machine, "
        "not above it. Stack ceilings: the same for the stack floors, which do that same "
        "least work through the libraries the bot must use (slack-bolt, SQLAlchemy, "
        "slack-sdk, botbuilder; bench/stack_floors.py): an implementation on that stack can "
        "come near them, not above them.",
        "",
        "| ratio | goal | bot (median) | bot in each round | stack floor (in each round) "
        "| floor (ceiling here) |",
        "|---|---|---|---|---|---|",
    ]
    goals = {t["key"]: t["target"] for t in document["targets"]}
    for key, median in document["ratios"].items():
        each = ", ".join(f"{r:g}" for r in rounds["ratios"][key])
        stack = _median_and_rounds(document, "stack_ceilings", key)
        floor = _median_and_rounds(document, "ceilings", key, with_rounds=False)
        cells = f"{goals.get(f'ratios.{key}', '')} | {median:g} | {each} | {stack} | {floor}"
        lines.append(f"| {key} | {cells} |")
    return lines


def _median_and_rounds(
    document: Mapping[str, Any], kind: str, key: str, *, with_rounds: bool = True
) -> str:
    """A ceiling's median, and its every round's in brackets; blank when not measured."""
    median = document.get(kind, {}).get(key)
    if median is None:
        return ""
    each = document["rounds"].get(kind, {}).get(key, [])
    if not with_rounds or len(each) < 2:
        return f"{median:g}"
    return f"{median:g} ({', '.join(f'{r:g}' for r in each)})"


def parts_lines(document: Mapping[str, Any]) -> list[str]:
    """The bot's parts timed alone, as one sentence."""
    parts = document.get("parts")
    if not parts:
        return []
    rounds = len(parts["by_round"])
    return [
        "",
        f"The bot's parts timed alone in the same rounds (bench/parts.py; CPU ms each, the "
        f"median of {rounds}): the new draft's transaction {parts['draft_ms']:g}, looking "
        f"for an open draft and finding none {parts['lookup_ms']:g}, the press's "
        f"transaction {parts['press_ms']:g}, delivering one message {parts['delivery_ms']:g}.",
    ]
