"""Memory of the language detectors, each in a fresh process (peak RSS before and after
building it and detecting a few messages): the figures quoted in nlu/README.md.

Usage: .venv/bin/python scripts/lingua_memory.py
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import resource, sys
from lingua import Language, LanguageDetectorBuilder
def peak_mb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = peak_mb()
mode, *names = sys.argv[1:]
builder = LanguageDetectorBuilder.from_languages(*(getattr(Language, n) for n in names))
if mode == "low":
    builder = builder.with_low_accuracy_mode()
detector = builder.build()
for text in ("thanks a lot", "tack så mycket för hjälpen", "mahadsanid aad baad u mahadsan tahay",
             "ما هي ساعات العمل لديكم", "ساعت کاری شما چیست"):
    detector.detect_language_of(text)
print(f"{peak_mb() - before:.0f}")
"""

CASES = [("Latin (sv, en, so), high accuracy", "high", ["SWEDISH", "ENGLISH", "SOMALI"]),
         ("Latin (sv, en, so), low accuracy", "low", ["SWEDISH", "ENGLISH", "SOMALI"]),
         ("Arabic script (ar, fa), low accuracy", "low", ["ARABIC", "PERSIAN"]),
         ("Arabic script (ar, fa), high accuracy", "high", ["ARABIC", "PERSIAN"])]


def main() -> None:
    for label, mode, names in CASES:
        grown = subprocess.run([sys.executable, "-c", PROBE, mode, *names], check=True,
                               capture_output=True, text=True).stdout.strip()
        print(f"{label:40} +{grown} MB")


if __name__ == "__main__":
    main()
