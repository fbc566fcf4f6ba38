"""The SMTP side of the Mailer port: host, port, TLS mode and credentials from settings."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from services.core.config import Settings

TIMEOUT_SECONDS = 30


class SmtpMailer:
    """One connection per message: e-mails are few and far between next to a relay's idle
    timeout, so a pooled connection would mostly be a dead one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_tls == "ssl":
            return smtplib.SMTP_SSL(
                s.smtp_host,
                s.smtp_port,
                timeout=TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT_SECONDS)
        if s.smtp_tls == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, message: EmailMessage) -> None:
        with self._connect() as client:
            if self.settings.smtp_username:
                client.login(self.settings.smtp_username, self.settings.smtp_password)
            refused = client.send_message(message)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
