"""The `data_access` intent ("what do you keep about me?"): the answer says, in the person's
language, what Lotsen keeps about this conversation, grouped, with when each group expires, and
how to get the full copy. How depends on what the channel can do (its `Capabilities`), never on
its name:

- `download_link`: the channel serves the copy itself (the web chat's
  `GET /webchat/sessions/{session}/export`): the answer carries two links, the page and the JSON,
  as `Reply.links`, never in its text: the text goes into the transcript a coach may read later,
  and the session id in the link is the key to the session;
- `documents`: the channel sends files into the chat (Telegram): a job sends the copy as a
  document a moment after the answer (`document_job(channel)`, the channel's worker handler), so
  it is made when it is sent and holds the request itself;
- otherwise (SMS, WhatsApp, the terminal): the summary, and that the full copy is asked for from
  the city's registrator (a formal request; `python -m bot.admin subject-access` makes it). No
  address is named: the city gives its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from bot.core.access.collect import Access
from bot.core.access.render import Words, summary_lines
from bot.core.content import Content
from bot.core.flows.base import Flow
from bot.core.jobs import JobQueue
from bot.core.messages import Link, Reply
from bot.core.payloads import Prefix
from bot.core.turn import Intent, Turn

ACCESS = Prefix("/access:")  # no buttons of its own (yet): the intent is `/data_access`
DOCUMENT_DELAY = 1.0  # seconds: the document follows the answer, not the other way round
KEY = "data_access"


def document_job(channel: str) -> str:
    """The name of the job that sends a copy of one's data as a document on `channel`; the
    channel's connector handles it (payload: {"to": user id, "language": code})."""
    return f"send_document_{channel}"


class AccessFlow(Flow):
    name = "access"
    prefix = ACCESS
    intents = (KEY,)
    label = KEY

    def __init__(self, access: Access, content: Content, jobs: JobQueue,
                 base_url: str = "") -> None:
        self.access = access
        self.content = content
        self.jobs = jobs
        self.base_url = base_url.rstrip("/")  # before a channel's download path (may be "")

    def accepts(self, payload: str) -> bool:
        return False

    async def on_payload(self, turn: Turn, payload: str) -> list[Reply] | None:
        return None

    async def on_cancel(self, turn: Turn) -> list[Reply]:
        return [self.content.reply("help", turn.language)]

    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        language, short = turn.language, turn.short
        words = Words(self.content, language)
        data = await self.access.collect(turn.conversation_id, language)
        template = self.content.templates[KEY]
        links: tuple[Link, ...] = ()
        if data.empty:
            lines = [words.text("access_nothing_kept")]
        else:
            intro = self.content.catalogs.gettext(language, template.short) \
                if short and template.short else words.text(KEY)
            copy, links = await self._copy(turn)
            lines = [intro, *summary_lines(data, words, short), copy]
        reply = self.content.reply(KEY, language, text="\n".join(lines),
                                   buttons=() if short else None)
        return [Reply(reply.text, reply.buttons, reply.purpose, links)]

    async def _copy(self, turn: Turn) -> tuple[str, tuple[Link, ...]]:
        """How to get the full copy here (see the module), in the person's language, and the
        links to it where the channel serves it."""
        capabilities, language = turn.message.capabilities, turn.language
        if capabilities.download_link:
            path = capabilities.download_link.format(user=quote(turn.message.user_id, safe=""))
            link = f"{self.base_url}{path}"
            return (self.content.text("access_copy_link", language),
                    (Link(self.content.text("access_link_page", language), f"{link}?format=html"),
                     Link(self.content.text("access_link_file", language), link)))
        return await self._copy_elsewhere(turn), ()

    async def _copy_elsewhere(self, turn: Turn) -> str:
        capabilities, language = turn.message.capabilities, turn.language
        if capabilities.documents:
            await self.jobs.schedule(
                document_job(turn.message.channel),
                {"to": turn.message.user_id, "language": language},
                due=turn.message.received_at.timestamp() + DOCUMENT_DELAY,
                conversation=turn.conversation_id)
            return self.content.text("access_copy_document", language)
        template = self.content.templates["access_copy_ask"]
        if turn.short and template.short:
            return self.content.catalogs.gettext(language, template.short)
        return self.content.text("access_copy_ask", language)


def access_of(flows: Iterable[Flow]) -> Access | None:
    """The engine's collection of a person's data (None where the flow is not wired): for the
    channels that serve or send the full copy."""
    flow = next((f for f in flows if isinstance(f, AccessFlow)), None)
    return flow.access if flow is not None else None
