"""`python -m bot serve` runs the gateway; `python -m bot worker` runs the worker."""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from bot import logs
from bot.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot")
    parser.add_argument("command", choices=["serve", "worker"])
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
    logs.configure(settings.log_level)
    if args.command == "serve":
        from bot.app import create_app

        web.run_app(create_app(settings), host=settings.host, port=settings.port,
                    print=lambda msg: print(f"gateway: listening on http://{settings.host}:"
                                            f"{settings.port}/", file=sys.stderr, flush=True),
                    access_log=None)
    else:
        from bot import worker

        worker.main(settings)


if __name__ == "__main__":
    main()
