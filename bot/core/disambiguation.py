"""A close call: when NLU's two best readings of a message are nearly tied, the bot asks which one
was meant ("did you mean ...?", two buttons and "something else") instead of answering
confidently about the wrong service. The anchor is Rasa's two-stage fallback; here it lives in
the gateway's engine, which owns the menus (bot/core/dialogue.py).

Two kinds of tie, the closer one counts:
- two topics or actions (`info_sfi` against `info_sfi_parents`), both of them ones the clarifying
  menu may offer;
- two specific answers within the best topic (`info_sfi_parents/bring_child` against
  `.../who_can_join`, or two authorities of a referral), together carrying at least the answer
  threshold of the topic.

The gap is what the margin (`LOTSEN_DISAMBIGUATION_MARGIN`) is compared with: the difference in
confidence of the two topics, or in share of the two answers. `make eval` sweeps the margin over
the development sets with the gap the parse API reports.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from bot.core.nlu import ParseResult

OVERVIEW = "overview"  # `<topic>/overview` is the topic's own answer: offered as the topic


@dataclass(frozen=True)
class CloseCall:
    """The two readings to offer (an intent `info_sfi` or an answer `info_sfi/where`, each the
    payload `/<key>`), best first, and how far apart they are."""

    first: str
    second: str
    gap: float


def as_offer(answer: str) -> str:
    """A specific answer as the key to offer: the topic itself for its own answer."""
    topic, _, name = answer.partition("/")
    return topic if name == OVERVIEW else answer


def closest_call(parsed: ParseResult, *, offerable: Collection[str],
                 has_answer: Callable[[str], bool], threshold: float, answer_threshold: float,
                 best_answer: str | None = None) -> CloseCall | None:
    """The closest tie in `parsed` that could be offered, or None.

    `offerable`: the intents a menu may offer; `has_answer`: whether an answer key has content;
    `threshold`: the confidence the two topics must reach together (then a tie is asked about
    even where neither alone reaches it: "sfi or komvux?"), or the best topic alone for a tie
    of its answers; `best_answer`: the specific answer the bot would give for the best topic
    (offered instead of the bare topic when the tie is between topics)."""
    calls: list[CloseCall] = []
    if len(parsed.ranking) >= 2:
        (first, c1), (second, c2) = parsed.ranking[0], parsed.ranking[1]
        if first in offerable and second in offerable and c1 + c2 >= threshold:
            calls.append(CloseCall(best_answer or first, second, c1 - c2))
    answers = [(as_offer(key), share) for key, share in parsed.answers
               if as_offer(key) == parsed.intent or has_answer(key)]
    if len(answers) >= 2 and parsed.confidence >= threshold:
        (first, s1), (second, s2) = answers[0], answers[1]
        if first != second and s1 + s2 >= answer_threshold:
            calls.append(CloseCall(first, second, s1 - s2))
    return min(calls, key=lambda call: call.gap, default=None)
