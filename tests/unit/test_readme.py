"""The README stays a newcomer's page and the documentation's links stay whole.

The README is short and opens with the two commands a newcomer needs; it links every page of
docs/; no relative link in README.md or docs/*.md points to a missing file (anchors are not
checked); no line is so long that it cannot be read in a terminal or a diff.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 250
MAX_LINE_CHARS = 200
GENERATED = {DOCS / "configuration.md"}  # written by `make config-docs`, not by hand

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, ...


def doc_pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def relative_links(page: Path) -> list[str]:
    """Link targets in a Markdown page that name a file in the repository (not in code)."""
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    targets = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def resolve(page: Path, target: str) -> Path:
    path = target.split("#", 1)[0].split("?", 1)[0]
    return (ROOT / path.lstrip("/")) if path.startswith("/") else (page.parent / path)


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, (
        f"README.md has {len(lines)} lines; keep it at most {MAX_README_LINES} and move the "
        "rest to a page in docs/")


def test_readme_opens_with_make_run_and_make_test() -> None:
    """The first thing after the title is the block with the two commands."""
    lines = README.read_text(encoding="utf-8").splitlines()
    body = [line for line in lines[1:] if line.strip()]
    assert lines[0].startswith("# "), "README.md starts with its title"
    assert body[0].startswith("```"), "the first thing after the title is a code block"
    end = next(i for i, line in enumerate(body[1:], 1) if line.startswith("```"))
    commands = [line.split("#")[0].strip() for line in body[1:end]]
    assert commands[0] == "make run", f"the block opens with `make run`, not {commands[0]!r}"
    assert "make test" in commands, "the block has `make test`"


def test_readme_links_every_docs_page_and_they_exist() -> None:
    linked = {resolve(README, target).resolve() for target in relative_links(README)}
    in_docs = {path for path in linked if path.parent == DOCS.resolve() and path.suffix == ".md"}
    missing = sorted(str(path.relative_to(ROOT)) for path in in_docs if not path.is_file())
    assert not missing, f"README.md links docs pages that do not exist: {missing}"
    unlinked = sorted(page.name for page in doc_pages() if page.resolve() not in linked)
    assert not unlinked, f"README.md (\"Where to read on\") does not link: {unlinked}"


def test_every_relative_link_points_to_a_file() -> None:
    broken = [f"{page.relative_to(ROOT)}: {target}"
              for page in [README, *doc_pages()]
              for target in relative_links(page)
              if not resolve(page, target).exists()]
    assert not broken, "links to missing files:\n" + "\n".join(broken)


def test_no_line_over_200_characters() -> None:
    long_lines = [f"{page.relative_to(ROOT)}:{number}: {len(line)} characters"
                  for page in [README, *doc_pages()] if page not in GENERATED
                  for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
                  if len(line) > MAX_LINE_CHARS]
    assert not long_lines, "wrap these lines:\n" + "\n".join(long_lines)
