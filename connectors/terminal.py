"""The terminal channel: `python -m bot chat` talks to the bot in a terminal with the real
engine, Redis and Rasa (like `rasa shell`), for operators checking content and for developers.

Menus are numbered (type the number), `/lang xx` chooses a language (`/lang` alone lists them),
`/quit` or the end of input leaves. What arrives later for the conversation, such as a coach's
reply, is printed when it comes. Reading from a pipe works too: every input line is echoed
after `> `, so the output reads as a transcript.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.core.keys import Erasure, Owner, declare
from bot.core.messages import Capabilities, Reply
from bot.core.payloads import LANGUAGE, intent
from connectors.base import CommandChannel

INBOX = declare("conv:{conversation}:inbox", owner=Owner.CONVERSATION,
                expiry="the retention period", erasure=Erasure.WITH_CONVERSATION,
                note="messages for a terminal conversation that arrived outside a reply")
QUIT = ("/quit", "/exit")


def render(reply: Reply) -> str:
    """A reply as terminal text: the text, then the buttons as a numbered menu."""
    lines = [reply.text.strip()]
    lines += [f"  {i}. {button.title}" for i, button in enumerate(reply.buttons, start=1)]
    return "\n".join(lines)


class TerminalChannel(CommandChannel):
    name = "terminal"
    command = "chat"
    help = "talk to the bot in this terminal (real engine, Redis and Rasa)"
    capabilities = Capabilities(buttons=False, max_reply_chars=4000, reachable_later=False)

    def _inbox(self, user_id: str) -> str:
        return self.context.keys(INBOX, conversation=f"{self.name}:{user_id}")

    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> None:
        key = self._inbox(user_id)
        async with self.context.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *[json.dumps(r.to_json(), ensure_ascii=False) for r in replies])
            pipe.expire(key, self.context.settings.retention_seconds)
            await pipe.execute()

    async def run(self, argv: Sequence[str], stdin: TextIO | None = None,
                  stdout: TextIO | None = None) -> int:
        parser = argparse.ArgumentParser(prog=f"python -m bot {self.command}",
                                         description=__doc__.split("\n\n")[0])
        parser.add_argument("--user", help="continue the conversation of this name "
                                           "(default: a new conversation)")
        parser.add_argument("--language", help="the language to start in (e.g. en, ar)")
        args = parser.parse_args(list(argv))
        stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
        user = args.user or f"local-{secrets.token_hex(4)}"
        echo = not stdin.isatty()
        if not echo:
            print("Lotsen in the terminal. Type a question, a menu number, /lang xx or /quit.",
                  file=stdout, flush=True)
        later = asyncio.create_task(self._print_later(user, stdout))
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, stdin.readline)
                if not line:
                    break
                text = line.strip()
                if echo and text:
                    print(f"> {text}", file=stdout, flush=True)
                if text in QUIT:
                    break
                if text:
                    await self._say(user, text, args.language, stdout)
        finally:
            later.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await later
            await self._flush_inbox(user, stdout)
        return 0

    async def _say(self, user: str, text: str, language: str | None, stdout: TextIO) -> None:
        message = self.message(user, text=text, language_hint=language)
        if text == "/lang" or text.startswith("/lang "):
            code = text.removeprefix("/lang").strip()
            message = self.message(user, language_hint=language,
                                   payload=LANGUAGE(code) if code else intent("change_language"))
        outcome = await self.context.engine.handle(message)
        for reply in outcome.replies:
            print(render(reply), file=stdout, flush=True)

    async def _print_later(self, user: str, stdout: TextIO) -> None:
        """Print what arrives for this conversation outside a reply (a coach's message)."""
        while True:
            found = await self.context.redis.blpop([self._inbox(user)], timeout=1)
            if found:
                print(render(Reply.from_json(json.loads(found[1]))), file=stdout, flush=True)

    async def _flush_inbox(self, user: str, stdout: TextIO) -> None:
        key = self._inbox(user)
        while raw := await self.context.redis.lpop(key):
            print(render(Reply.from_json(json.loads(raw))), file=stdout, flush=True)
