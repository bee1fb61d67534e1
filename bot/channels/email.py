"""E-mail notices over SMTP: a text part, an HTML part and PDF attachments."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from bot.channels.base import Address, Delivery, DeliveryError
from bot.replies import OutboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    sender: str = "Tagih <tagihan@example.com>"
    starttls: bool = True
    timeout: float = 30.0


class EmailChannel:
    """Sends notices through one SMTP server, one connection per message.

    The Message-ID is derived from the idempotency key, so the message can be traced
    back to its notice.
    """

    name = "email"
    # SMTP servers do not drop a second message with the same Message-ID. A resend after
    # a crash is therefore not safe, and the key only labels the message.
    supports_idempotency_key = False
    accepts_idempotency_key = True

    def __init__(self, config: SmtpConfig):
        self.config = config

    def build_message(
        self, address: Address, message: OutboundMessage, idempotency_key: str | None = None
    ) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = address.value
        mail["Subject"] = message.subject or message.text.splitlines()[0][:120]
        mail["Date"] = email.utils.formatdate(localtime=False)
        domain = email.utils.parseaddr(self.config.sender)[1].rpartition("@")[2] or "localhost"
        if idempotency_key:
            mail["Message-ID"] = f"<{idempotency_key}@{domain}>"
        else:
            mail["Message-ID"] = email.utils.make_msgid(domain=domain)
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        for document in message.attachments:
            maintype, _, subtype = document.mime_type.partition("/")
            mail.add_attachment(
                document.content,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=document.filename,
            )
        return mail

    async def deliver(
        self, address: Address, message: OutboundMessage, *, idempotency_key: str | None = None
    ) -> Delivery:
        mail = self.build_message(address, message, idempotency_key)
        await asyncio.to_thread(self._send, mail)
        return Delivery(provider_message_id=str(mail["Message-ID"]))

    def _send(self, mail: EmailMessage) -> None:
        config = self.config
        try:
            with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if config.username and config.password:
                    smtp.login(config.username, config.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            permanent = all(500 <= code < 600 for code in codes)
            raise DeliveryError(f"recipient refused: {codes}", permanent=permanent) from error
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            raise DeliveryError(f"SMTP error {error.smtp_code}", permanent=permanent) from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"SMTP connection failed: {type(error).__name__}", permanent=False
            ) from error
