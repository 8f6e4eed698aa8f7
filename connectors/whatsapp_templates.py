"""WhatsApp message templates: which approved template carries each kind of Lotsen message in
each language, read from `config/whatsapp.yml` and validated at start-up.

Outside the 24-hour customer-service window the Cloud API delivers only approved templates. A
template has a name, a category and one translation per WhatsApp language code; each Lotsen
kind ("reminder", "coach_reply", "notice", "campaign") is one template whose body has one
parameter, `{{1}}`: the Lotsen message text, framed by the template's own fixed words.

What Meta documents, and what this module relies on:
- The message object is `{"type": "template", "template": {"name", "language": {"code",
  "policy": "deterministic"}, "components": [{"type": "body", "parameters": [{"type": "text",
  "text": ...}]}]}}`, the parameters in `{{1}}`, `{{2}}` order (Meta's Node.js SDK reference,
  https://whatsapp.github.io/WhatsApp-Nodejs-SDK/api-reference/types/TemplateObject and
  .../api-reference/messages/template; "deterministic" delivers exactly the language asked
  for: https://developers.facebook.com/docs/whatsapp/api/messages/message-templates).
- Template language codes (https://developers.facebook.com/documentation/business-messaging/
  whatsapp/templates/supported-languages, updated 2026-05-21): Swedish `sv`, Arabic `ar`
  (regional ar_EG, ...), English `en` (en_GB, en_US, ...), Persian `fa` (Dari `prs_AF` since
  2026), Ukrainian `uk`. There is no Somali and no Tigrinya template language (nor in the older
  list on the page above, nor in pywa's TemplateLanguage enum, 2026-08), so `fallback` in the
  config says what Somali and Tigrinya speakers get: another language's template (its `{{1}}`
  still carries the Lotsen text in their language) or "sms" (where their consent covers it).
- A body text parameter may not hold a newline or a tab nor more than 4 consecutive spaces
  (error 132018; Twilio's WhatsApp errors 21656 and 63013 quote the same rule), and the body
  with its parameters filled in is at most 1,024 characters (Twilio error 63021; the body
  limit in https://docs.ycloud.com/en/documentation/whatsapp-business-platform/messaging/
  message-templates/template-components-and-formats). `flatten` makes a text fit: lines are
  joined with " – " (en dash), or with a space after a line that ends a sentence (". ! ? :"
  and the Arabic and Ethiopic marks); every other run of white space becomes one space;
  control characters go; a text too long is cut at a word with "…". Lengths are counted in
  UTF-16 units, so an emoji counts two, as on the wire.

Errors name the file, the line and the field (the dotted path, e.g. `templates.reminder.
category`), like config/dropin.yml's parser; duplicate keys are errors, not silently the last.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.places import LINE, LineLoader, yaml_line

KINDS = ("reminder", "coach_reply", "notice", "campaign")
CATEGORIES = ("utility", "marketing")
SMS = "sms"

BODY_LIMIT = 1024          # characters of a template body, parameters filled in
MAX_SPACES = 4             # consecutive spaces a parameter may hold (error 132018)
NAME_LIMIT = 512           # characters of a template name (lower case, digits, "_")
NAME = re.compile(r"^[a-z0-9_]+$")
CODE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")  # "sv", "fil", "en_GB", "prs_AF"
NO_TEMPLATE_LANGUAGE = frozenset({"so", "ti"})   # Somali, Tigrinya: not in Meta's list
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
SENTENCE_END = ".!?:;…؟።፧"
ELLIPSIS = "…"
KEYS = "__keys__"  # the loader's record of each key's own line


class TemplateError(ValueError):
    """The templates file is invalid (or a message cannot be built); `line` and `field` say
    where, the message names the file as well."""

    def __init__(self, message: str, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.line, self.field = line, field


@dataclass(frozen=True)
class Template:
    name: str
    language: str    # the WhatsApp language code, e.g. "sv", "ar", "en", "fa", "uk"
    category: str    # "utility" | "marketing"
    parameters: int  # body parameters ({{1}} ...)


@dataclass(frozen=True)
class Choice:
    """What a message outside the window goes as: a template, or the fallback "sms" (sent as
    SMS where the person's consent covers it), or neither (nothing fits)."""

    template: Template | None
    fallback: str | None


class WhatsAppTemplates:
    def __init__(self, *, sample: bool, templates: Mapping[tuple[str, str], Template],
                 fallbacks: Mapping[tuple[str, str], str],
                 bodies: Mapping[tuple[str, str], str]) -> None:
        self.sample = sample
        self._templates = dict(templates)  # (kind, Lotsen language) -> template
        self._fallbacks = dict(fallbacks)  # (Lotsen language, kind) -> "sms" | a language
        self._bodies = dict(bodies)        # (name, WhatsApp code) -> the sample body text

    @classmethod
    def load(cls, path: Path, languages: Iterable[str]) -> WhatsAppTemplates:
        return cls.parse(path.read_text(encoding="utf-8"), str(path), languages)

    @classmethod
    def parse(cls, text: str, source: str, languages: Iterable[str]) -> WhatsAppTemplates:
        """The templates in `text` (a whatsapp.yml) for Lotsen's enabled `languages`;
        `source` names the file in errors."""
        try:
            data = yaml.load(text, Loader=_Loader)
        except _DuplicateKey as exc:
            raise TemplateError(f"{source}:{exc.line}: {exc.key!r} is given twice (first on "
                                f"line {exc.first})", exc.line, str(exc.key)) from None
        except yaml.YAMLError as exc:
            line = yaml_line(exc)
            raise TemplateError(f"{source}:{line}: not valid YAML: {exc}" if line else
                                f"{source}: not valid YAML: {exc}", line) from exc
        return _Parser(source, list(languages)).parse(data)

    def choose(self, kind: str, language: str) -> Choice:
        """The template for a `kind` of message to a person speaking `language`, or the
        configured fallback (another language's template, or "sms"), or nothing."""
        if kind not in KINDS:
            raise TemplateError(f"unknown message kind {kind!r} (known: {', '.join(KINDS)})")
        template = self._templates.get((kind, language))
        if template is not None:
            return Choice(template, None)
        fallback = self._fallbacks.get((language, kind))
        if fallback == SMS:
            return Choice(None, SMS)
        if fallback is not None:
            return Choice(self._templates[(kind, fallback)], None)
        return Choice(None, None)

    def message(self, template: Template, values: Sequence[str]) -> dict[str, object]:
        """The Cloud API "template" message object (without messaging_product and to), each
        value flattened to what a body parameter may hold and cut to fit the body limit."""
        if len(values) != template.parameters:
            raise TemplateError(f"template {template.name!r} takes {template.parameters} "
                                f"parameter(s), not {len(values)}")
        content: dict[str, object] = {
            "name": template.name,
            "language": {"policy": "deterministic", "code": template.language}}
        message: dict[str, object] = {"type": "template", "template": content}
        if not values:
            return message
        fixed = self._bodies.get((template.name, template.language), "")
        room = BODY_LIMIT - units(PLACEHOLDER.sub("", fixed))
        share = max(1, room // len(values))
        parameters = []
        for index, value in enumerate(values, start=1):
            text = flatten(value, share)
            if not text:
                raise TemplateError(f"template {template.name!r}: parameter {index} is empty "
                                    "(WhatsApp refuses empty parameters)")
            parameters.append({"type": "text", "text": text})
        content["components"] = [{"type": "body", "parameters": parameters}]
        return message


def units(text: str) -> int:
    """The length WhatsApp counts: UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le")) // 2


def flatten(text: str, limit: int = BODY_LIMIT) -> str:
    """`text` as one line a template parameter may hold, at most `limit` UTF-16 units:
    lines joined with " – " (a space after a line that ends a sentence), white space runs as
    one space, control characters dropped, and a text too long cut at a word with "…"."""
    lines = [" ".join(_printable(line).split()) for line in text.splitlines()]
    flat = ""
    for line in filter(None, lines):
        if flat:
            flat += " " if flat[-1] in SENTENCE_END else " – "
        flat += line
    return _cut(flat, limit)


def _printable(line: str) -> str:
    return "".join(" " if ch == "\t" else ch for ch in line
                   if ch == "\t" or unicodedata.category(ch) != "Cc")


def _cut(text: str, limit: int) -> str:
    if units(text) <= limit:
        return text
    room = limit - units(ELLIPSIS)
    kept, used = [], 0
    for ch in text:
        used += units(ch)
        if used > room:
            break
        kept.append(ch)
    cut = "".join(kept)
    space = cut.rfind(" ")
    if space > len(cut) * 2 // 3:  # a word boundary near the end: keep words whole
        cut = cut[:space]
    cut = cut.rstrip(" –\u200c\u200d")
    while cut and unicodedata.combining(cut[-1]):
        cut = cut[:-1]
    return cut + ELLIPSIS if limit >= units(ELLIPSIS) else ""


def _braced(parameter: str) -> str:
    return "{{" + parameter + "}}"


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.line, self.first = key, line, first


class _Loader(LineLoader):
    """LineLoader (each mapping's line as `__line__`) that also keeps each key's own line
    (`__keys__`) and refuses a key given twice in one mapping."""

    # Any: the signature of SafeLoader's own method (keys and values are any YAML).
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        lines: dict[object, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in lines:
                    raise _DuplicateKey(key, line, lines[key])
                lines[key] = line
            except TypeError:  # an unhashable key: SafeLoader's own error follows
                pass
        mapping = super().construct_mapping(node, deep=deep)
        mapping[KEYS] = lines
        return mapping


class _Parser:
    def __init__(self, source: str, languages: list[str]) -> None:
        self.source = source
        self.languages = languages

    def fail(self, data: Mapping[Any, Any] | None, field: str, message: str,
             key: str | None = None) -> TemplateError:
        """The error at `key`'s own line in `data` (or `data`'s line), naming `field`."""
        line = None
        if data is not None:
            keys = data.get(KEYS) or {}
            line = keys.get(key) if key is not None else None
            line = line or data.get(LINE)
        where = f"{self.source}:{line}" if line else self.source
        return TemplateError(f"{where}: {field}: {message}", line, field)

    def parse(self, data: object) -> WhatsAppTemplates:
        if not isinstance(data, Mapping):
            raise TemplateError(f"{self.source}:1: must be a mapping with `templates` and "
                                "`fallback`", 1, "templates")
        self.known(data, "", ("sample", "templates", "fallback"))
        sample = data.get("sample", False)
        if not isinstance(sample, bool):
            raise self.fail(data, "sample", "must be true or false", "sample")
        kinds = self.mapping(data, "templates", "templates")
        templates: dict[tuple[str, str], Template] = {}
        bodies: dict[tuple[str, str], str] = {}
        for kind in self.keys(kinds):
            if kind not in KINDS:
                raise self.fail(kinds, f"templates.{kind}", f"unknown kind {kind!r} (known: "
                                f"{', '.join(KINDS)})", kind)
            self.kind(kinds, kind, templates, bodies)
        fallbacks = self.fallbacks(data, templates)
        for kind in KINDS:
            for language in self.languages:
                if (kind, language) not in templates and (language, kind) not in fallbacks:
                    entry = kinds.get(kind)
                    where, key = (entry, "languages") if kind in kinds else (data, "templates")
                    raise self.fail(where, f"templates.{kind}.languages.{language}",
                                    f"no {kind} template for {language!r} and no fallback for "
                                    f"it (add fallback.{language}.{kind}: a language or sms)",
                                    key)
        return WhatsAppTemplates(sample=sample, templates=templates, fallbacks=fallbacks,
                                 bodies=bodies)

    def kind(self, kinds: Mapping[Any, Any], kind: str,
             templates: dict[tuple[str, str], Template],
             bodies: dict[tuple[str, str], str]) -> None:
        path = f"templates.{kind}"
        entry = self.mapping(kinds, kind, path)
        self.known(entry, path, ("category", "name", "parameters", "languages"))
        category = entry.get("category")
        if not isinstance(category, str) or category.lower() not in CATEGORIES:
            raise self.fail(entry, f"{path}.category", f"must be one of {', '.join(CATEGORIES)}"
                            f", not {category!r}", "category")
        name = entry.get("name")
        if not isinstance(name, str) or not NAME.match(name) or len(name) > NAME_LIMIT:
            raise self.fail(entry, f"{path}.name", "must be a template name of lower-case "
                            f"letters, digits and _ (at most {NAME_LIMIT}), not {name!r}", "name")
        parameters = entry.get("parameters")
        if not isinstance(parameters, int) or isinstance(parameters, bool) or parameters < 0:
            raise self.fail(entry, f"{path}.parameters", "must be the number of body "
                            "parameters ({{1}} ...), a whole number >= 0", "parameters")
        translations = self.mapping(entry, "languages", f"{path}.languages")
        codes: dict[str, str] = {}
        for language in self.keys(translations):
            field = f"{path}.languages.{language}"
            if language not in self.languages:
                raise self.fail(translations, field, f"{language!r} is not one of Lotsen's "
                                f"enabled languages ({', '.join(self.languages)})", language)
            spec = self.mapping(translations, language, field)
            self.known(spec, field, ("code", "body"))
            code = self.code(spec, f"{field}.code")
            if code in codes:
                raise self.fail(spec, f"{field}.code", f"{code!r} is already the code of "
                                f"{codes[code]!r}: a template has one translation per language "
                                "code (use the fallback section instead)", "code")
            codes[code] = language
            bodies[(name, code)] = self.body(spec, f"{field}.body", parameters)
            templates[(kind, language)] = Template(name=name, language=code,
                                                   category=category.lower(),
                                                   parameters=parameters)

    def code(self, spec: Mapping[Any, Any], field: str) -> str:
        code = spec.get("code")
        if not isinstance(code, str) or not CODE.match(code):
            raise self.fail(spec, field, f"{code!r} is not a WhatsApp template language code "
                            "(like sv, ar, en, en_GB, fa, uk)", "code")
        if code.split("_")[0] in NO_TEMPLATE_LANGUAGE:
            raise self.fail(spec, field, f"WhatsApp has no template language {code!r}: say in "
                            "the fallback section what these people get", "code")
        return code

    def body(self, spec: Mapping[Any, Any], field: str, parameters: int) -> str:
        body = spec.get("body")
        if not isinstance(body, str) or not body.strip():
            raise self.fail(spec, field, "the template's body text (with {{1}}) is missing",
                            "body")
        found = PLACEHOLDER.findall(body)
        wanted = [str(n) for n in range(1, parameters + 1)]
        if sorted(set(found), key=lambda p: (len(p), p)) != wanted:
            named = ", ".join(_braced(n) for n in wanted) or "no parameter"
            given = ", ".join(_braced(n) for n in found) or "none"
            raise self.fail(spec, field, f"must hold {named} (the `parameters` of the kind), "
                            f"not {given}", "body")
        if units(PLACEHOLDER.sub("", body)) >= BODY_LIMIT:
            raise self.fail(spec, field, f"leaves no room for the message within WhatsApp's "
                            f"{BODY_LIMIT} characters", "body")
        return body

    def fallbacks(self, data: Mapping[Any, Any],
                  templates: Mapping[tuple[str, str], Template]) -> dict[tuple[str, str], str]:
        if data.get("fallback") is None:
            return {}
        section = self.mapping(data, "fallback", "fallback")
        fallbacks: dict[tuple[str, str], str] = {}
        for language in self.keys(section):
            field = f"fallback.{language}"
            if language not in self.languages:
                raise self.fail(section, field, f"{language!r} is not one of Lotsen's enabled "
                                f"languages ({', '.join(self.languages)})", language)
            entry = self.mapping(section, language, field)
            for kind in self.keys(entry):
                if kind not in KINDS:
                    raise self.fail(entry, f"{field}.{kind}", f"unknown kind {kind!r} (known: "
                                    f"{', '.join(KINDS)})", kind)
                target = entry[kind]
                if target == SMS:
                    fallbacks[(language, kind)] = SMS
                    continue
                if not isinstance(target, str) or (kind, target) not in templates:
                    having = ", ".join(self.with_template(templates, kind)) or "none"
                    raise self.fail(entry, f"{field}.{kind}", f"must be sms or a language that "
                                    f"has a {kind} template ({having}), not {target!r}", kind)
                fallbacks[(language, kind)] = target
        return fallbacks

    def with_template(self, templates: Mapping[tuple[str, str], Template],
                      kind: str) -> list[str]:
        return [language for (known, language) in templates if known == kind]

    def mapping(self, data: Mapping[Any, Any], key: str, field: str) -> Mapping[Any, Any]:
        value = data.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(data, field, "must be a mapping" if key in data else "is missing",
                            key)
        return value

    def keys(self, data: Mapping[Any, Any]) -> list[str]:
        found = [key for key in data if key not in (LINE, KEYS)]
        for key in found:
            if not isinstance(key, str):
                raise self.fail(data, str(key), "keys must be words")
        return found

    def known(self, data: Mapping[Any, Any], path: str, allowed: tuple[str, ...]) -> None:
        for key in self.keys(data):
            if key not in allowed:
                field = f"{path}.{key}" if path else key
                raise self.fail(data, field, f"unknown field (known: {', '.join(allowed)})", key)
