"""SMS encoding and segment counts, and the short forms of the most common replies."""

from __future__ import annotations

import pytest

from bot.core.messages import Button, Reply
from connectors.sms_text import normalise, render, segments
from scripts.sms_segments import COMMON, load_content, measure


@pytest.mark.parametrize(("text", "encoding", "count"), [
    ("a" * 160, "GSM-7", 1), ("a" * 161, "GSM-7", 2), ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3), ("åäöÅÄÖé" * 20, "GSM-7", 1),
    ("€" * 80, "GSM-7", 1), ("€" * 81, "GSM-7", 2),            # extension: two septets each
    ("ش" * 70, "UCS-2", 1), ("ش" * 71, "UCS-2", 2), ("ش" * 134, "UCS-2", 2),
    ("ش" * 135, "UCS-2", 3), ("a" * 69 + "ሰ", "UCS-2", 1), ("😀" * 35, "UCS-2", 1),
    ("😀" * 36, "UCS-2", 2),                                     # emoji: two UTF-16 units
])
def test_segment_counts(text: str, encoding: str, count: int) -> None:
    result = segments(text)
    assert (result.encoding, result.count) == (encoding, count)


def test_typography_is_normalised_to_gsm() -> None:
    text = normalise("Jobbtorg unga (16–29) – “välkommen” … ’ok’")
    assert segments(text).encoding == "GSM-7"
    assert text == 'Jobbtorg unga (16-29) - "välkommen" ... \'ok\''


def test_render_numbers_the_menu_without_markup() -> None:
    body = render(Reply("Hej!", (Button("Jobbtorg", "/info_jobbtorg"), Button("Sfi", "/s"))))
    assert body == "Hej!\n1 Jobbtorg\n2 Sfi"


@pytest.fixture(scope="module")
def content():
    return load_content()


@pytest.mark.parametrize("language", ["sv", "so"])
def test_common_replies_fit_two_gsm_segments(content, language: str) -> None:
    rows = measure(content, language)
    assert [r["reply"] for r in rows] == list(COMMON)
    for row in rows:
        assert row["encoding"] == "GSM-7", row
        assert row["after_segments"] <= 2, row
        assert row["after_segments"] <= row["before_segments"], row


def test_common_replies_in_arabic_are_shorter_on_sms(content) -> None:
    rows = measure(content, "ar")
    assert all(r["encoding"] == "UCS-2" for r in rows)
    # UCS-2 holds 67 characters a segment: the short forms take at most three (measured with
    # `make sms-segments`: 50 segments before, 28 after, for these ten replies).
    assert all(r["after_segments"] <= 3 for r in rows), rows
    assert sum(int(r["after_segments"]) for r in rows) < 0.6 * sum(
        int(r["before_segments"]) for r in rows)
