"""`python -m bot serve` runs the gateway, `python -m bot worker` the worker; channels may add
commands of their own (`python -m bot chat`: the terminal channel)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from aiohttp import web

from bot import logs
from bot.config import ConfigError, Settings

PROCESSES = {"serve": "run the gateway (HTTP: web chat, webhooks, coach panel)",
             "worker": "run the worker (senders, reminders, lead SLA monitor)"}


def main(argv: list[str] | None = None) -> None:
    from bot.runtime.channels import channel_commands

    commands = {**PROCESSES, **channel_commands()}
    parser = argparse.ArgumentParser(
        prog="python -m bot", formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(f"  {name:8} {text}" for name, text in commands.items()))
    parser.add_argument("command", choices=list(commands))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the command's own options")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
    # A channel's own command talks in this terminal: only errors on stderr, unless asked for.
    quiet = args.command not in PROCESSES and not os.environ.get("LOTSEN_LOG_LEVEL")
    logs.configure("ERROR" if quiet else settings.log_level)
    if args.command == "serve":
        import uvloop  # libuv's event loop: less CPU per request than asyncio's own

        from bot.runtime.gateway import create_app

        web.run_app(create_app(settings), host=settings.host, port=settings.port,
                    loop=uvloop.new_event_loop(),
                    print=lambda msg: print(f"gateway: listening on http://{settings.host}:"
                                            f"{settings.port}/", file=sys.stderr, flush=True),
                    access_log=None)
    elif args.command == "worker":
        from bot.runtime import worker

        worker.main(settings)
    else:
        from bot.runtime.commands import run_channel_command

        sys.exit(asyncio.run(run_channel_command(settings, args.command, args.args)))


if __name__ == "__main__":
    main()
