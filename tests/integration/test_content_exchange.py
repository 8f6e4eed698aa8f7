"""The gettext exchange of the content workspace (issue 24), through the admin CLI's `content`
commands on real Redis: a translator's .po round trip makes drafts and publishes nothing,
entries the workspace cannot take are named with their id, `content status` agrees with the
workspace, and the exported files are ones a translator's tools and a developer can use.
"""

from __future__ import annotations

import argparse
import gettext
import io
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from redis.asyncio import Redis

from bot.coach.audit import AuditAction, AuditLog
from bot.core.keys import CONTENT_PUBLISHED
from bot.core.workspace.exchange import PLURAL_REJECTED, export_po, shipped_plurals
from bot.runtime import content_cli
from bot.runtime.wiring import Services, build_services
from tests.conftest import make_settings


@pytest.fixture
async def services(prefix: str, redis: Redis) -> AsyncIterator[Services]:
    built = await build_services(make_settings(prefix))
    yield built
    await built.close()


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    content_cli.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["content", *argv])


async def cli(services: Services, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Standard output of one `content` command (it must succeed)."""
    capsys.readouterr()
    await content_cli.run(services, parse(*argv))
    return capsys.readouterr().out


async def failing_cli(services: Services, capsys: pytest.CaptureFixture[str],
                      *argv: str) -> tuple[str, str]:
    """(standard output, the exit message) of a command that must exit with status 1."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        await content_cli.run(services, parse(*argv))
    message = exited.value.code
    assert isinstance(message, str) and message.startswith("error: "), message  # status 1
    return capsys.readouterr().out, message


def status_table(output: str) -> dict[str, list[str]]:
    """language -> its row's cells after the language, from `content status` (the table
    ends at the first blank line; notes follow)."""
    table = output.split("\n\n", 1)[0].splitlines()
    header = table[0].split()
    assert header[:5] == ["language", "missing", "draft", "reviewed", "stale"], header
    assert header[5].startswith("lix>") and header[6] == "pending", header
    rows = [line.split() for line in table[1:]]
    assert all(len(cells) == len(header) for cells in rows), table
    return {cells[0]: cells[1:] for cells in rows}


def entries(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def plain(catalog: Catalog, count: int, placeholders: bool = False) -> list[Message]:
    """`count` singular entries of one id each, short enough for every channel, with or
    without `{placeholders}`."""
    found = [m for m in entries(catalog) if not m.pluralizable and len(m.auto_comments) == 1
             and m.auto_comments[0].endswith("/text") and m.string and len(m.string) < 200
             and ("{" in m.id) == placeholders]
    assert len(found) >= count
    return found[:count]


async def export_catalog(services: Services, capsys: pytest.CaptureFixture[str],
                         path: Path, language: str = "so") -> Catalog:
    await cli(services, capsys, "export", "--lang", language, "--out", str(path))
    with path.open("rb") as handle:
        return read_po(handle)


def save(catalog: Catalog, path: Path) -> None:
    with path.open("wb") as handle:
        write_po(handle, catalog)


async def test_a_po_round_trip_makes_two_drafts_and_publishes_nothing(
        services: Services, redis: Redis, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    before = status_table(await cli(services, capsys, "status"))
    path = tmp_path / "so.po"
    catalog = await export_catalog(services, capsys, path)
    assert catalog.locale_identifier == "so"
    assert all(m.fuzzy for m in entries(catalog))  # the shipped Somali is not reviewed
    kept_fuzzy, marked_done = plain(catalog, 2)
    kept_fuzzy.string = f"{kept_fuzzy.string} (sax)"
    marked_done.string = f"{marked_done.string} (la hubiyay)"
    marked_done.flags.discard("fuzzy")  # the translator marked it done: still only a draft
    save(catalog, path)

    out = await cli(services, capsys, "import", str(path), "--author", "amina")

    drafts = await services.workspace.store.drafts()
    assert {(d.id, d.language, d.text, d.author, d.origin) for d in drafts} == {
        (kept_fuzzy.auto_comments[0], "so", kept_fuzzy.string, "amina", "import"),
        (marked_done.auto_comments[0], "so", marked_done.string, "amina", "import")}
    assert await redis.hlen(services.keys(CONTENT_PUBLISHED)) == 0
    assert "2 draft(s) created for so by amina" in out and "0 rejected" in out
    fuzzy_lines = [line for line in out.splitlines() if "(fuzzy in the file)" in line]
    assert len(fuzzy_lines) == 1 and kept_fuzzy.auto_comments[0] in fuzzy_lines[0]
    after = status_table(await cli(services, capsys, "status"))
    assert {lang: row[:-1] for lang, row in after.items()} == \
        {lang: row[:-1] for lang, row in before.items()}  # same counts: nothing is published
    assert after["so"][-1] == "2" and before["so"][-1] == "0"  # two drafts are pending

    again = await cli(services, capsys, "import", str(path), "--author", "amina")
    assert "0 draft(s) created" in again  # the same file twice makes no second drafts
    assert len(await services.workspace.store.drafts()) == 2

    audit = await AuditLog(redis=services.redis, keys=services.keys, keep_days=1).entries()
    done = [(e.coach, e.action, e.target) for e in reversed(audit)]
    assert done == [("cli", AuditAction.CONTENT_EXPORT, "so"),
                    ("amina", AuditAction.CONTENT_IMPORT, "so"),
                    ("amina", AuditAction.CONTENT_IMPORT, "so")]
    assert not any(kept_fuzzy.string in str(e) for e in audit)  # never the text


async def test_entries_the_workspace_cannot_take_are_named_with_their_id(
        services: Services, redis: Redis, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    path = tmp_path / "so.po"
    catalog = await export_catalog(services, capsys, path)
    [dropped] = plain(catalog, 1, placeholders=True)
    name = dropped.id[dropped.id.index("{"):dropped.id.index("}") + 1]
    dropped.string = dropped.string.replace(name, "")
    plural = next(m for m in entries(catalog) if m.pluralizable)
    plural.string = (plural.string[0], f"{plural.string[1]} (badal)")
    catalog.add("An English text Lotsen never says", "Qoraal", auto_comments=["no/such/text"])
    save(catalog, path)

    out, message = await failing_cli(services, capsys, "import", str(path))

    rejected = dict(line.split(": ", 1) for line in out.splitlines()[-3:])
    assert set(rejected) == {dropped.auto_comments[0], plural.auto_comments[0], "no/such/text"}
    assert "placeholders" in rejected[dropped.auto_comments[0]] and name in \
        rejected[dropped.auto_comments[0]]
    assert rejected[plural.auto_comments[0]] == f"{PLURAL_REJECTED} (line {plural.lineno})"
    assert "no text has this id" in rejected["no/such/text"]
    assert "3 entries" in message and str(path) in message
    assert await services.workspace.store.drafts() == []
    assert await redis.hlen(services.keys(CONTENT_PUBLISHED)) == 0


async def test_status_agrees_with_the_workspace_per_language(
        services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = services.workspace
    text_id = "answers/info_sfi/where/text"
    state = next(s for s in await workspace.states(["ar"]) if s.item.id == text_id)
    draft = await workspace.propose(text_id, "ar", f"{state.text} .", "amina")
    await workspace.approve(draft.draft, "another")
    sv = next(s for s in await workspace.states(["sv"]) if s.item.id == text_id)
    draft = await workspace.propose(text_id, "sv", f"{sv.text} .", "amina")
    await workspace.approve(draft.draft, "another")  # reviewed, then the English changes:
    source = workspace.inventory.items[text_id].msgid
    draft = await workspace.propose(text_id, "en", f"{source} .", "amina")
    await workspace.approve(draft.draft, "another")
    await workspace.propose(text_id, "so", "Qoraal cusub.", "amina")

    table = status_table(await cli(services, capsys, "status"))
    summary = await workspace.summary()

    assert set(table) == set(summary) == set(workspace.languages)
    for language, counts in summary.items():
        row = table[language]
        assert row[:4] == [str(counts[k]) for k in ("missing", "draft", "reviewed", "stale")]
        assert row[4] == (str(counts["over_threshold"]) if language == "sv" else "-")
    assert table["ar"][2:4] == ["0", "1"] and table["sv"][2:4] == ["0", "1"]  # stale
    assert table["en"][2] == "1" and table["so"][5] == "1" and table["ar"][5] == "0"


async def test_yaml_export_holds_the_published_text_and_po_marks_it_reviewed(
        services: Services, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    workspace = services.workspace
    text_id = "answers/info_sfi/where/text"
    earlier = tmp_path / "earlier.po"
    await export_catalog(services, capsys, earlier)
    draft = await workspace.propose(text_id, "so", "Qoraal la hubiyay oo cusub.", "amina")
    await workspace.approve(draft.draft, "another")

    published = yaml.safe_load(await cli(services, capsys, "export"))  # yaml by default
    entry = published["so"][text_id]
    assert entry["text"] == "Qoraal la hubiyay oo cusub."
    assert (entry["author"], entry["approved_by"], entry["version"]) == ("amina", "another", 1)
    assert entry["msgid"] == workspace.inventory.items[text_id].msgid
    assert list(published) == ["so"]

    catalog = await export_catalog(services, capsys, tmp_path / "so.po")
    [message] = [m for m in entries(catalog) if text_id in m.auto_comments]
    assert message.string == "Qoraal la hubiyay oo cusub." and not message.fuzzy
    assert sum(not m.fuzzy for m in entries(catalog)) == 1

    # A file exported before that publish would undo it with the old words: refused, named.
    out, _ = await failing_cli(services, capsys, "import", str(earlier))
    assert out.splitlines()[-1].startswith(f"{text_id}: this is version 0 of the text")
    assert await workspace.store.drafts() == []


async def test_a_broken_or_missing_file_exits_1_naming_it(
        services: Services, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.po"
    broken.write_text('msgid ""\nmsgstr "Language: so\\n"\n\nthis is not a po file\n')
    _, message = await failing_cli(services, capsys, "import", str(broken))
    assert f"{broken} line 4" in message

    missing = tmp_path / "missing.po"
    _, message = await failing_cli(services, capsys, "import", str(missing))
    assert str(missing) in message and "cannot read" in message

    nameless = tmp_path / "nameless.po"
    nameless.write_text('msgid "Hello"\nmsgstr "Salaan"\n')
    _, message = await failing_cli(services, capsys, "import", str(nameless))
    assert str(nameless) in message and "--lang" in message
    assert await services.workspace.store.drafts() == []


async def test_exported_po_files_compile(services: Services) -> None:
    """Every language's export compiles with babel (as Poedit does on save): the shipped
    texts come back out of the compiled catalog, plural forms included."""
    for language in services.workspace.languages[1:]:
        data = await export_po(services.workspace, language,
                               locales_dir=services.settings.locales_dir)
        catalog = read_po(io.BytesIO(data))
        assert catalog.locale_identifier == language
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=True)
        compiled.seek(0)
        translations = gettext.GNUTranslations(compiled)
        shipped = services.workspace.inventory.shipped[language]
        singular = next(m for m in entries(catalog) if not m.pluralizable and m.string)
        assert translations.gettext(singular.id) == shipped[singular.id]
        plural = next(m for m in entries(catalog) if m.pluralizable)
        assert plural.string == shipped_plurals(services.settings.locales_dir, language)[
            plural.id[0]]
        said = {translations.ngettext(plural.id[0], plural.id[1], n) for n in range(200)}
        assert said == set(plural.string) and len(plural.string) == catalog.num_plurals


async def test_exported_po_passes_msgfmt_check(services: Services, tmp_path: Path) -> None:
    msgfmt = shutil.which("msgfmt")  # `make test` installs Debian's gettext
    assert msgfmt is not None, "GNU gettext's msgfmt is missing: run `make gettext`"
    path = tmp_path / "ar.po"
    path.write_bytes(await export_po(services.workspace, "ar",
                                     locales_dir=services.settings.locales_dir))
    done = subprocess.run([msgfmt, "--check", "-o", str(tmp_path / "ar.mo"), str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


async def test_a_published_schedule_is_exported_as_the_file_to_commit_back(
        services: Services, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    facts = services.workspace.facts
    assert facts is not None
    shipped = (services.settings.config_dir / "dropin.yml").read_text(encoding="utf-8")
    assert await cli(services, capsys, "export", "--document", "dropin") == shipped
    edited = shipped.replace("horizon_days: 14", "horizon_days: 21")
    draft, _ = await facts.propose("dropin", edited, "amina")
    await facts.approve(draft, "bo")
    out = tmp_path / "dropin.yml"
    await cli(services, capsys, "export", "--document", "dropin", "--out", str(out))
    assert out.read_text(encoding="utf-8") == edited
