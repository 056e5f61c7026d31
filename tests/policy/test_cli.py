"""``check_pack`` exit codes and output, on real files."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from bot.policy import check_pack
from tests.policy.conftest import DEFAULT_PACK, NORTHSHIRE_PACK, line_of, replace_once


def run(path: Path | str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = check_pack(str(path), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_good_packs_pass() -> None:
    code, out, err = run(DEFAULT_PACK)
    assert code == 0
    assert out.startswith("OK: NICE and NHS Education for Scotland, 11 roles, ")
    assert "12 business case questions" in out
    assert err == ""
    code, out, _ = run(NORTHSHIRE_PACK)
    assert code == 0
    assert out.startswith("OK: Northshire Health Board, ")


def test_bad_pack_prints_every_problem(
    default_text: str, write_pack: Callable[[str], Path]
) -> None:
    text = replace_once(default_text, "    notify: [press_office,", "    notify: [pr_office,")
    text = replace_once(text, "    copies: [corporate_communications]", "    copies: [comms]")
    path = write_pack(text)
    code, out, err = run(path)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith(
        f"{path}:{line_of(text, 'notify:')}: routing.abuse_report.notify[0]:"
    )
    assert lines[1].startswith(
        f"{path}:{line_of(text, 'copies:')}: routing.business_case.copies[0]:"
    )
    assert lines[-1] == f"{path}: 2 problems"


def test_missing_file_fails(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "nope.yaml")
    assert code == 1
    assert "cannot read the pack" in err
