"""Operator commands.

  python -m bot.admin teams                                   team ids, one a line
  python -m bot.admin add-coach USERNAME --team ID [--team ID] [--name "Full Name"]
      (the password is read from standard input: one line, or asked twice on a terminal)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from redis.exceptions import ConnectionError as RedisConnectionError

from bot.coach.accounts import AccountError, CoachAccounts
from bot.config import ConfigError, Settings
from bot.core.handover.teams import Teams


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            sys.exit("The passwords differ; nothing was saved.")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def add_coach(settings: Settings, teams: Teams, args: argparse.Namespace) -> None:
    from bot.runtime.wiring import redis_client

    redis = redis_client(settings)
    try:
        coach = await CoachAccounts(redis, settings.key_prefix, teams).add(
            args.username, read_password(), args.team, args.name)
    finally:
        await redis.aclose()
    print(f"coach {coach.username} saved for team(s) {', '.join(coach.teams)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("teams", help="print the team ids, one a line")
    add = commands.add_parser("add-coach", help="create or update a coach account")
    add.add_argument("username")
    add.add_argument("--team", action="append", required=True, help="team id (repeatable)")
    add.add_argument("--name", help="the name shown to people (default: the username)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        teams = Teams.load(settings.config_dir / "teams.yml")
        if args.command == "teams":
            print("\n".join(teams.teams))
        else:
            asyncio.run(add_coach(settings, teams, args))
    except (ConfigError, AccountError) as exc:
        sys.exit(f"error: {exc}")
    except RedisConnectionError as exc:
        sys.exit(f"error: cannot reach Redis at {settings.redis_url} ({exc})")


if __name__ == "__main__":
    main()
