"""Command line: ``python -m bot serve | db upgrade | check-pack | manifest | teams-package |
export | evidence-pack | report | keys | audit verify | hold | purge``.

``serve`` applies migrations, says which platforms are on (and which variables would turn
the others on), and serves until stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cases.lifecycle import AbuseState, BusinessCaseState
from bot.records import cli as records

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="apply migrations and serve Slack and Teams")
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="apply every migration")
    check = commands.add_parser("check-pack", help="validate a policy pack")
    check.add_argument("file", type=Path)
    manifest = commands.add_parser("manifest", help="print an app manifest")
    manifest.add_argument("platform", choices=["slack"])
    manifest.add_argument("--socket", action="store_true", help="the Socket Mode variant")
    manifest.add_argument("--url", help="public https base URL of this bot")
    package = commands.add_parser("teams-package", help="write the Teams app package zip")
    package.add_argument("--out", type=Path, default=Path("dist"))
    export = commands.add_parser("export", help="write one case whole, for records and FOI")
    what = export.add_subparsers(dest="what", required=True)
    case = what.add_parser("case", help="a business case or abuse report, by reference")
    case.add_argument("reference", help="the case's reference, e.g. SC-2026-0001")
    case.add_argument("--format", dest="fmt", required=True, choices=["html", "pdf", "json"])
    case.add_argument("--out", type=Path, help="the file to write (needed for pdf)")
    register = what.add_parser("register", help="every case, one row each (no personal data)")
    for flag, dest, words in (
        ("--from", "date_from", "on or after"),
        ("--to", "date_to", "on or before"),
    ):
        register.add_argument(
            flag, dest=dest, type=_day, metavar="YYYY-MM-DD", help=f"created {words}"
        )
    register.add_argument(
        "--state",
        dest="states",
        nargs="+",
        action="extend",
        choices=STATES,
        metavar="STATE",
        help=f"one or more of {', '.join(STATES)}",
    )
    register.add_argument("--kind", choices=["abuse_report", "business_case"])
    register.add_argument("--format", dest="fmt", required=True, choices=["csv", "json"])
    register.add_argument("--out", type=Path, help="the file to write (default: stdout)")
    pack = commands.add_parser(
        "evidence-pack",
        help="one case's evidence for the police, or check one",
        usage="python -m bot evidence-pack REF --out FILE.zip | evidence-pack verify FILE.zip",
    )
    pack.add_argument("target", metavar="REF|verify", help="a case's reference, or 'verify'")
    pack.add_argument("file", nargs="?", type=Path, metavar="FILE.zip", help="the zip to check")
    pack.add_argument("--out", type=Path, help="the zip to write")
    report = commands.add_parser("report", help="reports for the corporate office")
    report.add_argument("which", choices=["monthly"])
    report.add_argument(
        "--month", type=_month, metavar="YYYY-MM", help="the last of 12 months (default: this)"
    )
    report.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    keys = commands.add_parser("keys", help="the data key that encrypts report text at rest")
    keys.add_argument(
        "action",
        choices=["generate", "rotate", "status"],
        help="print a new key | reseal everything with the newest key | count values per key",
    )
    keys.add_argument("--batch-size", type=int, default=200, help="rows per transaction (rotate)")
    records.add_commands(commands)  # audit verify, hold, purge
    return parser


STATES = sorted({*AbuseState, *BusinessCaseState})


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def _month(text: str) -> tuple[int, int]:
    from bot.register.stats import parse_month

    try:
        return parse_month(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _evidence_pack(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``evidence-pack REF --out FILE`` or ``evidence-pack verify FILE``."""
    if args.target == "verify":
        if args.file is None or args.out is not None:
            parser.error("evidence-pack verify takes one zip file and no --out")
        from bot.register.verify import verify_command

        return verify_command(args.file)
    if args.out is None or args.file is not None:
        parser.error("evidence-pack REF needs --out FILE.zip (and nothing else)")
    from bot.register.evidence import evidence_pack

    logging.getLogger().setLevel(logging.WARNING)
    return asyncio.run(evidence_pack(reference=args.target.strip(), out=args.out))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "check-pack":
        from bot.policy import check_pack

        return check_pack(str(args.file))
    if args.command == "manifest":
        from bot.packaging import render_slack_manifest

        print(render_slack_manifest("socket" if args.socket else "http", args.url))
        return 0
    if args.command == "export" and args.what == "register":
        from bot.register.export import export_register

        logging.getLogger().setLevel(logging.WARNING)  # the rows are the output, not logs
        return asyncio.run(
            export_register(
                fmt=args.fmt,
                out=args.out,
                date_from=args.date_from,
                date_to=args.date_to,
                states=tuple(args.states or ()),
                kind=args.kind,
            )
        )
    if args.command == "export":
        from bot.export.cli import export_case

        logging.getLogger().setLevel(logging.WARNING)  # the document is the output, not logs
        return asyncio.run(export_case(reference=args.reference, fmt=args.fmt, out=args.out))
    if args.command == "evidence-pack":
        return _evidence_pack(parser, args)
    if args.command in records.COMMANDS:
        return records.run(args)
    if args.command == "report":
        from bot.register.monthly import monthly_report

        logging.getLogger().setLevel(logging.WARNING)
        return asyncio.run(monthly_report(month=args.month, out=args.out))
    from bot.config import Settings

    settings = Settings()
    if args.command == "keys":
        return _keys(settings, args.action, args.batch_size)
    if args.command == "teams-package":
        return _teams_package(settings, args.out)
    if args.command == "db":
        asyncio.run(_upgrade(settings.database_url))
        print("Database is up to date.")
        return 0
    return _serve(settings)


