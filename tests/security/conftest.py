"""The security suites' figures: counted while the tests run, printed at the end of the run.

``figures("fuzz slack abuse_report", examples=50, rejected=31, ...)`` adds to that suite's
totals; the terminal summary prints one line per suite, so ``make test`` shows them without
``-s`` (and ``-s`` shows each test's own line as it runs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

_FIGURES = pytest.StashKey[dict[str, Counter[str]]]()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Add counts to a suite's totals: ``figures(suite, examples=1, status_5xx=0)``."""

    def add(suite: str, **counts: int) -> None:
        totals = request.config.stash.setdefault(_FIGURES, {})
        totals.setdefault(suite, Counter()).update(counts)

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line of figures per security suite that ran."""
    totals = terminalreporter.config.stash.get(_FIGURES, {})
    if not totals:
        return
    terminalreporter.section("security figures (authorisation matrix, tokens, fuzzing)")
    for suite, counts in sorted(totals.items()):
        line = ", ".join(f"{key}={value}" for key, value in counts.items())
        terminalreporter.write_line(f"{suite}: {line}")
