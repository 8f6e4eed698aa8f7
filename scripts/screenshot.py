"""`make screenshot`: the web chat in Arabic (right to left), driven in headless Chromium.

Starts Rasa and the gateway, opens `/?lang=ar`, waits for the greeting, asks a question in
Arabic by typing it, and writes a PNG of the conversation (default reports/webchat-ar.png).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.browser import chromium, say, wait_for_bot_messages  # noqa: E402
from scripts.stack import running_stack  # noqa: E402

QUESTIONS = {"ar": "أريد أن أتعلم اللغة السويدية وعندي طفل صغير",
             "fa": "می‌خواهم زبان سوئدی یاد بگیرم، بچه کوچک دارم",
             "sv": "jag vill lära mig svenska och har en liten bebis"}


def capture(base_url: str, language: str, out: Path) -> None:
    with chromium(width=430, height=1000) as driver:
        driver.get(f"{base_url}/?lang={language}")
        wait_for_bot_messages(driver, 1)
        if language in QUESTIONS:
            say(driver, QUESTIONS[language])
        driver.save_screenshot(str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="ar")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = (args.out or ROOT / "reports" / f"webchat-{args.language}.png").resolve()
    out.parent.mkdir(exist_ok=True)
    print("screenshot: starting Rasa and the gateway...", flush=True)
    with running_stack(prefix="lotsen-screenshot") as stack:
        capture(stack.gateway_url, args.language, out)
    print(f"screenshot: wrote {out}")


if __name__ == "__main__":
    main()
