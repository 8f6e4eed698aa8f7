import pytest

from bot.core.handover.personnummer import contains, find, looks_like_phone, luhn_ok, redact


def with_check_digit(nine: str) -> str:
    return nine + next(str(d) for d in range(10) if luhn_ok(nine + str(d)))


VALID = with_check_digit("811218987")           # 811218-987C
COORDINATION = with_check_digit("811278987")    # day 18 + 60: samordningsnummer


@pytest.mark.parametrize("text", [
    f"mitt personnummer är {VALID[:6]}-{VALID[6:]}",
    f"19{VALID[:6]}-{VALID[6:]}",
    f"{VALID}",
    f"19{VALID}",
    f"{COORDINATION[:6]}-{COORDINATION[6:]}",
    f"pnr {VALID[:6]} {VALID[6:]}",
])
def test_valid_numbers_are_found(text: str) -> None:
    assert contains(text)
    assert "[personnummer]" in redact(text) and VALID[6:] not in redact(text).replace(
        "[personnummer]", "")


@pytest.mark.parametrize("text", [
    f"{VALID[:6]}-{VALID[6:9]}{(int(VALID[9]) + 1) % 10}",  # wrong check digit
    "811318-9876",   # month 13
    "jag är 19 år och bor i tensta",
    "boka 2026-11-24 kl 10",
    "12345",
])
def test_other_text_is_not_a_personnummer(text: str) -> None:
    assert not contains(text)


def test_find_returns_the_number_as_written() -> None:
    assert find(f"x {VALID[:6]}-{VALID[6:]} y") == [f"{VALID[:6]}-{VALID[6:]}"]


def test_phone_numbers_when_asked_for_a_phone() -> None:
    assert looks_like_phone("070-123 45 67") and looks_like_phone("+46 70 123 45 67")
    assert looks_like_phone("0701234567")
    assert not looks_like_phone(f"{VALID[:6]}-{VALID[6:]}")
    assert not looks_like_phone("070512-1234")  # the shape of a personnummer born 2007
