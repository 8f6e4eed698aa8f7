"""Which language to answer in.

Order (spec §3): an explicit choice > the language detected in the message (when the message is
long enough to tell) > the conversation's last language > the default. Detection looks at the
script first (Ge'ez -> ti, Cyrillic -> uk, Arabic script -> ar or fa by letters and words), and
only for Latin-script messages of three words or more asks an offline detector (lingua)
restricted to our Latin-script languages. Short replies ("ja", "haa", "1") never flip the language.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property

from lingua import Language as LinguaLanguage
from lingua import LanguageDetectorBuilder

from bot.core.i18n import LanguageTable

LATIN_LANGUAGES = {"sv": LinguaLanguage.SWEDISH, "en": LinguaLanguage.ENGLISH,
                   "so": LinguaLanguage.SOMALI}
PERSIAN_LETTERS = set("پچژگکیۀ")
# Common Persian/Dari words that Arabic does not use (written with Arabic-keyboard letters too).
PERSIAN_WORDS = {"است", "استم", "هستم", "هست", "می", "میخواهم", "میخوام", "خواهم", "را", "برای",
                 "درود", "چطور", "کجا", "كجا", "چه", "چی", "من", "شما", "ما", "تشکر", "تشكر",
                 "مرسی", "ممنون", "خوب", "کار", "كار", "بله", "نه", "آیا", "ايا", "دارم", "دارید",
                 "کنم", "كنم", "کنید", "كنيد", "بکنم", "وقت", "زبان", "سلام"}
ARABIC_WORDS = {"أريد", "اريد", "هل", "كيف", "مرحبا", "شكرا", "نعم", "لا", "ماذا", "أين", "اين",
                "في", "من", "على", "عن", "بدي", "عايز", "ممكن", "الله", "انا", "أنا"}
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
MIN_WORDS_FOR_LATIN = 3


def script_of(text: str) -> str | None:
    """The dominant non-Latin script of `text` ('ethiopic', 'cyrillic', 'arabic'), or 'latin'."""
    counts = {"ethiopic": 0, "cyrillic": 0, "arabic": 0, "latin": 0}
    for ch in text:
        if not ch.isalpha():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("ETHIOPIC"):
            counts["ethiopic"] += 1
        elif name.startswith("CYRILLIC"):
            counts["cyrillic"] += 1
        elif name.startswith(("ARABIC", "PERSIAN")):
            counts["arabic"] += 1
        elif name.startswith("LATIN"):
            counts["latin"] += 1
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else None


class LanguageDetector:
    def __init__(self, languages: LanguageTable) -> None:
        self.languages = languages

    @cached_property
    def _latin_detector(self):  # built on first use: loading models costs memory and time
        wanted = [LATIN_LANGUAGES[c] for c in self.languages.enabled if c in LATIN_LANGUAGES]
        if len(wanted) < 2:
            return None
        # Low-accuracy mode (trigrams only) takes about 10 MB instead of about 110 MB per
        # process, and scores the same on our evaluation set (nlu/README.md).
        return (LanguageDetectorBuilder.from_languages(*wanted).with_low_accuracy_mode()
                .with_minimum_relative_distance(0.05).build())

    def detect(self, text: str, previous: str | None = None,
               min_words: int = MIN_WORDS_FOR_LATIN) -> str | None:
        """The language of `text`, or None when it cannot tell (too short, unknown script).

        `min_words` guards Latin-script detection: the dialogue keeps the default of three so a
        short reply never flips the conversation; the admin parse API asks for a best guess.
        """
        words = [w for w in WORD.findall(text.lower()) if w not in self.languages.neutral_words]
        if not words:
            return None
        script = script_of(" ".join(words))
        if script == "ethiopic":
            return self._enabled("ti")
        if script == "cyrillic":
            return self._enabled("uk")
        if script == "arabic":
            return self._arabic_or_persian(text, words, previous)
        if script == "latin" and len(words) >= min_words:
            return self._detect_latin(" ".join(words))
        return None

    def _enabled(self, code: str) -> str | None:
        return code if self.languages.is_enabled(code) else None

    def _arabic_or_persian(self, text: str, words: list[str], previous: str | None) -> str | None:
        persian = sum(1 for ch in text if ch in PERSIAN_LETTERS)
        persian += 2 * sum(1 for w in words if w in PERSIAN_WORDS)
        arabic = 2 * sum(1 for w in words if w in ARABIC_WORDS)
        arabic += sum(1 for ch in text if ch in "ةىؤئإأ")
        if persian == arabic:
            if previous in ("ar", "fa"):
                return previous
            return self._enabled("ar") or self._enabled("fa")
        return self._enabled("fa" if persian > arabic else "ar")

    def _detect_latin(self, text: str) -> str | None:
        detector = self._latin_detector
        if detector is None:
            return None
        found = detector.detect_language_of(text)
        if found is None:
            return None
        return next((code for code, lang in LATIN_LANGUAGES.items() if lang == found), None)


def explicit_choice(text: str, languages: LanguageTable) -> str | None:
    """A language named in a change-language request ("svara på arabiska"), if enabled."""
    lowered = text.lower()
    tokens = set(WORD.findall(lowered))
    for code in languages.enabled:
        for name in languages.languages[code].names:
            if name in tokens or (" " in name and name in lowered):
                return code
    return None
