"""Which language to answer in.

Order (spec §3): an explicit choice > the language detected in the message (when the message is
long enough to tell) > the conversation's last language > the default. Detection looks at the
script first (Ge'ez -> ti, Cyrillic -> uk), then asks an offline detector (lingua) restricted to
the enabled languages of that script: Arabic or Persian for Arabic script, and Swedish, English
or Somali for Latin-script messages of three words or more, unless they are Arabic written in
Latin letters (Arabizi, bot/core/arabizi.py: "ana baddi ashtghel"), which lingua does not know
and sends to Swedish or Somali. Words every language shares (names
of institutions, places and services: "jobbtorg", "arbetsförmedlingen", "Kista") are left out
before asking, so "what is kompetensverkstan?" is English. Short replies ("ja", "haa", "1")
never flip the language.

Memory (scripts/lingua_memory.py; figures in nlu/README.md): the Latin detector in
high-accuracy mode takes about 107 MB per process, the Arabic/Persian one in low-accuracy mode
about 11 MB. Low-accuracy mode for Latin (about 10 MB) could not tell "thanks a lot" or "ok
thanks bye" from Swedish. The models are loaded whole when a detector is first used (0.2 s) and
the detectors are shared by the whole process: loaded lazily instead, lingua read model files
during the first few hundred messages (1.5 ms of CPU a message instead of 0.03 ms).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, cached_property

from lingua import Language as LinguaLanguage
from lingua import LanguageDetector as LinguaDetector
from lingua import LanguageDetectorBuilder

from bot.core.arabizi import is_arabizi
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
        script = _script_of_letter(ch)
        if script is not None:
            counts[script] += 1
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else None


@cache
def _script_of_letter(ch: str) -> str | None:
    """A letter's script by its Unicode name (remembered: a chat uses few distinct letters)."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    if name.startswith("ETHIOPIC"):
        return "ethiopic"
    if name.startswith("CYRILLIC"):
        return "cyrillic"
    if name.startswith(("ARABIC", "PERSIAN")):
        return "arabic"
    if name.startswith("LATIN"):
        return "latin"
    return None


@cache
def _lingua_detector(wanted: tuple[LinguaLanguage, ...], low_accuracy: bool) -> LinguaDetector:
    """One detector per set of languages and mode in a process (they hold no state)."""
    builder = LanguageDetectorBuilder.from_languages(*wanted)
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    return builder.with_preloaded_language_models().with_minimum_relative_distance(0.05).build()


class LanguageDetector:
    def __init__(self, languages: LanguageTable) -> None:
        self.languages = languages

    def _lingua(self, table: dict[str, LinguaLanguage],
                low_accuracy: bool) -> LinguaDetector | None:
        wanted = tuple(table[c] for c in self.languages.enabled if c in table)
        if len(wanted) < 2:
            return None
        return _lingua_detector(wanted, low_accuracy)

    def warm_up(self) -> None:
        """Load the detectors now (a gateway does this in a thread as it starts), so the first
        messages do not pay for it."""
        _ = self._latin_detector, self._arabic_script_detector

    @cached_property
    def _latin_detector(self) -> LinguaDetector | None:
        return self._lingua(LATIN_LANGUAGES, low_accuracy=False)

    @cached_property
    def _arabic_script_detector(self) -> LinguaDetector | None:
        # Low accuracy (trigrams) separates Arabic from Persian as well on our cases, and
        # costs a few MB instead of about 60.
        return self._lingua(ARABIC_SCRIPT_LANGUAGES, low_accuracy=True)

    def detect(self, text: str, previous: str | None = None,
               min_words: int = MIN_WORDS_FOR_LATIN) -> str | None:
        """The language of `text`, or None when it cannot tell (too short, unknown script).

        `min_words` guards Latin-script detection: the dialogue keeps the default of three so a
        short reply never flips the conversation; the admin parse API asks for a best guess.
        """
        every_word, words = self._words(text)
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
            if self.languages.is_enabled("ar") and \
                    is_arabizi(text, ignore=self.languages.neutral_words):
                return "ar"
            return self._ask(self._latin_detector, LATIN_LANGUAGES, " ".join(words))
        return None

    def wrote_arabizi(self, text: str, min_words: int = MIN_WORDS_FOR_LATIN) -> bool:
        """Whether `detect` reads `text` as Arabic written in Latin letters (the dialogue then
        offers, once, to switch language: the guess is the least certain one it makes)."""
        every_word, words = self._words(text)
        return bool(words) and len(every_word) >= min_words and \
            script_of(" ".join(words)) == "latin" and self.languages.is_enabled("ar") and \
            is_arabizi(text, ignore=self.languages.neutral_words)

    def _words(self, text: str) -> tuple[list[str], list[str]]:
        """Every word of `text`, and those that are not shared by every language."""
        every_word = WORD.findall(text.lower())
        return every_word, [w for w in every_word if w not in self.languages.neutral_words]

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
    def _ask(detector: LinguaDetector | None, table: dict[str, LinguaLanguage],
             text: str) -> str | None:
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
