"""`python -m bot.admin content ...`: the content workspace from a terminal, and the gettext
exchange with translators (bot/core/workspace/exchange.py does the work).

  content status                show per language how many texts are missing, draft, reviewed
                                and stale, how many Swedish texts are over the LIX threshold,
                                and how many drafts wait for a second operator
  content export [--lang L] [--format po|yaml] [--out FILE]
                                write a language's texts as .po (the default with --lang other
                                than en; fuzzy = not reviewed) or the published overrides as
                                YAML (the default otherwise); to standard output unless --out
  content export --document dropin|locations|teams [--out FILE]
                                the drop-in schedule, the locations or the teams (opening hours,
                                closed dates) as they are published now: the YAML to commit
                                back as config/dropin.yml, config/locations.yml or
                                config/teams.yml
  content import FILE.po [--lang L] [--author NAME]
                                make drafts from a translator's .po (never published; a second
                                operator approves them); each rejected entry is named with its
                                id and why, and the exit status is 1 if any was rejected
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from bot.coach.audit import AuditAction, AuditLog
from bot.core.i18n import SOURCE_LANGUAGE
from bot.core.workspace.exchange import (
    ExchangeError,
    ImportReport,
    export_po,
    export_yaml,
    import_po,
)
from bot.core.workspace.facts import DOCUMENTS

if TYPE_CHECKING:  # the admin CLI builds services only for the commands that need them
    from bot.runtime.wiring import Services

CLI_COACH = "cli"  # who the audit log names for an export
COLUMNS = ("missing", "draft", "reviewed", "stale")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `content` command, on the admin CLI's subparsers."""
    content = commands.add_parser("content", help="texts per language: status, .po exchange")
    actions = content.add_subparsers(dest="action", required=True)
    actions.add_parser("status", help="how many texts of each status, per language")
    export = actions.add_parser("export", help="a language as .po, or the published as YAML")
    export.add_argument("--lang", help="the language (required for po)")
    export.add_argument("--format", choices=("po", "yaml"),
                        help="po (default with --lang other than en) or yaml")
    export.add_argument("--document", choices=DOCUMENTS,
                        help="the drop-in schedule, the locations or the teams as "
                             "published (YAML)")
    export.add_argument("--out", type=Path, help="write to this file (default: standard output)")
    imported = actions.add_parser("import", help="drafts from a translator's .po file")
    imported.add_argument("file", type=Path)
    imported.add_argument("--lang", help="the language (default: the file's Language: header)")
    imported.add_argument("--author", default="import",
                          help="the drafts' author (default: import); they cannot approve them")


async def run(services: Services, args: argparse.Namespace) -> None:
    """Run one content command; a refused request exits with status 1 and its reason."""
    try:
        if args.action == "status":
            await status(services)
        elif args.action == "export":
            if args.document:
                await export_document(services, args.document, args.out)
            else:
                await export(services, args.lang, args.format, args.out)
        else:
            report = await import_file(services, args.file, args.author, args.lang)
            if report.rejected:  # the report is printed; a script must still notice
                sys.exit(f"error: {_entries(len(report.rejected))} of {args.file} rejected "
                         "(named above)")
    except ExchangeError as exc:
        sys.exit(f"error: {exc.message}")


def _audit(services: Services) -> AuditLog:
    return AuditLog(redis=services.redis, keys=services.keys,
                    keep_days=services.settings.audit_days)


# ------------------------------------------------------------------ status
async def status(services: Services) -> None:
    workspace = services.workspace
    summary = await workspace.summary()
    pending = Counter(draft.language for draft in await workspace.store.drafts())
    lix = f"lix>{workspace.lix_threshold:g}"
    header = ["language", *COLUMNS, lix, "pending"]
    rows = [[language, *(str(counts[name]) for name in COLUMNS),
             str(counts["over_threshold"]) if language == "sv" else "-",
             str(pending[language])] for language, counts in summary.items()]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join([row[0].ljust(widths[0]),
                         *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:],
                                                                   strict=True))]).rstrip())
    print(f"\n{lix}: Swedish texts of 25 words or more over the LIX threshold "
          "(LOTSEN_CONTENT_LIX_THRESHOLD)\npending: drafts waiting for a second operator")


# ------------------------------------------------------------------ export
async def export(services: Services, language: str | None, form: str | None,
                 out: Path | None) -> None:
    workspace = services.workspace
    form = form or ("po" if language and language != SOURCE_LANGUAGE else "yaml")
    if form == "po" and not language:
        raise ExchangeError("--format po needs --lang (one .po file per language)")
    if form == "po":
        assert language is not None
        data = await export_po(workspace, language, locales_dir=services.settings.locales_dir)
        what = f"{language} .po"
    else:
        data = (await export_yaml(workspace, language)).encode()
        what = f"published overrides of {language or 'every language'} as YAML"
    _write(data, out)
    await _audit(services).record(CLI_COACH, AuditAction.CONTENT_EXPORT,
                                  target=language or "all")
    print(f"exported the {what} to {out or 'standard output'}", file=sys.stderr)


async def export_document(services: Services, document: str, out: Path | None) -> None:
    """A facts document as it is live now (published edits included), to commit back."""
    facts = services.workspace.facts
    if facts is None:
        raise ExchangeError("this process has no facts documents")
    current = (await facts.documents())[document]
    _write(str(current["yaml"]).encode(), out)
    await _audit(services).record(CLI_COACH, AuditAction.CONTENT_EXPORT,
                                  target=f"facts/{document}")
    print(f"exported {document} (version {current['version']}) to "
          f"{out or 'standard output'}", file=sys.stderr)


def _write(data: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise ExchangeError(f"cannot write {out}: {exc.strerror or exc}") from None


# ------------------------------------------------------------------ import
async def import_file(services: Services, path: Path, author: str,
                      language: str | None) -> ImportReport:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExchangeError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        report = await import_po(services.workspace, data, author, language,
                                 locales_dir=services.settings.locales_dir)
    except ExchangeError as exc:
        where = f"{path} line {exc.line}" if exc.line else str(path)
        raise ExchangeError(f"{where}: {exc.message}") from None
    await _audit(services).record(author, AuditAction.CONTENT_IMPORT, target=report.language)
    fuzzy = set(report.fuzzy)
    for draft in report.drafts:
        print(f"draft {draft.draft}\t{draft.id}" + ("\t(fuzzy in the file)"
                                                   if draft.id in fuzzy else ""))
    for text_id, others in report.shared:
        print(f"note: {text_id} is one message with {', '.join(others)}: they show it too")
    print(f"{len(report.drafts)} draft(s) created for {report.language} by {author} "
          f"(nothing is published until another operator approves them), "
          f"{_entries(report.skipped)} skipped "
          f"(unchanged, empty or already a draft), {len(report.rejected)} rejected"
          + (":" if report.rejected else ""))
    for text_id, why in report.rejected:
        print(f"{text_id}: {why}")
    return report


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"
