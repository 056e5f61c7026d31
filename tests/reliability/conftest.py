"""The figures the reliability tests measure, shown at the end of every run.

``figures("title", {...})`` prints a line (seen with ``pytest -s``) and keeps it for the
terminal summary, so ``make test``'s output ends with what each attack measured: operations
attempted, faults injected, messages delivered, duplicates, lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

FIGURES = pytest.StashKey[list[str]]()

Figures = Callable[[str, Mapping[str, object]], None]


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    def record(title: str, values: Mapping[str, object]) -> None:
        line = f"{title}: " + ", ".join(f"{name} {value}" for name, value in values.items())
        print(line)
        request.config.stash.setdefault(FIGURES, []).append(line)

    return record


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
