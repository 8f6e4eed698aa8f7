"""`python -m bot.admin subject-access --channel CH --address ADDR --out FILE`: a copy of one
person's data for a formal request (GDPR art. 15), the same copy the person gets in the chat.

FILE gets the JSON (bot/core/access/render.py), or the readable page when its name ends in
`.html`. The address is the person's id on the channel: a phone number (SMS, WhatsApp: any
common form, made canonical as a subscriber import makes it), a Telegram chat id, a web chat
session id. The staff audit log records who made the copy (`--operator NAME`, else the
operating-system user) with the channel and a keyed hash of the conversation only, never the
address.

When nothing is kept about the address, the empty copy is written all the same (it is the
answer to the request: nothing is held) and the command says so and exits with status 1, so a
script notices a mistyped address; an unknown channel or a malformed address exits with status 2
before anything is written or recorded.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.coach.audit import AuditAction, AuditLog
from bot.core.access.flow import access_of
from bot.core.access.render import html_page, json_bytes
from bot.core.hashing import KeyedHash

if TYPE_CHECKING:  # the wiring is imported when a command runs (bot/runtime/admin.py)
    from bot.runtime.wiring import Services

COMMAND = "subject-access"
DIGEST_CHARS = 16  # of the keyed hash in the audit entry: enough to match two entries


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `subject-access` command, on the admin CLI's subparsers."""
    access = commands.add_parser(COMMAND, help="a copy of one person's data (JSON, or HTML "
                                               "when FILE ends in .html)")
    access.add_argument("--channel", required=True,
                        help="webchat, telegram, whatsapp, sms or terminal")
    access.add_argument("--address", required=True,
                        help="the person's id there: phone number, chat id or session id")
    access.add_argument("--out", required=True, type=Path, metavar="FILE",
                        help="where to write the copy (.html: the readable page)")
    access.add_argument("--operator", help="who makes the copy, for the audit log "
                                           "(default: the operating-system user)")


def operator_name(given: str | None) -> str:
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return "unknown"


async def run(services: Services, args: argparse.Namespace) -> int:
    """Write the copy and record it; returns the exit status (see the module)."""
    channel, raw = str(args.channel), str(args.address).strip()
    known = sorted(services.channels.channels)
    if channel not in known:
        print(f"error: unknown channel {channel!r}; one of {', '.join(known)}", file=sys.stderr)
        return 2
    reach = services.reaches.get(channel)
    try:
        address = reach.address(raw) if reach is not None else raw
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not address:
        print("error: --address is empty", file=sys.stderr)
        return 2
    access = access_of(services.engine.flows)
    assert access is not None, "the data_access flow is not wired"
    conversation = f"{channel}:{address}"
    data = await access.collect(conversation)
    out: Path = args.out
    body = html_page(data, services.content).encode() if out.suffix.lower() == ".html" \
        else json_bytes(data)
    try:
        out.write_bytes(body)
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    settings = services.settings
    digest = await KeyedHash(redis=services.redis, keys=services.keys,
                             secret=settings.hash_secret).hexdigest(conversation)
    await AuditLog(redis=services.redis, keys=services.keys, keep_days=settings.audit_days,
                   clock=lambda: services.clock().timestamp()).record(
        operator_name(args.operator), AuditAction.SUBJECT_ACCESS,
        target=f"{channel}:{digest[:DIGEST_CHARS]}")
    if data.empty:
        print(f"nothing is kept about {channel} address {address}; wrote an empty copy to "
              f"{out}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{group} {len(section.items)}" for group, section in
                       data.sections.items() if section.items and group != "opt_out")
    print(f"wrote {out} ({counts}{', said STOP' if data.stopped else ''})")
    return 0
