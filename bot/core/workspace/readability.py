"""Readability figures for plain language (klarspråk): LIX for Swedish, words per sentence for all.

The Swedish Language Act asks public language to be simple and understandable, and many of the
people Lotsen is for have a short education or are new to Swedish. The content editor shows these
figures while a text is typed and warns above a configured threshold; a unit test holds the shipped
Swedish catalog to the same limit. Pure functions, no I/O.

LIX (Björnsson) = words / sentences + 100 * long words / words, where a long word has more than
six letters. About 30 is easy, 40 is ordinary newspaper text, over 50 is hard.

How the text is counted, so that the figures are the same in the editor, the CLI and the tests:

- Words are the whitespace-separated tokens (the Ethiopic word space ``፡`` separates too) with
  punctuation and symbols trimmed from their edges; a token counts if something is left that has
  a letter or a digit. A hyphenated word (``SFI-kurs``) is one word; the ``1.`` or ``-`` that
  starts a list item is not a word.
- A placeholder such as ``{district}`` is one word and never a long word: what replaces it
  (a district, a time, a name) is not known when the text is written, and it is not vocabulary
  the writer chose.
- Digits are words but not letters: ``09:30``, ``10–12`` and ``08-508 000 00`` are read as
  words, yet a number is not hard vocabulary, so it never makes a word long.
- Links and e-mail addresses (``https://…``, ``www.…``, ``stockholm.se/sfi``, ``a@b.se``) are one
  word each and never long: readers tap or copy them rather than read them. Their inner full
  stops do not end a sentence.
- A sentence ends, as in LIX, at a full stop, colon, question or exclamation mark (also the
  ellipsis ``…``, the Arabic ``؟`` and ``۔``, the Ethiopic ``።``, ``፧``, ``፨`` and ``፦``, and
  the CJK ``。！？``), when what follows is whitespace or the end of the text, so ``09.30``
  and ``stockholm.se`` end nothing. Closing quotes or brackets may sit between the mark and
  the space. Abbreviations such as ``t.ex.`` do end a sentence, as in LIX; plain language
  avoids them anyway.
- Because the texts use bullet lists, a line break that starts a list item (``- ``, ``• ``,
  ``* ``, ``– ``, ``1. ``, ``1) ``) and a paragraph break (an empty line) end a sentence too.
  A line break inside a paragraph does not.
- Only stretches with at least one word are sentences, so ``?!``, a colon right before a list
  and trailing breaks are not counted twice; a text with words and no end mark is one sentence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LONG_WORD_LETTERS = 6  # a long word has MORE than this many letters

_END_MARKS = ".:!?…؟۔።፧፨፦。！？"
_CLOSERS = "\"'”’»)]"
_SENTENCE_END = rf"[{re.escape(_END_MARKS)}]+[{re.escape(_CLOSERS)}]*(?=\s|$)"
_PARAGRAPH_BREAK = r"\n[ \t\r]*\n\s*"
_LIST_ITEM_START = r"(?:^|\n)[ \t]*(?:[-•*–]|\d{1,3}[.)])[ \t]+"
_LIST_MARKER = re.compile(_LIST_ITEM_START)
_BOUNDARY = re.compile(f"{_LIST_ITEM_START}|{_PARAGRAPH_BREAK}|{_SENTENCE_END}")
_TOKEN_SEPARATOR = re.compile(r"[\s፡]+")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_LINK = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)\S+|[^@\s]+@[^@\s]+\.\w+"
                   r"|(?:[\w-]+\.)+[a-z]{2,}/\S*", re.IGNORECASE)


@dataclass(frozen=True)
class Readability:
    words: int
    sentences: int
    lix: float
    words_per_sentence: float


def _trim(token: str) -> str:
    """The token without punctuation and symbols at its edges (braces of a placeholder stay)."""
    def edge(char: str) -> bool:
        return char not in "{}" and unicodedata.category(char)[0] in "PS"

    start, end = 0, len(token)
    while start < end and edge(token[start]):
        start += 1
    while end > start and edge(token[end - 1]):
        end -= 1
    return token[start:end]


def _is_word(token: str) -> bool:
    return bool(_PLACEHOLDER.search(token)) or any(char.isalnum() for char in token)


def words(text: str) -> list[str]:
    """The words of the text, trimmed of edge punctuation, in order (list markers are not words)."""
    trimmed = (_trim(token) for token in _TOKEN_SEPARATOR.split(_LIST_MARKER.sub("\n", text)))
    return [token for token in trimmed if token and _is_word(token)]


def _letters(word: str) -> int:
    if _LINK.fullmatch(word):
        return 0
    return sum(char.isalpha() for char in _PLACEHOLDER.sub("", word))


def _is_long(word: str) -> bool:
    return _letters(word) > LONG_WORD_LETTERS


def sentence_count(text: str) -> int:
    """Stretches between sentence ends (see the module docstring) that hold at least one word."""
    return sum(1 for part in _BOUNDARY.split(text) if words(part))


def words_per_sentence(text: str) -> float:
    """Mean words per sentence, shown for every language; 0.0 for a text without words."""
    sentences = sentence_count(text)
    return len(words(text)) / sentences if sentences else 0.0


def lix(text: str) -> float:
    """The Swedish readability index; 0.0 for a text without words."""
    found = words(text)
    if not found:
        return 0.0
    long_words = sum(1 for word in found if _is_long(word))
    return len(found) / sentence_count(text) + 100 * long_words / len(found)


def measure(text: str) -> Readability:
    """All figures at once, as the editor shows them."""
    return Readability(words=len(words(text)), sentences=sentence_count(text), lix=lix(text),
                       words_per_sentence=words_per_sentence(text))
