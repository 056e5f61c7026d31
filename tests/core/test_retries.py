"""The delivery loop's waits between attempts: the platform's word, else doubling, jittered."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.retries import BASE_DELAY, MAX_DELAY, backoff


def test_retry_after_is_waited_out_exactly() -> None:
    assert backoff(7, retry_after=12) == 12.0
    assert backoff(1, retry_after=0.5) == 0.5
    assert backoff(3, retry_after=-4) == 0.0  # a negative header is no reason to wait


@given(st.integers(min_value=1, max_value=40))
def test_the_wait_doubles_within_its_jitter_up_to_the_ceiling(attempts: int) -> None:
    full = min(MAX_DELAY, BASE_DELAY * 2 ** (attempts - 1))
    wait = backoff(attempts)
    assert full / 2 <= wait <= full


def test_waits_are_spread_so_retries_do_not_arrive_together() -> None:
    waits = {backoff(4) for _ in range(50)}
    assert len(waits) > 40
    assert min(waits) >= 4.0 and max(waits) <= 8.0
