"""docs/configuration.md and .env.example, written from `Settings` and its field metadata.

`make config-docs` (`python -m bot.config_docs`) writes both; `--check` only says which are
stale. tests/unit/test_config_docs.py fails when either differs from what this renders, so a
new setting cannot be added without its description reaching the docs.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any

from bot.config import ROOT, Group, Settings, Spec, env_name, spec_of

DOCS = ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = ROOT / ".env.example"
WIDTH = 100
NBSP = "\u00a0"  # holds a code span together while wrapping

INTRO = {
    Group.REDIS: "docs/scaling.md explains Sentinel and why not Redis Cluster.",
    Group.NLU: "docs/scaling.md explains replicas, the budget, shedding and the parse cache.",
    Group.LIMITS: "Shared by every gateway process (fixed windows in Redis). Over a limit the "
                  "web chat answers 429 with `Retry-After`; SMS and Telegram get one polite "
                  "reply per window and then silence.",
    Group.FILES: "Empty: the folder in the checkout shown as the default.",
}


class UndocumentedSetting(ValueError):
    """A `Settings` field was declared without `setting(...)` and its description."""


Entry = tuple[Field[Any], Spec]


def undocumented(settings: type[Settings] = Settings) -> list[str]:
    """The variables whose field has no description (declared without `setting(...)`)."""
    return [env_name(f.name) for f in fields(settings)
            if (spec := spec_of(f)) is None or not spec.doc.strip()]


def by_group(settings: type[Settings] = Settings) -> Iterator[tuple[Group, list[Entry]]]:
    missing = undocumented(settings)
    if missing:
        raise UndocumentedSetting(
            f"no description for {', '.join(missing)}: declare each field with "
            "setting(default, \"what it does\", group=...) in bot/config.py")
    entries = [(f, spec) for f in fields(settings) if (spec := spec_of(f)) is not None]
    for group in Group:
        members = [entry for entry in entries if entry[1].group is group]
        if members:
            yield group, members


def default_text(f: Field[Any]) -> str:
    """The default as an environment variable would spell it; folders relative to the checkout."""
    value = f.default
    if value is MISSING:
        raise UndocumentedSetting(f"{env_name(f.name)} has no default")
    if isinstance(value, Path):
        return value.relative_to(ROOT).as_posix() if value.is_relative_to(ROOT) else str(value)
    return str(value)


def allowed_text(f: Field[Any], spec: Spec) -> str:
    """What a value may be: its kind, range or choices."""
    if spec.choices:
        return spec.choices_text() + (", any case" if spec.ignore_case else "")
    kind = spec.form or {"int": "whole number", "float": "number", "bool": "true or false",
                         "Path": "folder"}.get(str(f.type), "text")
    bounds = spec.bounds()
    return f"{kind}, {bounds}" if bounds else kind


def markers(spec: Spec) -> list[str]:
    found = ["secret"] if spec.secret else []
    if spec.url_password:
        found.append("may hold a password")
    if spec.required_with:
        found.append("required with " + " and ".join(
            f"`{env_name(other)}`" for other in spec.required_with))
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(settings: type[Settings] = Settings) -> str:
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from bot/config.py by `make config-docs`; edit the descriptions there."
        " -->",
        "",
        "Every setting is an environment variable prefixed `LOTSEN_`, read once at start-up by "
        "the gateway, the worker and the admin CLI (`Settings.from_env`). All are optional: "
        "unset or empty means the default. `.env.example` lists them all with their defaults "
        "(`cp .env.example .env` for docker compose; `make run` reads the environment). A value "
        "outside what is allowed stops the process at start-up with a message naming the "
        "variable.",
        "",
        "**secret**: a credential; it is never shown in logs, error messages or "
        "`repr(settings)`, and `.env.example` leaves it empty. **may hold a password**: the "
        "password part of the URL is hidden the same way.",
        "",
    ]
    for group, entries in by_group(settings):
        lines += [f"## {group.value}", ""]
        if group in INTRO:
            lines += [INTRO[group], ""]
        lines += ["| Variable | Default | Allowed | What it does |", "|---|---|---|---|"]
        for f, spec in entries:
            default = default_text(f)
            name = f"`{env_name(f.name)}`" + "".join(f"<br>{m}" for m in markers(spec))
            shown = f"`{default}`" if default else "empty"
            lines.append(f"| {_cell(name)} | {_cell(shown)} | "
                         f"{_cell(allowed_text(f, spec))} | {_cell(spec.doc)} |")
        lines.append("")
    return "\n".join(lines)


def _comment(text: str) -> list[str]:
    """Comment lines of at most WIDTH characters; a `code span` or ">= 1" is never split."""
    glued = re.sub(r"`[^`]*`|[<>]=? \d", lambda code: code.group().replace(" ", NBSP), text)
    return [line.replace(NBSP, " ") for line in textwrap.wrap(
        glued, WIDTH - 2, initial_indent="# ", subsequent_indent="# ",
        break_on_hyphens=False, break_long_words=False)]


def env_example(settings: type[Settings] = Settings) -> str:
    lines = _comment("Lotsen configuration, generated from bot/config.py by `make config-docs` "
                     "(docs/configuration.md says the same as a table). Copy to .env: docker "
                     "compose reads it; `make run` reads the environment. Every variable is "
                     "optional and the value shown is the default; secrets are left empty, "
                     "and so are the folders (empty: the checkout's own).")
    for group, entries in by_group(settings):
        lines += ["", f"# ---- {group.value} ----"]
        if group in INTRO:
            lines += _comment(INTRO[group])
        for f, spec in entries:
            allowed = allowed_text(f, spec)
            notes = [*([allowed] if allowed != "text" else []), *markers(spec)]
            lines += _comment(f"{spec.doc} ({'; '.join(notes)})" if notes else spec.doc)
            value = "" if spec.secret or isinstance(f.default, Path) else default_text(f)
            lines.append(f"{env_name(f.name)}={value}")
    return "\n".join(lines) + "\n"


OUTPUTS: dict[Path, Callable[[], str]] = {DOCS: markdown, ENV_EXAMPLE: env_example}


def stale() -> list[Path]:
    """The generated files whose content is not what the settings render today."""
    return [path for path, render in OUTPUTS.items()
            if not path.exists() or path.read_text(encoding="utf-8") != render()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    try:
        outdated = stale()
        if args.check:
            for path in outdated:
                print(f"stale: {path.relative_to(ROOT)} (run `make config-docs`)")
            return 1 if outdated else 0
        for path, render in OUTPUTS.items():
            text = render()
            if path in outdated:
                path.write_text(text, encoding="utf-8")
            print(f"config-docs: {path.relative_to(ROOT)} "
                  f"{'written' if path in outdated else 'up to date'}")
    except UndocumentedSetting as exc:
        print(f"config-docs: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