async def _upgrade(url: str) -> None:
    from bot.storage.migrate import upgrade

    await upgrade(url)


def _keys(settings: object, action: str, batch_size: int) -> int:
    from bot import keys
    from bot.config import Settings

    assert isinstance(settings, Settings)
    if action == "generate":
        return keys.generate()
    if action == "rotate":
        return asyncio.run(keys.rotate(settings, batch_size=max(1, batch_size)))
    return asyncio.run(keys.status(settings))


def _teams_package(settings: object, out: Path) -> int:
    from bot.packaging import build_teams_package

    app_id = getattr(settings, "teams_app_id", "")
    try:
        path = build_teams_package(app_id=app_id, out=out)
    except ValueError as error:
        print(f"Cannot build the Teams package: {error} (set TEAMS_APP_ID)", file=sys.stderr)
        return 1
    print(f"Wrote {path}")
    return 0


def _data_key_opens(settings: object) -> bool:
    """Say whether report text is encrypted at rest; False (after saying why) when
    ``BOT_DATA_KEY`` is malformed or cannot open what is stored."""
    from bot.config import Settings
    from bot.keys import check_data_key
    from bot.storage.crypto import BadDataKey, DataKeyError

    assert isinstance(settings, Settings)
    try:
        print(settings.encryption_status(), flush=True)
        asyncio.run(check_data_key(settings))
    except (BadDataKey, DataKeyError) as error:
        print(f"Cannot start: {error}", file=sys.stderr, flush=True)
        return False
    return True


# Each request: who, what, the status, the bytes and the seconds it took. The log line
# already starts with the time (basicConfig), so aiohttp's own date is left out, and the
# duration, which aiohttp's default leaves out, says which requests were slow.
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf'


def _serve(settings: object) -> int:
    from aiohttp import web

    from bot.app import create_app, load_policy
    from bot.config import Settings

    assert isinstance(settings, Settings)
    pack = load_policy(settings)  # fail fast, naming the line, on a broken pack
    asyncio.run(_upgrade(settings.database_url))
    for line in settings.platform_status():
        print(line, flush=True)
    if not _data_key_opens(settings):
        return 1
    print(f"Policy pack: {pack.organisation.name}", flush=True)
    app = create_app(settings, pack=pack)
    _keep_start_up_out_of_the_collector()
    web.run_app(
        app,
        host="0.0.0.0",
        port=settings.port,
        print=lambda message: print(message, flush=True),
        access_log_format=ACCESS_LOG_FORMAT,
    )
    return 0


def _keep_start_up_out_of_the_collector() -> None:
    """Stop the cyclic garbage collector walking what start-up built, on every full pass.

    The libraries, the pack and the app are about 150,000 tracked objects that live as
    long as the process. Each full collection walked them all: 65 to 135 ms with the event
    loop stopped, twice in eight seconds of a burst of presses, and every request in hand
    waited that long. Frozen (:func:`gc.freeze`), they are skipped, and a full pass walks
    only what requests made: 2 to 4 ms in the same burst. Collecting first means nothing
    already garbage is kept for good.
    """
    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
