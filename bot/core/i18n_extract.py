"""Babel extractor for the content YAML: every `text` and `title` value is a message.

Registered in `locales/babel.cfg`, so `pybabel extract` finds the answers that live in YAML
just as it finds `gettext()` calls in code. An entry with both `text` and `plural` becomes one
plural message (ngettext), translated with the language's own plural forms.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import BinaryIO

import yaml

TRANSLATABLE_KEYS = {"text", "title", "short"}
# (line, function, message or (singular, plural), comments): what babel wants of an extractor.
Message = tuple[int, str | None, str | tuple[str, str], list[str]]


def extract_yaml(fileobj: BinaryIO, keywords: object, comment_tags: object,
                 options: Mapping[str, object]) -> Iterator[Message]:
    """babel's extractor interface; keywords, comment tags and options do not apply to YAML."""
    node = yaml.compose(fileobj.read().decode("utf-8"))
    if node is not None:
        yield from _walk(node, path=())


def _walk(node: yaml.Node, path: tuple[str, ...]) -> Iterator[Message]:
    if isinstance(node, yaml.MappingNode):
        values = {str(k.value): v for k, v in node.value}
        if isinstance(values.get("text"), yaml.ScalarNode) and isinstance(
                values.get("plural"), yaml.ScalarNode):
            singular, plural = values["text"], values["plural"]
            comment = "/".join((*path, "text"))
            yield (singular.start_mark.line + 1, "ngettext",
                   (str(singular.value), str(plural.value)), [comment])
            return
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in TRANSLATABLE_KEYS and isinstance(value_node, yaml.ScalarNode):
                comment = "/".join((*path, key))
                yield value_node.start_mark.line + 1, None, str(value_node.value), [comment]
            else:
                yield from _walk(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item, path)
