"""What one parse of a message means to Lotsen: Rasa's classes as the intents of spec §4, plus
the specific answer within the topic. Plain data: cached in Redis as JSON (bot/core/nlu/cache.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypedDict


class EntityJSON(TypedDict):
    entity: str
    value: str


class ParseResultJSON(TypedDict):
    """A parse as the cache stores it (bot/core/nlu/cache.py)."""

    intent: str
    confidence: float
    entities: list[EntityJSON]
    ranking: list[list[str | float]]  # [intent, confidence] pairs
    answer: str | None
    answer_confidence: float
    answers: list[list[str | float]]  # [answer, share] pairs of the intent's answers


class RasaIntent(TypedDict, total=False):
    name: str | None
    confidence: float | None


class RasaEntity(TypedDict, total=False):
    entity: str | None
    value: object


class RasaParse(TypedDict, total=False):
    """The fields of Rasa's `/model/parse` answer that Lotsen reads; none is trusted (each
    value is converted or checked where it is read)."""

    intent: RasaIntent | None
    entities: list[RasaEntity] | None
    intent_ranking: list[RasaIntent] | None


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str

    def to_json(self) -> EntityJSON:
        return {"entity": self.entity, "value": self.value}


@dataclass(frozen=True)
class ParseResult:
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[tuple[str, float], ...] = field(default=())
    # The specific answer the model ranks first within the intent (`info_sfi_parents/
    # bring_child`, or `.../overview` for the topic's own answer) and its share of the intent's
    # confidence; the engine decides whether it is confident enough.
    answer: str | None = None
    answer_confidence: float = 0.0
    # Every specific answer of the intent with its share, best first: the runner-up is what a
    # "did you mean" offers beside the best (bot/core/dialogue.py, `close_call`).
    answers: tuple[tuple[str, float], ...] = field(default=())

    def entity(self, name: str) -> str | None:
        return next((e.value for e in self.entities if e.entity == name), None)

    def to_json(self) -> ParseResultJSON:
        return {"intent": self.intent, "confidence": self.confidence,
                "entities": [e.to_json() for e in self.entities],
                "ranking": [list(item) for item in self.ranking],
                "answer": self.answer, "answer_confidence": self.answer_confidence,
                "answers": [list(item) for item in self.answers]}

    @classmethod
    def from_json(cls, data: ParseResultJSON) -> ParseResult:
        """Read back what `to_json` wrote; each field is still converted, so another version's
        entry raises KeyError, ValueError or TypeError (the cache then parses again)."""
        return cls(intent=str(data["intent"]), confidence=float(data["confidence"]),
                   entities=tuple(Entity(str(e["entity"]), str(e["value"]))
                                  for e in data.get("entities") or []),
                   ranking=tuple((str(name), float(c)) for name, c in data.get("ranking") or []),
                   answer=data.get("answer"),
                   answer_confidence=float(data.get("answer_confidence") or 0.0),
                   answers=tuple((str(name), float(c))
                                 for name, c in data.get("answers") or []))


FLAT_SEPARATOR = "__"  # a specific answer's class in the model: `info_sfi__where` (nlu/build.py)


def to_result(data: RasaParse) -> ParseResult:
    """Rasa's answer as topic-level intents plus the specific answer within the topic.

    The model's classes are the intents of spec §4 and, for the five topics, one class per
    specific answer (`info_sfi__where`, `info_sfi__overview`; see nlu/build.py). A topic's
    confidence is the sum of its classes' (DIET reports every class: `ranking_length: 0`); the
    answer is the topic's best class, with its share of the topic's confidence."""
    intent: RasaIntent = data.get("intent") or {}
    entities = tuple(
        Entity(str(e.get("entity")), str(e.get("value")))
        for e in data.get("entities") or []
        if e.get("entity") and e.get("value") is not None
    )
    classes = [(str(r.get("name")), float(r.get("confidence") or 0.0))
               for r in data.get("intent_ranking") or []]
    if not classes and intent.get("name"):
        classes = [(str(intent["name"]), float(intent.get("confidence") or 0.0))]
    topics: dict[str, float] = {}
    answers: dict[str, list[tuple[str, float]]] = {}
    for name, confidence in classes:
        topic, _, answer = name.partition(FLAT_SEPARATOR)
        topics[topic] = topics.get(topic, 0.0) + confidence
        if answer:
            answers.setdefault(topic, []).append((f"{topic}/{answer}", confidence))
    ranking = tuple(sorted(topics.items(), key=lambda item: item[1], reverse=True))
    top, top_confidence = ranking[0] if ranking else ("out_of_scope", 0.0)
    shares = tuple(sorted(((key, confidence / top_confidence if top_confidence else 0.0)
                           for key, confidence in answers.get(top, [])),
                          key=lambda item: item[1], reverse=True))
    best_answer, answer_share = shares[0] if shares else (None, 0.0)
    return ParseResult(
        intent=top,
        confidence=min(top_confidence, 1.0),
        entities=_dedupe(entities),
        ranking=ranking,
        answer=best_answer,
        answer_confidence=answer_share,
        answers=shares[:3],
    )


def _dedupe(entities: tuple[Entity, ...]) -> tuple[Entity, ...]:
    seen: dict[tuple[str, str], Entity] = {}
    for e in entities:
        seen.setdefault((e.entity, e.value), e)
    return tuple(seen.values())


class Parser(Protocol):
    """What the dialogue engine needs of NLU (the cached pool; a stand-in in unit tests)."""

    async def parse(self, text: str) -> ParseResult: ...
