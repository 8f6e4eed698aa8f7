"""`make sms-segments`: SMS segments of the ten most common replies, per language, as the full
text with the full menu ("before") and as sent on SMS, with the short text and menu ("after").
Writes reports/sms_segments.json."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.core.content import Content  # noqa: E402
from bot.core.i18n import Catalogs, LanguageTable  # noqa: E402
from connectors.sms_text import render, segments  # noqa: E402

COMMON = ("greet", "help", "info_jobbtorg", "info_jobbtorg_unga", "info_sfi",
          "info_sfi_parents", "info_vuxenutbildning", "thanks", "out_of_scope", "clarify")
CLARIFY_MENU = ("/info_sfi", "/info_sfi_parents", "/help")  # a typical clarifying menu


def load_content() -> Content:
    settings = Settings()
    languages = LanguageTable.load(settings.content_dir / "languages.yml")
    return Content(settings.content_dir / "replies.yml",
                   Catalogs(settings.locales_dir, languages), languages)


def measure(content: Content, language: str) -> list[dict[str, object]]:
    rows = []
    for key in COMMON:
        buttons = CLARIFY_MENU if key == "clarify" else None
        before = render(content.reply(key, language, buttons=buttons))
        after = render(content.reply(key, language, buttons=buttons, short=True))
        b, a = segments(before), segments(after)
        rows.append({"reply": key, "encoding": a.encoding, "before_chars": len(before),
                     "before_segments": b.count, "after_chars": len(after),
                     "after_segments": a.count})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="sv,ar,so")
    args = parser.parse_args()
    content = load_content()
    report = {}
    for language in args.languages.split(","):
        rows = measure(content, language)
        report[language] = rows
        print(f"\n[{language}] {'reply':22}{'enc':>7}{'before':>14}{'after':>14}")
        for r in rows:
            print(f"     {r['reply']:22}{r['encoding']:>7}"
                  f"{r['before_chars']:>6} ch {r['before_segments']:>2} seg"
                  f"{r['after_chars']:>6} ch {r['after_segments']:>2} seg")
        total_b = sum(int(r["before_segments"]) for r in rows)
        total_a = sum(int(r["after_segments"]) for r in rows)
        print(f"     {'total segments':22}{'':>7}{total_b:>14}{total_a:>14}")
    out = ROOT / "reports" / "sms_segments.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"\nsms-segments: wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
