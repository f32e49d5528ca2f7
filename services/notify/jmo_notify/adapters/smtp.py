"""E-mail through an SMTP server (smtplib, in a thread: one short connection per message)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from ..service_layer.ports import Outgoing


class SmtpChannel:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        message_id_domain: str,
        timeout: float = 10.0,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._domain = message_id_domain
        self._timeout = timeout
        self._starttls = starttls
        self._username = username
        self._password = password

    def compose(self, m: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._sender
        msg["To"] = m.destination
        msg["Subject"] = m.subject
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        # The same id on every attempt of one delivery: a resend after a lost answer is recognisable.
        msg["Message-ID"] = f"<{m.delivery_id.replace(':', '.')}@{self._domain}>"  # ':' is not allowed there
        msg["Content-Language"] = m.lang
        msg["X-JMO-Kind"] = m.kind
        msg["X-JMO-Delivery-Id"] = m.delivery_id
        msg.set_content(m.text)
        return msg

    async def send(self, message: Outgoing) -> None:
        await asyncio.to_thread(self._send, self.compose(message))

    def _send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
            if self._starttls:
                smtp.starttls()
            if self._username:
                smtp.login(self._username, self._password or "")
            smtp.send_message(msg)
