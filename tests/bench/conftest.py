"""The smoke run's figures, shown at the end of every test run (``make test``'s output)."""

from __future__ import annotations

import pytest

FIGURES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("benchmark smoke run (seconds per server: not for comparing)")
        for line in lines:
            terminalreporter.write_line(line)
