"""The review inbox for content editors (operators): list, label, export.

`GET /coach/api/review?lang=sv` lists the language's groups of questions the bot did not
understand (most frequent first, with the model's guess and the weekly share not understood);
`POST /coach/api/review/{id}` with `{"intent": NAME}` labels a group with an intent of spec §4,
a specific answer (`info_sfi/where`) or `"ignore"`; `GET /coach/api/review/export?lang=sv`
gives the labelled questions as Rasa NLU YAML to add to `nlu/data/` (after a look: the
questions are redacted, so `<name>` may stand where a word was).
"""

from __future__ import annotations

import re

import yaml
from aiohttp import web

from bot.coach.accounts import Coach, Role
from bot.coach.guard import SessionGuard
from bot.core.content import Content
from bot.core.i18n import LanguageTable
from bot.core.referrals import INTENT as REFERRAL_INTENT
from bot.core.review.inbox import IGNORE, ReviewGroup, ReviewInbox
from bot.http import bad_request, error, json_object

OVERVIEW = "overview"  # the sub-answer key of a topic's own answer in the training data
ENTITY_MARKUP = re.compile(r"[\[\]{}()]")


def nlu_yaml(groups: list[ReviewGroup], topics_with_answers: set[str]) -> str:
    """Labelled groups as Rasa NLU training data (`version: "3.1"`, one block per label).

    An intent that has specific answers is a retrieval intent in the model: a plain label of
    it becomes `<intent>/overview`, the topic's own answer."""
    by_label: dict[str, list[str]] = {}
    for group in groups:
        if not group.label or group.label == IGNORE:
            continue
        label = group.label
        if label in topics_with_answers:
            label = f"{label}/{OVERVIEW}"
        examples = by_label.setdefault(label, [])
        for text in group.examples:
            cleaned = " ".join(ENTITY_MARKUP.sub(" ", text).split())
            if cleaned and cleaned not in examples:
                examples.append(cleaned)
    blocks = [{"intent": label, "examples": "".join(f"- {e}\n" for e in examples)}
              for label, examples in sorted(by_label.items()) if examples]
    return yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True,
                          sort_keys=False, width=1000)


class ReviewRoutes:
    def __init__(self, inbox: ReviewInbox, guard: SessionGuard, content: Content,
                 languages: LanguageTable) -> None:
        self.inbox = inbox
        self.guard = guard
        self.content = content
        self.languages = languages

    def routes(self) -> list[web.AbstractRouteDef]:
        operator = Role.OPERATOR
        return [web.get("/coach/api/review", self.guard(self.list, role=operator)),
                web.get("/coach/api/review/export", self.guard(self.export, role=operator)),
                web.post("/coach/api/review/{id}", self.guard(self.label, role=operator))]

    def labels(self) -> list[str]:
        """Every label a group may get: the intents, the specific answers, `ignore`."""
        answers = [key for keys in self.content.answers.values() for key in keys]
        return [*self.content.intents, *answers, IGNORE]

    def _language(self, request: web.Request) -> str:
        code = request.query.get("lang") or self.languages.default
        if not self.languages.is_enabled(code):
            raise bad_request(f'"lang" must be one of {", ".join(self.languages.enabled)}.')
        return code

    async def list(self, request: web.Request, coach: Coach) -> web.Response:
        language = self._language(request)
        groups = await self.inbox.groups(language)
        return web.json_response({
            "language": language,
            "groups": [group.to_json() for group in groups],
            "labels": self.labels(),
            "weeks": await self.inbox.weeks(self.languages.enabled)})

    async def label(self, request: web.Request, coach: Coach) -> web.Response:
        body = await json_object(request)
        label = body.get("intent")
        if not isinstance(label, str) or label not in self.labels():
            raise bad_request('Send {"intent": NAME}: an intent, a specific answer like '
                              '"info_sfi/where", or "ignore" (GET /coach/api/review lists them).')
        group = await self.inbox.label(request.match_info["id"], label)
        if group is None:
            return error(404, "No such group (it may have expired).")
        return web.json_response(group.to_json())

    async def export(self, request: web.Request, coach: Coach) -> web.Response:
        language = self._language(request)
        groups = await self.inbox.groups(language, labelled=True)
        # out_of_scope's referrals are answers too, but what belongs to no authority is trained
        # as the plain class `out_of_scope` (nlu/data/referrals_<lang>.yml), not as an overview.
        text = nlu_yaml(groups, set(self.content.answers) - {REFERRAL_INTENT})
        return web.Response(text=text, content_type="application/x-yaml", headers={
            "Content-Disposition": f'attachment; filename="review_{language}.yml"'})
