"""Sending e-mail through the city's SMTP server (LOTSEN_SMTP_URL), with aiosmtplib.

Only staff get e-mail, and only notices without personal data (bot/coach/notify.py). An error
is a `MailError` naming the host, never the password; a recipient that is not one plain address
is refused before anything is sent (no header injection).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


class MailError(Exception):
    pass


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def valid_address(text: str) -> bool:
    return len(text) <= 254 and bool(ADDRESS.match(text))


class Mailer:
    def __init__(self, smtp_url: str, sender: str, timeout: float = 10.0) -> None:
        self.url = smtp_url
        self.sender = sender
        self.timeout = timeout

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    async def send(self, mail: Mail) -> None:
        if not valid_address(mail.to):
            raise ValueError("the recipient must be one plain e-mail address")
        parts = urlsplit(self.url)
        query = parse_qs(parts.query)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, mail.to, mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(mail.body)
        port = parts.port or (465 if parts.scheme == "smtps" else 25)  # checked by Settings
        try:
            await aiosmtplib.send(
                message, hostname=parts.hostname, port=port,
                username=unquote(parts.username) if parts.username else None,
                password=unquote(parts.password) if parts.password else None,
                use_tls=parts.scheme == "smtps",
                start_tls=query.get("starttls", ["false"])[0].lower() == "true",
                timeout=self.timeout)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(f"SMTP server {parts.hostname}:{port}: "
                            f"{type(exc).__name__}") from None
