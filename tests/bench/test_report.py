"""The results of a run in rounds: each ratio is the median of its rounds' ratios, and what
limits a missed target is told in that run's own figures.

Built from made-up outcomes, so that the arithmetic is checked exactly (the smoke run
drives one round, where a median of one cannot show which figures were paired).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from bench import report, targets
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


def seen(runs: dict[str, list[Outcome]], name: str, per_second: float) -> None:
    """Give a server's every round results seen after the answer, at ``per_second``."""
    for outcome in runs[name]:
        outcome.completed, outcome.completed_rps = int(per_second * 8), per_second


PARTS = [
    {"draft": 0.4, "lookup": 0.2, "press": 3.0, "delivery": 1.5, "delivered": 100},
    {"draft": 0.5, "lookup": 0.1, "press": 2.0, "delivery": 1.2, "delivered": 100},
    {"draft": 0.3, "lookup": 0.3, "press": 2.5, "delivery": 1.1, "delivered": 100},
]


def document(runs: dict[str, list[Outcome]], parts: Sequence[dict] = PARTS) -> dict:
    config = replace(RunConfig.full("wrk"), rounds=len(runs["bot_slash"]))
    return report.results(config, "wrk 4.1.0", runs, parts, LOOKUP, EXPORT)


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


def test_the_stack_ceilings_are_medians_of_the_stack_floors_rounds() -> None:
    runs = runs_of({"stack_teams_press": [9000, 12000, 11000]})
    results = document(runs)
    assert results["rounds"]["stack_ceilings"]["teams_press_vs_cloudadapter"] == [9, 12, 11]
    assert results["stack_ceilings"]["teams_press_vs_cloudadapter"] == 11
    assert set(results["stack_ceilings"]) == set(results["ratios"])


def test_the_limits_say_what_every_round_of_the_stack_floor_says_of_the_goal() -> None:
    """Under the goal in every round: out of reach on the stack. Over it in every round: the
    bot's own work. Either way in different rounds: not settled."""
    runs = runs_of(
        {
            "bot_slash": [200] * 3,
            "stack_slash": [500, 400, 600],
            "bot_teams_message": [2000] * 3,
            "stack_teams_message": [10000, 11000, 12000],
            "bot_teams_press": [2000] * 3,
            "stack_teams_press": [9000, 10000, 11000],
        }
    )
    limits = document(runs)["limits"]
    slash = limits["ratios.slash_vs_bolt"]
    assert "reached 0.5x in this run" in slash
    assert "under the goal of 0.8x in every round (the best 0.6x)" in slash
    message = limits["ratios.teams_message_vs_cloudadapter"]
    assert "reached 11x in this run" in message
    assert "at or over the goal of 10x in every round" in message
    press = limits["ratios.teams_press_vs_cloudadapter"]
    assert "under the goal of 10x in some rounds and not in others" in press


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
    assert "| slash_vs_bolt | >= 0.8 | 0.3 | 0.1, 0.3, 0.4 | 1 (1, 1, 2) | 1 |" in text
    assert "| teams_press_vs_cloudadapter | >= 10 | 1 | 1, 1, 1 | 1 (1, 1, 1) |  |" in text


def test_every_server_has_its_place_in_a_round_next_to_its_peer() -> None:
    for server, peer in report.RATIOS.values():
        assert ORDER.index(server) == ORDER.index(peer) + 1, (server, peer)


def test_the_parts_are_the_median_of_the_rounds() -> None:
    parts = document(runs_of({}))["parts"]
    assert (parts["draft_ms"], parts["press_ms"], parts["delivery_ms"]) == (0.4, 2.5, 1.2)
    assert parts["lookup_ms"] == 0.2
    assert parts["by_round"] == PARTS


def test_what_a_missed_target_needs_is_worked_out_from_the_same_run() -> None:
    """0.8x a peer at 1,000/s is 800/s, 1.25 ms each; a p99 twice the p50 under 50 ms
    needs a mean under 25 ms, so 32 in hand must finish at 1,280/s."""
    runs = runs_of({}, p99s=(20, 20, 20))
    for outcome in runs["bot_slash"]:
        outcome.load = replace(outcome.load, p50_ms=10.0)
    results = document(runs)
    needs = targets.needs(results)
    assert (needs["slash_rps"], needs["slash_ms"]) == ("about 800", "1.25")
    assert (needs["press_rps"], needs["press_ms"]) == ("about 500", "2.00")
    assert needs["slash_spread"] == "2.00"
    assert (needs["slash_p99_rps"], needs["slash_p99_ms"]) == ("1,280", "0.78")
    assert needs["teams_message_ms"] == "0.10"  # a tenth of the peer's 1 ms
    # The stack floors' 1 ms each (1,000/s in the made-up runs), plus the draft's 0.4 ms.
    assert needs["slash_with_draft_ms"] == needs["teams_message_with_draft_ms"] == "1.40"
    # The bot's 1 ms each, less the draft's 0.4 ms, plus the 0.2 ms lookup that replaces it.
    assert needs["slash_first_answer_ms"] == needs["teams_message_first_answer_ms"] == "0.80"


def test_the_p99_limits_give_the_mean_wait_at_the_stack_floors_rate() -> None:
    """32 in hand at 640 modals a second wait 50 ms on average (Little's law)."""
    runs = runs_of({}, p99s=(60, 60, 60))
    seen(runs, "stack_slash", 640.0)
    results = document(runs)
    needs = targets.needs(results)
    assert (needs["slash_stack_rate"], needs["slash_stack_mean_ms"]) == ("640", "50")
    assert "press_stack_rate" not in needs  # no seen/s measured for it here
    slash = results["limits"]["p99_ms.slash"]
    assert "opened 640 modals a second" in slash and "waited 50 ms on average" in slash


def test_the_limits_cite_the_runs_own_parts_and_needs() -> None:
    runs = runs_of({"bot_slash": [200] * 3, "bot_press": [100] * 3}, p99s=(60, 60, 60))
    seen(runs, "stack_slash", 600.0)
    seen(runs, "stack_press", 400.0)
    results = document(runs)
    limits = results["limits"]
    assert "ratios.slash_vs_bolt" in limits and "ratios.press_vs_bolt" in limits
    assert all("?" not in text and "{" not in text for text in limits.values()), limits
    assert "took 0.4 ms timed alone" in limits["ratios.slash_vs_bolt"]
    assert "at most 1.25 ms of CPU each" in limits["ratios.slash_vs_bolt"]
    assert "2.5 ms (parts.press_ms)" in limits["ratios.press_vs_bolt"]
    assert "1.2 ms a message" in limits["ratios.press_vs_bolt"]
    assert (
        "The press's transaction alone took 2.5 ms" in limits["ratios.teams_press_vs_cloudadapter"]
    )


def test_a_run_without_the_parts_says_so_rather_than_inventing_them() -> None:
    runs = runs_of({"bot_slash": [200] * 3})
    limits = document(runs, parts=[])["limits"]
    assert "took ? ms timed alone" in limits["ratios.slash_vs_bolt"]


@pytest.mark.parametrize("rounds", ["0", "-1"])
def test_fewer_than_one_round_is_refused(rounds: str) -> None:
    from bench.__main__ import main

    assert main(["--smoke", "--rounds", rounds, "--only", "limit_aiohttp"]) == 2
