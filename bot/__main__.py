"""Command line: ``python -m bot serve | db upgrade | check-pack | manifest | teams-package |
export``.

``serve`` applies migrations, says which platforms are on (and which variables would turn
the others on), and serves until stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return the exit code."""
    args = _parser().parse_args(argv)
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
    if args.command == "export":
        from bot.export.cli import export_case

        logging.getLogger().setLevel(logging.WARNING)  # the document is the output, not logs
        return asyncio.run(export_case(reference=args.reference, fmt=args.fmt, out=args.out))
    from bot.config import Settings

    settings = Settings()
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


def _serve(settings: object) -> int:
    from aiohttp import web

    from bot.app import create_app, load_policy
    from bot.config import Settings

    assert isinstance(settings, Settings)
    pack = load_policy(settings)  # fail fast, naming the line, on a broken pack
    asyncio.run(_upgrade(settings.database_url))
    for line in settings.platform_status():
        print(line, flush=True)
    print(f"Policy pack: {pack.organisation.name}", flush=True)
    web.run_app(
        create_app(settings, pack=pack),
        host="0.0.0.0",
        port=settings.port,
        print=lambda message: print(message, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
