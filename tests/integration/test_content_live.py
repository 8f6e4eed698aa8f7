"""Published texts in one process's memory (bot/core/workspace/live.py): where two ids share one
message (the same English words in two places), the one published last is said, whatever order
Redis keeps its hash in."""

from __future__ import annotations

from bot.runtime.wiring import Services
from tests.integration.test_content_exchange import services  # noqa: F401 (a fixture)


async def test_of_two_ids_of_one_message_the_one_published_last_is_said(
        services: Services) -> None:  # noqa: F811
    workspace, live = services.workspace, services.live_content
    shared = next(item for item in workspace.inventory.items.values()
                  if item.also and item.plural is None)
    first, second = shared.id, shared.also[0]
    catalogs = services.content.catalogs
    for text_id, text in ((first, "Första versionen."), (second, "Andra versionen."),
                          (first, "Tredje versionen.")):
        draft = await workspace.propose(text_id, "sv", text, "anna")
        await workspace.approve(draft.draft, "bo")
        assert await live.refresh()
        assert catalogs.gettext("sv", shared.msgid) == text


