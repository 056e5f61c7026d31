"""The results of a run in rounds: each ratio is the median of its rounds' ratios.

Built from made-up outcomes, so that the arithmetic is checked exactly (the smoke run
drives one round, where a median of one cannot show which figures were paired).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bench import report
from bench.config import RunConfig
from bench.driver import Load
from bench.register import Export, Lookup
from bench.scenarios import Outcome
from bench.suite import ORDER

LOOKUP = Lookup(p50_ms=1.0, p99_ms=2.0, max_ms=3.0, lookups=10, mean_earlier=0.5)
EXPORT = Export(seconds=10.0, peak_mb=90.0, rows=100, bytes=1000)


def outcome(name: str, throughput: float, p99_ms: float = 10.0) -> Outcome:
    """A server's run that answered ``throughput`` requests a second for one second."""
    load = Load(
        requests=int(throughput),
        seconds=1.0,
        non_2xx=0,
        socket_errors=0,
        p50_ms=p99_ms / 2,
        p99_ms=p99_ms,
        max_ms=p99_ms,
        started_at=0.0,
    )
    extra = {"cpu_ms_each": round(1000 / throughput, 2)}
    if name.startswith("bot_"):
        extra.update(idle_rss_mb=100.0, ready_seconds=1.0)
    return Outcome(name, f"{name} set up", load, extra=extra)


def runs_of(
    changed: dict[str, Sequence[float]], rounds: int = 3, p99s: Sequence[float] = (10, 30, 20)
) -> dict[str, list[Outcome]]:
    """Every server at 1,000/s in every round, except those in ``changed``."""
    return {
        name: [
            outcome(name, changed.get(name, [1000.0] * rounds)[i], p99_ms=p99s[i])
            for i in range(rounds)
        ]
        for name in ORDER
    }


def document(runs: dict[str, list[Outcome]]) -> dict:
    config = RunConfig(
        smoke=False,
        rounds=len(runs["bot_slash"]),
        duration=8,
        connections=32,
        requests_per_set=100,
        register_rows=100,
        lookups=10,
        driver="wrk",
    )
    return report.results(config, "wrk 4.1.0", runs, LOOKUP, EXPORT)


def test_a_ratio_is_the_median_of_each_rounds_ratio_not_of_each_servers_median() -> None:
    # Round ratios 0.1, 0.3, 0.4: median 0.3. The servers' median throughputs would say 0.2.
    runs = runs_of({"bot_slash": [100, 300, 200], "bolt_command": [1000, 1000, 500]})
    results = document(runs)
    assert results["rounds"]["ratios"]["slash_vs_bolt"] == [0.1, 0.3, 0.4]
    assert results["ratios"]["slash_vs_bolt"] == 0.3
    assert results["ratios"]["press_vs_bolt"] == 1.0


def test_one_slow_round_does_not_move_the_result() -> None:
    """The machine slowed for the peer's run of one round: that round's ratio is an outlier."""
    runs = runs_of({"bot_press": [500, 500, 500], "bolt_action": [1000, 1000, 250]})
    results = document(runs)
    assert results["rounds"]["ratios"]["press_vs_bolt"] == [0.5, 0.5, 2.0]
    assert results["ratios"]["press_vs_bolt"] == 0.5


def test_the_ceilings_are_medians_of_the_floors_rounds_too() -> None:
    runs = runs_of({"floor_slash": [900, 1100, 1000]})
    results = document(runs)
    assert results["rounds"]["ceilings"]["slash_vs_bolt"] == [0.9, 1.1, 1.0]
    assert results["ceilings"]["slash_vs_bolt"] == 1.0
    assert "teams_press_vs_cloudadapter" not in results["ceilings"]  # it has no floor


def test_a_servers_figures_are_its_median_rounds_with_every_rounds_throughput() -> None:
    runs = runs_of({"bot_press": [300, 100, 200]})
    press = document(runs)["servers"]["bot_press"]
    assert press["requests_per_s"] == 200.0
    assert press["cpu_ms_each"] == 5.0  # the 200/s round's own figure, not an average
    assert press["throughput_by_round"] == [300.0, 100.0, 200.0]


def test_the_p99s_are_the_median_of_the_rounds() -> None:
    results = document(runs_of({}, p99s=(10, 90, 20)))
    assert results["p99_ms"] == {"slash": 20.0, "press": 20.0}


def test_one_round_gives_that_rounds_figures() -> None:
    runs = runs_of({"bot_slash": [250]}, rounds=1, p99s=(40,))
    results = document(runs)
    assert results["ratios"]["slash_vs_bolt"] == 0.25
    assert results["p99_ms"]["slash"] == 40.0
    assert "throughput_by_round" not in results["servers"]["bot_slash"]


def test_the_markdown_shows_every_round_of_every_ratio() -> None:
    runs = runs_of({"bot_slash": [100, 300, 200], "bolt_command": [1000, 1000, 500]})
    text = report.markdown(document(runs))
    assert "8 s per server in each of 3 rounds" in text
    assert "| slash_vs_bolt | >= 0.8 | 0.3 | 0.1, 0.3, 0.4 | 1 |" in text
    assert "| teams_press_vs_cloudadapter | >= 10 | 1 | 1, 1, 1 |  |" in text


def test_every_server_has_its_place_in_a_round_next_to_its_peer() -> None:
    for server, peer in report.RATIOS.values():
        assert ORDER.index(server) == ORDER.index(peer) + 1, (server, peer)


@pytest.mark.parametrize("rounds", ["0", "-1"])
def test_fewer_than_one_round_is_refused(rounds: str) -> None:
    from bench.__main__ import main

    assert main(["--smoke", "--rounds", rounds, "--only", "limit_aiohttp"]) == 2
