"""`python -m bot.admin subscribers ...` and `python -m bot.admin campaign ...`: the operator's
side of outreach. Campaign commands build the same request the API takes and call the same
`CampaignService`, so the checks and answers are the API's.

  subscribers import FILE.csv   import an opt-in list (bad lines are named and skipped, the
                                others imported; exit status 1 if any line was bad)
  subscribers stats             live subscribers by channel, language, topic and source
  campaign create --name N --topic T [--topic T2] [--district D] [--channel C]
           [--language L] --text sv=FILE_OR_TEXT [--text ar=...] [--send-at ISO] [--fallback sv]
  campaign send ID | status ID | cancel ID | list
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.outreach import importer
from bot.core.outreach.drafts import CampaignError
from bot.core.outreach.service import Conflict, NotFound
from bot.core.outreach.subscriptions import Subscription
from bot.runtime.campaigns_api import preview_json

if TYPE_CHECKING:  # the admin CLI builds services only for the commands that need them
    from bot.runtime.wiring import Services

Print = Callable[[str], None]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `subscribers` and `campaign` commands, on the admin CLI's subparsers."""
    subscribers = commands.add_parser("subscribers", help="import opt-in lists, count them")
    actions = subscribers.add_subparsers(dest="action", required=True)
    imported = actions.add_parser("import", help="import a CSV opt-in list")
    imported.add_argument("file", type=Path)
    actions.add_parser("stats", help="live subscribers by channel, language and topic")

    campaign = commands.add_parser("campaign", help="create, send and follow campaigns")
    actions = campaign.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a previewed draft (nothing is sent)")
    create.add_argument("--name", required=True)
    create.add_argument("--topic", action="append", required=True, help="topic id (repeatable)")
    for name in ("district", "channel", "language"):
        create.add_argument(f"--{name}", action="append", default=[],
                            help=f"only these {name}s (repeatable; default: any)")
    create.add_argument("--text", action="append", required=True, metavar="LANG=FILE_OR_TEXT",
                        help="the text in one language, or a file holding it (repeatable)")
    create.add_argument("--send-at", help="ISO 8601 time with a UTC offset (default: on send)")
    create.add_argument("--fallback", help="language whose text goes to the other languages")
    for name in ("send", "status", "cancel"):
        actions.add_parser(name).add_argument("id")
    actions.add_parser("list")


async def run(services: Services, args: argparse.Namespace, out: Print = print) -> None:
    """Run one command; a refused request exits with its reason (as the API's 4xx)."""
    try:
        if args.command == "subscribers" and args.action == "import":
            done = await import_file(services, args.file, out)
            if done.rejected:  # the summary is printed; a script must still notice
                sys.exit(f"error: {len(done.rejected)} bad line(s) not imported (named above)")
        elif args.command == "subscribers":
            await stats(services, out)
        else:
            await campaign_command(services, args, out)
    except (CampaignError, NotFound, Conflict, importer.ImportFileError) as exc:
        sys.exit(f"error: {exc}")


# ------------------------------------------------------------------ subscribers
async def import_file(services: Services, path: Path, out: Print = print) -> importer.Imported:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise importer.ImportFileError(f"cannot read {path}: {exc}") from None
    now = services.clock().timestamp()
    parsed = importer.parse(text, channels=importer.import_channels(services.reaches),
                            languages=services.languages.enabled,
                            districts=services.static.districts, now=now)
    done = await importer.apply(parsed, services.subscriptions, services.reaches, now)
    for problem in sorted([*parsed.problems, *done.kept], key=lambda p: p.number):
        out(str(problem))
    out(f"imported {done.saved + done.unchanged} line(s) ({done.saved} saved, "
        f"{done.unchanged} already up to date); skipped {len(done.rejected)} bad line(s) "
        f"and {len(done.kept)} on purpose")
    return done


async def stats(services: Services, out: Print = print) -> None:
    now = services.clock().timestamp()
    store = services.subscriptions
    found = await store.load(await store.conversations(now), now)
    out(f"subscribers: {len(found)}")
    for title, counted in subscriber_counts(found).items():
        out(f"by {title}: {_counts(counted)}")


def subscriber_counts(subscriptions: Iterable[Subscription]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {name: Counter() for name in
                                       ("channel", "language", "topic", "source")}
    for s in subscriptions:
        counts["channel"][s.channel] += 1
        counts["language"][s.language] += 1
        counts["topic"].update(s.topics)
        counts["source"][s.consent.source.split(":", 1)[0]] += 1
    return counts


def _counts(counted: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counted.items())) or "none"


def _text(value: object) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k} {_text(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "any"
    return "-" if value is None else str(value)


# ------------------------------------------------------------------ campaigns
def request_body(args: argparse.Namespace) -> dict[str, object]:
    """The API's request from the command's options (a text may be a file's content)."""
    texts: dict[str, str] = {}
    for given in args.text:
        language, sep, value = given.partition("=")
        if not sep or not language:
            raise CampaignError(f"--text {given!r}: write LANG=TEXT or LANG=FILE, e.g. sv=hej.txt")
        path = Path(value)
        texts[language] = path.read_text(encoding="utf-8") if path.is_file() else value
    body: dict[str, object] = {"name": args.name, "texts": texts, "audience": {
        "topics": args.topic, "districts": args.district, "channels": args.channel,
        "languages": args.language}}
    if args.send_at:
        body["send_at"] = args.send_at
    if args.fallback:
        body["fallback"] = args.fallback
    return body


async def campaign_command(services: Services, args: argparse.Namespace,
                           out: Print = print) -> None:
    campaigns = services.campaigns
    if args.action == "create":
        campaign = await campaigns.create(request_body(args))
        preview = preview_json(campaign)
        out(f"campaign {campaign.id} created as a draft; nothing is sent until "
            f"'campaign send {campaign.id}'")
        out(f"recipients: {preview['recipients']} ({_counts(preview['by_channel'])})")
        out(f"by language: {_counts(preview['by_language'])}")
        out(f"SMS segments: {preview['sms_segments']}")
        out(f"missing languages: {', '.join(preview['missing_languages']) or 'none'}")
        if preview["missing_templates"]:  # WhatsApp recipients whose language has none
            out(f"missing templates: {_text(preview['missing_templates'])}")
        out(f"skipped: {preview['skipped']} ({_counts(preview['skipped_reasons'])})")
    elif args.action == "send":
        campaign, scheduled = await campaigns.send(args.id)
        when = (await campaigns.status(campaign.id))["send_at"] or "now"
        out(f"campaign {campaign.id} scheduled to send at {when}" if scheduled else
            f"campaign {campaign.id} was already {campaign.status}; nothing changed")
    elif args.action == "cancel":
        campaign = await campaigns.cancel(args.id)
        out(f"campaign {campaign.id} cancelled; what had not been sent is stopped")
    elif args.action == "status":
        view = await campaigns.status(args.id)
        for name, value in view.items():
            if name != "by_channel":  # shown last, one line per channel
                out(f"{name}: {_text(value)}")
        for channel, counts in view["by_channel"].items():
            out(f"{channel}: {_text(counts)}")
    else:
        for view in await campaigns.list():
            out(f"{view['id']}\t{view['status']}\t{view['recipients']} recipients\t"
                f"{view['sent']} sent\t{view['name']}")
