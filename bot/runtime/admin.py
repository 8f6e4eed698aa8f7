"""Operator commands.

  python -m bot.admin teams                                   team ids, one a line
  python -m bot.admin add-coach USERNAME --team ID [--team ID] [--name "Full Name"]
      [--role coach|operator]   (operators also run campaigns; they may have no team)
      [--email ADDRESS]         (where "a lead is waiting" notifications go)
  python -m bot.admin coaches                                 every account: username, name,
                                                              teams, role, last login, disabled
  python -m bot.admin reset-password USERNAME                 (ends the coach's sessions)
  python -m bot.admin disable-coach USERNAME | enable-coach USERNAME
                                                              (disabling ends the sessions)
  python -m bot.admin remove-coach USERNAME                   (ends the coach's sessions)
      (passwords are read from standard input: one line, or asked twice on a terminal)
  python -m bot.admin dead-letters [list | retry ID | drop ID | retry-all | drop-all]
      outbox and reminder jobs that failed five times: listed without their content, kept
      LOTSEN_DEAD_LETTER_DAYS days
  python -m bot.admin subscribers import FILE.csv | stats
      import an opt-in list (columns channel,address,language,topics,districts,
      consent_source,consented_at; bad lines are named and skipped, exit status 1 if
      any), or count subscribers
  python -m bot.admin campaign create --name N --topic T [--district D] [--channel C]
      [--language L] --text sv=FILE_OR_TEXT [--text ar=...] [--send-at ISO] [--fallback sv]
  python -m bot.admin campaign send ID | status ID | cancel ID | list
  python -m bot.admin content status | export [--lang L] [--format po|yaml] [--out FILE]
      | import FILE.po [--lang L] [--author NAME]
      texts per language by status; a language as .po for translators (fuzzy = not reviewed)
      or the published overrides as YAML; a translator's .po back as drafts (never
      published; exit status 1 if any entry was rejected)
  python -m bot.admin report --month YYYY-MM --out DIR
      the committee's monthly report: DIR/lotsen-YYYY-MM.html and .pdf (counts under 5
      as "<5"); prints the paths and the key figures
  python -m bot.admin subject-access --channel CH --address ADDR --out FILE [--operator NAME]
      a copy of one person's data for a formal request, as the person gets it (JSON; FILE
      ending in .html: the readable page); recorded in the audit log; exit status 1 when
      nothing is kept (the empty copy is written), 2 for an unknown channel or address
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time

from redis.exceptions import ConnectionError as RedisConnectionError

from bot.coach.accounts import ROLES, AccountError, CoachAccounts, Role
from bot.config import ConfigError, Settings, hide_url_password
from bot.core.clock import system_clock
from bot.core.handover.teams import Teams
from bot.core.jobs import JobQueue
from bot.core.keys import Keys
from bot.core.redis_types import StrRedis
from bot.runtime import access_cli, content_cli, outreach_cli, report_cli


def read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            sys.exit("The passwords differ; nothing was saved.")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def coach_command(settings: Settings, teams: Teams, redis: StrRedis,
                        args: argparse.Namespace) -> None:
    accounts = CoachAccounts(redis=redis, keys=Keys(settings.key_prefix), clock=system_clock,
                             teams=teams)
    if args.command == "coaches":
        print("username\tname\tteams\trole\tlast login (UTC)\tdisabled")
        for coach in await accounts.all():
            login = time.strftime("%Y-%m-%d %H:%M", time.gmtime(coach.last_login)) \
                if coach.last_login else "never"
            print(f"{coach.username}\t{coach.name}\t{','.join(coach.teams) or '-'}\t"
                  f"{coach.role}\t{login}\t{'yes' if coach.disabled else 'no'}")
    elif args.command in ("disable-coach", "enable-coach"):
        coach = await accounts.set_disabled(args.username, args.command == "disable-coach")
        print(f"coach {coach.username} " + ("disabled; their sessions have ended"
                                            if coach.disabled else "enabled"))
    elif args.command == "add-coach":
        coach = await accounts.add(args.username, read_password(), args.team or [], args.name,
                                   args.role, args.email or "")
        print(f"{coach.role} {coach.username} saved for team(s) "
              f"{', '.join(coach.teams) or '(none)'}")
    elif args.command == "reset-password":
        coach = await accounts.set_password(args.username, read_password())
        print(f"password of {coach.username} changed; their sessions have ended")
    elif not await accounts.remove(args.username):
        sys.exit(f"error: no coach {args.username!r}")
    else:
        print(f"coach {args.username} removed; their sessions have ended")


async def dead_letters(settings: Settings, redis: StrRedis, args: argparse.Namespace) -> None:
    queue = JobQueue(redis=redis, keys=Keys(settings.key_prefix), clock=system_clock,
                     dead_letter_seconds=settings.dead_letter_days * 24 * 3600)
    action = args.action
    letters = await queue.dead_letters()
    if action == "list":
        if not letters:
            print("no dead letters")
        for letter in letters:
            died = time.strftime("%Y-%m-%d %H:%M", time.gmtime(letter.died))
            print(f"{letter.id}\t{letter.name}\t{letter.attempts} attempts\t{letter.error}\t"
                  f"died {died} UTC")
        return
    ids = [letter.id for letter in letters] if action.endswith("-all") else [args.id]
    if not action.endswith("-all") and not args.id:
        sys.exit(f"error: dead-letters {action} needs the job id (see dead-letters list)")
    handle = queue.retry_dead if action.startswith("retry") else queue.drop_dead
    done = [job_id for job_id in ids if await handle(job_id)]
    verb = "queued again" if action.startswith("retry") else "dropped"
    print(f"{len(done)} dead letter(s) {verb}")
    if not action.endswith("-all") and not done:
        sys.exit(f"error: no dead letter {args.id!r}")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("teams", help="print the team ids, one a line")
    add = commands.add_parser("add-coach", help="create or update a coach account")
    add.add_argument("username")
    add.add_argument("--team", action="append", help="team id (repeatable; a coach needs one)")
    add.add_argument("--name", help="the name shown to people (default: the username)")
    add.add_argument("--role", choices=ROLES, default=Role.COACH,
                     help="coach (default) or operator (also runs campaigns)")
    add.add_argument("--email", help="the address notifications go to (none by default)")
    commands.add_parser("coaches", help="list every account")
    for verb, what in (("disable", "refuse logins and end sessions"), ("enable", "allow again")):
        toggle = commands.add_parser(f"{verb}-coach", help=what)
        toggle.add_argument("username")
    reset = commands.add_parser("reset-password", help="set a new password (ends sessions)")
    reset.add_argument("username")
    remove = commands.add_parser("remove-coach", help="delete an account (ends sessions)")
    remove.add_argument("username")
    dead = commands.add_parser("dead-letters", help="list, retry or drop failed jobs")
    dead.add_argument("action", nargs="?", default="list",
                      choices=["list", "retry", "drop", "retry-all", "drop-all"])
    dead.add_argument("id", nargs="?", help="the job id, for retry and drop")
    outreach_cli.add_commands(commands)
    content_cli.add_commands(commands)
    report_cli.add_commands(commands)
    access_cli.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    from bot.runtime.wiring import build_services, redis_client

    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        teams = Teams.load(settings.config_dir / "teams.yml")
        if args.command == "teams":
            print("\n".join(teams.teams))
            return

        async def run() -> None:
            if args.command in ("subscribers", "campaign", "content", access_cli.COMMAND):
                services = await build_services(settings)
                try:
                    if args.command == access_cli.COMMAND:
                        status = await access_cli.run(services, args)
                        if status:
                            sys.exit(status)
                    elif args.command == "content":
                        await content_cli.run(services, args)
                    else:
                        await outreach_cli.run(services, args)
                finally:
                    await services.close()
                return
            redis = redis_client(settings)
            try:
                if args.command == "dead-letters":
                    await dead_letters(settings, redis, args)
                elif args.command == "report":
                    await report_cli.run(settings, redis, args)
                else:
                    await coach_command(settings, teams, redis, args)
            finally:
                await redis.aclose()

        asyncio.run(run())
    except (ConfigError, AccountError) as exc:
        sys.exit(f"error: {exc}")
    except RedisConnectionError as exc:
        sys.exit(f"error: cannot reach Redis at {hide_url_password(settings.redis_url)} ({exc})")
