"""Which language to answer in.

Order (spec §3): an explicit choice > the language detected in the message (when the message is
long enough to tell) > the conversation's last language > the default. Detection looks at the
script first (Ge'ez -> ti, Cyrillic -> uk), then asks an offline detector (lingua) restricted to
the enabled languages of that script: Arabic or Persian for Arabic script, and Swedish, English
or Somali for Latin-script messages of three words or more. Words every language shares (names
of institutions, places and services: "jobbtorg", "arbetsförmedlingen", "Kista") are left out
before asking, so "what is kompetensverkstan?" is English. Short replies ("ja", "haa", "1")
never flip the language.

Memory (scripts/lingua_memory.py; figures in nlu/README.md): the Latin detector in
high-accuracy mode takes about 107 MB per process, loaded on the first Latin message; the
Arabic/Persian one in low-accuracy mode about 11 MB. Low-accuracy mode for Latin (about 10 MB)
could not tell "thanks a lot" or "ok thanks bye" from Swedish.
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
ARABIC_SCRIPT_LANGUAGES = {"ar": LinguaLanguage.ARABIC, "fa": LinguaLanguage.PERSIAN}
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
MIN_CONFIDENCE = 0.6  # lingua's confidence from which a detected language counts


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

    def _lingua(self, table: dict[str, LinguaLanguage], low_accuracy: bool):
        wanted = [table[c] for c in self.languages.enabled if c in table]
        if len(wanted) < 2:
            return None
        builder = LanguageDetectorBuilder.from_languages(*wanted)
        if low_accuracy:
            builder = builder.with_low_accuracy_mode()
        return builder.with_minimum_relative_distance(0.05).build()

    @cached_property
    def _latin_detector(self):  # built on first use: loading models costs memory and time
        return self._lingua(LATIN_LANGUAGES, low_accuracy=False)

    @cached_property
    def _arabic_script_detector(self):
        # Low accuracy (trigrams) separates Arabic from Persian as well on our cases, and
        # costs a few MB instead of about 60.
        return self._lingua(ARABIC_SCRIPT_LANGUAGES, low_accuracy=True)

    def detect(self, text: str, previous: str | None = None,
               min_words: int = MIN_WORDS_FOR_LATIN) -> str | None:
        """The language of `text`, or None when it cannot tell (too short, unknown script).

        `min_words` guards Latin-script detection: the dialogue keeps the default of three so a
        short reply never flips the conversation; the admin parse API asks for a best guess.
        """
        every_word = WORD.findall(text.lower())
        words = [w for w in every_word if w not in self.languages.neutral_words]
        if not words:
            return None
        script = script_of(" ".join(words))
        if script == "ethiopic":
            return self._enabled("ti")
        if script == "cyrillic":
            return self._enabled("uk")
        if script == "arabic":
            return self._arabic_or_persian(text, words, previous,
                                           ask_lingua=len(every_word) >= min_words)
        if script == "latin" and len(every_word) >= min_words:
            return self._ask(self._latin_detector, LATIN_LANGUAGES, " ".join(words))
        return None

    def _enabled(self, code: str) -> str | None:
        return code if self.languages.is_enabled(code) else None

    def _arabic_or_persian(self, text: str, words: list[str], previous: str | None,
                           ask_lingua: bool) -> str | None:
        if ask_lingua:
            found = self._ask(self._arabic_script_detector, ARABIC_SCRIPT_LANGUAGES,
                              " ".join(words))
            if found:
                return found
        # A word or two (lingua guesses), only one of them enabled, or lingua cannot tell:
        # letters and words only one of them uses, and a tie keeps the conversation's language.
        persian = sum(1 for ch in text if ch in PERSIAN_LETTERS)
        persian += 2 * sum(1 for w in words if w in PERSIAN_WORDS)
        arabic = 2 * sum(1 for w in words if w in ARABIC_WORDS)
        arabic += sum(1 for ch in text if ch in "ةىؤئإأ")
        if persian == arabic:
            if previous in ("ar", "fa"):
                return previous
            return self._enabled("ar") or self._enabled("fa")
        return self._enabled("fa" if persian > arabic else "ar")

    @staticmethod
    def _ask(detector, table: dict[str, LinguaLanguage], text: str) -> str | None:
        """lingua's language when it is fairly sure: "asdf qwerty zxcv" (English 0.56,
        Swedish 0.42) is no reason to change the conversation's language."""
        if detector is None:
            return None
        ranked = detector.compute_language_confidence_values(text)
        if not ranked or ranked[0].value < MIN_CONFIDENCE:
            return None
        return next((code for code, lang in table.items() if lang == ranked[0].language), None)


def explicit_choice(text: str, languages: LanguageTable) -> str | None:
    """A language named in a change-language request ("svara på arabiska"), if enabled."""
    lowered = text.lower()
    tokens = set(WORD.findall(lowered))
    for code in languages.enabled:
        for name in languages.languages[code].names:
            if name in tokens or (" " in name and name in lowered):
                return code
    return None
