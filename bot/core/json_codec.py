"""JSON on the gateway's busiest path: what a turn reads and writes in Redis, Rasa's answer, the
web chat's reply.

orjson instead of the standard library's json there: under callgrind (`make profile` notes in
docs/scaling.md) JSON was a sixth of the instructions of a web chat message (Rasa's ranking of
60 classes with their confidences, the state, transcript and log lines, the batch itself), and
orjson does the same work in a fraction of them. Its output is compact UTF-8; it refuses what is
not JSON (NaN, a lone surrogate) where the standard library writes it anyway. Request bodies from
outside are still read by the standard library (bot/http.py), whose errors the API reports.
"""

from __future__ import annotations

from typing import Any

import orjson

OPTIONS = orjson.OPT_NON_STR_KEYS  # a dict with int keys is written as json.dumps would


def dumps(value: object) -> str:
    return orjson.dumps(value, option=OPTIONS).decode()


def dumps_bytes(value: object) -> bytes:
    return orjson.dumps(value, option=OPTIONS)


def loads(raw: str | bytes) -> Any:
    """The value `raw` holds; orjson.JSONDecodeError (a ValueError) if it is not JSON."""
    return orjson.loads(raw)
