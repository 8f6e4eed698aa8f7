"""One spelling of Arabic-script text for the model, in training and in every parse.

People write the same Persian or Arabic word in several ways that look alike on a screen:
`می‌خوام` with a zero-width non-joiner, `میخوام` joined or `می خوام` with a space; Persian
`ی`/`ک` or the Arabic `ي`/`ك` of an Arabic keyboard; `أ`, `إ`, `آ` or a bare `ا`; with or without
short vowels and tatweel; `۲۵` or `25`. The model's word and character n-grams see each form as
different text, so data written one way taught little about messages written another. Both
`nlu/build.py` (the training data) and the gateway (bot/core/nlu/pool.py, before each parse)
pass text through `for_model`, so the model only ever sees one form.

The rules are the usual ones of Persian and Arabic text normalisers (hazm's affix spacing,
Arabic search's alef, yeh and teh marbuta folding), written out here because the Rasa venv
loads this file by path (standard library only, Python 3.10) and neither hazm nor its NLTK
dependency belongs in the gateway. Other scripts pass unchanged, apart from Unicode NFKC.
"""

from __future__ import annotations

import re
import unicodedata

ZWNJ = "\u200c"
_CHARACTERS = str.maketrans({
    "ي": "ی", "ى": "ی", "ك": "ک",  # Arabic keyboard letters -> one form
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",  # alef with hamza or madda -> bare alef
    "ة": "ه",  # teh marbuta, often written as heh
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
    "\u0640": None,  # tatweel
    **{chr(c): None for c in range(0x064B, 0x0660)},  # short vowels, shadda, sukun
    "\u0670": None,  # superscript alef
})
# Persian affixes written apart (`می خوام`, `کتاب ها`) or with a non-joiner are joined to
# their word, which is how most people type them on a phone.
_PREFIX = re.compile(r"(?<!\w)(ن?می)[ \u200c]+(?=\w)")
_SUFFIX = re.compile(r"(?<=\w)[ \u200c]+(ها|های|هایی|هایم|هایت|هایش|تر|ترین)(?!\w)")


def for_model(text: str) -> str:
    """`text` in the one spelling the model is trained on."""
    text = unicodedata.normalize("NFKC", text).translate(_CHARACTERS)
    text = _SUFFIX.sub(r"\1", _PREFIX.sub(r"\1", text))
    return text.replace(ZWNJ, "")
