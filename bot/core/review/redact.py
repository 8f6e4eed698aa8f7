"""Redaction before anything a person wrote is kept for review: pure functions, unit-tested.

The review inbox keeps questions, not people: personnummer, phone numbers, e-mail addresses and
names become placeholders before a text is stored. Names are found two ways: after the phrases
people introduce themselves with ("jag heter", "my name is", "اسمي", ...), and as capitalised
words inside a Latin-script sentence that are not words every language shares (institution
and place names). That errs towards removing too much, never too little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from bot.core.handover import personnummer

EMAIL = re.compile(r"[^\s@<>()\"',;]+@[^\s@<>()\"',;]+\.[^\s@<>()\"',;]{2,}")
# Seven or more digits, possibly with +, spaces, dashes, dots or brackets between them.
PHONE = re.compile(r"(?<![\w])\+?\(?\d(?:[\s\-./()]*\d){6,}(?![\w])")
INTRODUCTIONS = [
    r"jag heter", r"mitt namn är", r"mitt namn ar", r"jag är", r"jag ar",
    r"my name is", r"my name's", r"i am called", r"call me", r"i'm", r"i am", r"this is",
    r"اسمي", r"إسمي", r"اسم من", r"اسمم",
    r"magacaygu waa", r"magaceygu waa", r"magacayga waa", r"waxaa la i yiraahdaa",
    r"ስመይ", r"ሽመይ",
    r"мене звати", r"моє ім'я", r"моє імʼя", r"мене звуть",
]
INTRODUCED = re.compile(
    r"(?i)(?<!\w)(" + "|".join(sorted(INTRODUCTIONS, key=len, reverse=True)) +
    r")[\s,:]+(\w+(?:[-']\w+)?)(\s+\w+(?:[-']\w+)?)?")
LATIN_WORD = re.compile(r"(?<![\w'])([A-ZÅÄÖÉÜ][a-zåäöéüçñ]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)?)")
SENTENCE_END = re.compile(r"[.!?]\s*$")
PLACEHOLDERS = {"email": "<email>", "phone": "<phone>", "personnummer": "<personnummer>",
                "name": "<name>"}


def redact(text: str, shared_words: Iterable[str] = ()) -> str:
    """`text` with personal data replaced by placeholders (`<name>`, `<phone>`, ...)."""
    # Each pattern only where a cheap look says it can match: this runs on every answer.
    text = personnummer.redact(text).replace("[personnummer]", PLACEHOLDERS["personnummer"])
    if "@" in text:
        text = EMAIL.sub(PLACEHOLDERS["email"], text)
    if sum(map(str.isdigit, text)) >= 7:
        text = PHONE.sub(PLACEHOLDERS["phone"], text)
    shared = _lowered(shared_words if isinstance(shared_words, frozenset | tuple)
                      else tuple(shared_words))
    lowered = text.lower()
    if any(phrase in lowered for phrase in INTRODUCTIONS):
        text = INTRODUCED.sub(lambda m: _introduced(m, shared), text)
    return _capitalised_names(text, shared)


@cache
def _lowered(words: frozenset[str] | tuple[str, ...]) -> frozenset[str]:
    """The shared words in lower case, once per set (the callers pass the same set each time)."""
    return frozenset(w.lower() for w in words)


def _introduced(match: re.Match[str], shared: frozenset[str]) -> str:
    phrase, first, second = match.group(1), match.group(2), match.group(3) or ""
    if first.lower() in shared or first.isdigit():
        return match.group(0)
    if phrase.lower() in AMBIGUOUS and not first[:1].isupper():
        return match.group(0)  # "I am pregnant", "jag är 17": not a name
    surname = second.strip()
    if surname and surname.lower() not in shared and (surname[:1].isupper()
                                                       or not surname[:1].isascii()):
        second = ""  # a surname (or, in a script without capitals, perhaps one): dropped too
    return f"{phrase} {PLACEHOLDERS['name']}{second}"


# Introductions that often precede something else than a name: only a capitalised word counts.
AMBIGUOUS = {"i'm", "i am", "this is", "jag är", "jag ar"}


def _capitalised_names(text: str, shared: frozenset[str]) -> str:
    """Capitalised Latin words inside a sentence (not its first word) that no language shares."""
    out, last = [], 0
    for match in LATIN_WORD.finditer(text):
        word = match.group(1)
        before = text[:match.start()].rstrip()
        starts_sentence = not before or bool(SENTENCE_END.search(before)) or before.endswith(
            ("<name>", ":", "\n"))
        if starts_sentence or word.lower() in shared or word in ALWAYS_CAPITALISED:
            continue
        out.append(text[last:match.start()])
        out.append(PLACEHOLDERS["name"])
        last = match.end()
    out.append(text[last:])
    return "".join(out)


# Words written with a capital in the middle of a sentence that are not names of people.
ALWAYS_CAPITALISED = {
    "I", "Sweden", "Swedish", "Stockholm", "English", "Arabic", "Somali", "Persian", "Dari",
    "Tigrinya", "Ukrainian", "Sverige", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "Saturday", "Sunday", "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December", "SFI", "Sfi", "Komvux", "Jobbtorg",
    "Arbetsförmedlingen", "Försäkringskassan", "Skatteverket", "CV", "LSS", "SoL", "KAA",
    "Ukraine", "Somalia", "Syria", "Iraq", "Iran", "Afghanistan", "Eritrea", "Ethiopia",
}


def signature(text: str) -> frozenset[str]:
    """The words that decide whether two questions are alike (lower-case, placeholders and
    one-letter words dropped)."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    return frozenset(w for w in words if len(w) > 1 and f"<{w}>" not in PLACEHOLDERS.values())


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two signatures (1.0: the same words)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
