"""One spelling of Arabic-script text for the model (bot/core/nlu/spelling.py)."""

from __future__ import annotations

import pytest

from bot.config import ROOT
from bot.core.nlu.spelling import ZWNJ, for_model
from tests.nlu_build import load_build


@pytest.mark.parametrize("forms", [
    # a Persian verb prefix: non-joiner, joined, space
    (f"می{ZWNJ}خوام ثبت نام کنم", "میخوام ثبت نام کنم", "می خوام ثبت نام کنم"),
    (f"نمی{ZWNJ}دونم", "نمیدونم", "نمی دونم"),
    # a plural suffix
    (f"کلاس{ZWNJ}های سوئدی", "کلاسهای سوئدی", "کلاس های سوئدی"),
    # an Arabic keyboard's yeh and kaf in Persian
    ("کمک میکنید؟", "كمك ميكنيد؟"),
    # alef with hamza or madda, teh marbuta, short vowels and tatweel in Arabic
    ("أريد مساعدة", "اريد مساعده", "أُرِيدُ مُسَاعَدَة", "اريـــد مساعدة"),
    # Persian, Arabic-Indic and ASCII digits
    ("من ۲۵ سالمه", "من ٢٥ سالمه", "من 25 سالمه"),
])
def test_forms_that_look_alike_become_one(forms: tuple[str, ...]) -> None:
    assert len({for_model(form) for form in forms}) == 1, [for_model(f) for f in forms]


@pytest.mark.parametrize("text", [
    "Jag vill boka tid på Jobbtorg", "ana mafi shughl, 3ayez a7jez", "Хочу записатися на sfi",
    "jobbtorg cidda ay ka shaqeyso", "ስራሕ ንምድላይ ኣየኖት ቦታታት", "mi khuwam sabt nam konam",
])
def test_other_scripts_pass_unchanged(text: str) -> None:
    assert for_model(text) == text


def test_words_that_only_look_like_an_affix_stay_apart() -> None:
    # `می` and `ها` are joined only as a prefix before / a suffix after a word of their own
    assert for_model("می") == "می"
    assert for_model("ها؟ نفهمیدم") == "ها؟ نفهمیدم"


def test_the_training_data_is_written_in_the_same_spelling() -> None:
    build = load_build()
    data = f"- intent: info_sfi/where\n  examples: |\n    - كجا می{ZWNJ}تونم ۲ کلاس برم\n"
    flat = build.flatten(data)
    assert "کجا میتونم 2 کلاس برم" in flat and "info_sfi__where" in flat


def test_a_change_of_spelling_retrains_the_model() -> None:
    build = load_build()
    assert ROOT / "bot" / "core" / "nlu" / "spelling.py" in build.INPUTS
