"""``check-pack``: validate a policy pack before deploying it.

An administrator edits a pack's YAML; this command says whether the bot will accept it, and if
not, lists every problem with its file, line and field, so a pack is never found broken at
start-up. The lead wires it to ``python -m bot check-pack FILE``.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.policy.loader import PackError, load_pack


def check_pack(path: str, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Validate the pack at ``path`` and report the result.

    Args:
        path: The pack's YAML file.
        out: Where the one-line summary of a good pack goes.
        err: Where the problems of a bad pack go, one per line.

    Returns:
        0 when the pack is valid, 1 when it is not (the process exit code).
    """
    try:
        pack = load_pack(path)
    except PackError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        count = len(exc.problems)
        print(f"{path}: {count} problem{'s' if count != 1 else ''}", file=err)
        return 1
    replies = sum(len(s.replies) for s in pack.replies.situations)
    print(
        f"OK: {pack.organisation.name}, {len(pack.roles)} roles, {len(pack.contacts)} contacts, "
        f"{len(pack.abuse_report.steps)} abuse report steps, "
        f"{len(pack.abuse_report.advice)} advice items, "
        f"{len(pack.business_case.questions)} business case questions, "
        f"{replies} ready-made replies",
        file=out,
    )
    return 0
