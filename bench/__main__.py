"""``python -m bench [--smoke] [--rounds N] [--out FILE]``: run the suite and write the results.

The full run needs ``wrk`` (``make bench`` installs it from the system packages when it
may); the smoke run falls back to a small aiohttp client when ``wrk`` is missing, and the
results' ``driver`` says which drove the load.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from bench import report, suite
from bench.config import BENCH, CACHE, RunConfig
from bench.driver import WRK_THREADS, wrk_version


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="seconds, not minutes")
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH / "results.json",
        help="the results JSON; the markdown is written next to it (default: bench/)",
    )
    parser.add_argument("--work", type=Path, help="run directory (default: under the cache)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="seeded registers kept here")
    parser.add_argument(
        "--only",
        metavar="NAME,NAME",
        help="drive only these servers (e.g. bot_press) and print their figures, for "
        "profiling; writes no results file",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        metavar="N",
        help="drive each server N times (default: 3 for the full run, 1 for --smoke)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the suite; return the exit code."""
    options = _parser().parse_args(argv)
    version = wrk_version()
    if version is None and not options.smoke:
        print(
            "wrk is not installed: run `make bench` (installs it) or install it.", file=sys.stderr
        )
        return 2
    kind = "wrk" if version is not None else "python"
    config = RunConfig.quick(kind) if options.smoke else RunConfig.full(kind)
    if options.rounds is not None:
        if options.rounds < 1:
            print("--rounds must be at least 1", file=sys.stderr)
            return 2
        config = dataclasses.replace(config, rounds=options.rounds)
    driver = (
        f"{version} (-t{WRK_THREADS} -c{config.connections} -d{config.duration}s, bench/replay.lua)"
        if version is not None
        else "python aiohttp client (wrk is not installed; smoke run only)"
    )
    work = options.work or options.cache / ("smoke" if options.smoke else "run")
    if options.only:
        chosen = set(options.only.split(","))
        names = suite.SERVER_NAMES | {suite.PARTS}
        if chosen - names:
            print(
                f"No server called {', '.join(sorted(chosen - names))}; choose "
                f"from {', '.join(sorted(names))}",
                file=sys.stderr,
            )
            return 2
        runs = suite.drive_servers(config, work, chosen)
        figures: dict[str, object] = {
            name: report.server_summary(each) for name, each in runs.servers.items()
        }
        if runs.parts:
            figures[suite.PARTS] = report.parts_summary(runs.parts)
        print(json.dumps(figures, indent=2))
        return 0
    document = suite.run(config, driver, work, options.cache)
    markdown = options.out.with_suffix(".md")
    report.write(document, options.out, markdown)
    print(report.markdown(document))
    print(f"Wrote {options.out} and {markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
