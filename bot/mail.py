"""The SMTP seam: building digest emails and sending them, with a result per recipient.

The message is `multipart/alternative` [text/plain, `multipart/related` [text/html,
image/png …]], the structure that shows inline images in every common client: the HTML refers
to each chart as `cid:<content id>`.

`SmtpMailer.send` opens one connection for a batch (SSL on connect, STARTTLS, or plain, with
optional login) and sends each message to its one recipient. It never raises for a recipient:
each gets a `MailResult` — `sent`, `rejected` (a 5xx: the address is refused for good) or
`deferred` (the server is unreachable, refuses for now, or the login failed: retry later).
The password is never logged, printed or put in an error.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal, Protocol

from modeltrail.core.config import Settings
from modeltrail.core.errors import ConfigError

log = logging.getLogger("modeltrail.mail")

Security = Literal["starttls", "ssl", "none"]
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class InlineImage:
    cid: str  # without angle brackets: the HTML says src="cid:<this>"
    data: bytes
    filename: str
    subtype: str = "png"


@dataclass(frozen=True)
class Outgoing:
    """One message to one recipient."""

    recipient: str
    message: EmailMessage


@dataclass(frozen=True)
class MailResult:
    recipient: str
    status: Literal["sent", "rejected", "deferred"]
    detail: str = ""
    message_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "sent"


class Mailer(Protocol):
    def send(self, outgoing: Sequence[Outgoing]) -> list[MailResult]: ...


def build_message(
    *,
    subject: str,
    sender: str,
    recipient: str,
    text: str,
    html: str,
    images: Sequence[InlineImage] = (),
    message_id: str | None = None,
    date: dt.datetime | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = email.utils.format_datetime(date or dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id or email.utils.make_msgid(domain="modeltrail")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    if images:
        html_part = message.get_payload()[1]  # type: ignore[index]
        for image in images:
            html_part.add_related(
                image.data,
                maintype="image",
                subtype=image.subtype,
                cid=f"<{image.cid}>",
                filename=image.filename,
                disposition="inline",
            )
    return message


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    sender: str = "modeltrail@localhost"

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        if not settings.smtp_host:
            raise ConfigError(
                "no SMTP server configured", hint="set SMTP_HOST (and SMTP_PORT, SMTP_SECURITY)"
            )
        security = settings.smtp_security
        if security not in DEFAULT_PORTS:
            raise ConfigError(f"SMTP_SECURITY={security!r} is not one of starttls, ssl, none")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port or DEFAULT_PORTS[security],
            security=security,  # type: ignore[arg-type]
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
            sender=settings.digest_from or "modeltrail@localhost",
        )


class SmtpMailer:
    def __init__(self, config: SmtpConfig, *, tls: ssl.SSLContext | None = None) -> None:
        self.config = config
        self.tls = tls or ssl.create_default_context()

    def send(self, outgoing: Sequence[Outgoing]) -> list[MailResult]:
        if not outgoing:
            return []
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            reason = f"SMTP server {self.config.host}:{self.config.port} unavailable: {_why(exc)}"
            log.warning("%s", reason)
            return [MailResult(o.recipient, "deferred", reason) for o in outgoing]
        results: list[MailResult] = []
        try:
            for index, item in enumerate(outgoing):
                result = self._send_one(client, item)
                results.append(result)
                if result.status == "deferred" and result.detail.startswith("connection lost"):
                    results.extend(
                        MailResult(o.recipient, "deferred", result.detail)
                        for o in outgoing[index + 1 :]
                    )
                    break
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        return results

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        client: smtplib.SMTP
        if c.security == "ssl":
            client = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self.tls)
        else:
            client = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            client.ehlo()
            if c.security == "starttls":
                client.starttls(context=self.tls)
                client.ehlo()
            if c.username:
                client.login(c.username, c.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def _send_one(self, client: smtplib.SMTP, item: Outgoing) -> MailResult:
        message_id = item.message.get("Message-ID")
        try:
            refused = client.send_message(
                item.message, from_addr=self.config.sender, to_addrs=[item.recipient]
            )
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(item.recipient, (550, b"refused"))
            return _refused(item.recipient, code, reply)
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, …
            return _refused(item.recipient, exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            return MailResult(item.recipient, "deferred", f"connection lost: {_why(exc)}")
        if item.recipient in refused:
            code, reply = refused[item.recipient]
            return _refused(item.recipient, code, reply)
        return MailResult(item.recipient, "sent", "", message_id)


def _refused(recipient: str, code: int, reply: bytes | str) -> MailResult:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    detail = f"{code} {text}".strip()
    status: Literal["rejected", "deferred"] = "rejected" if 500 <= code < 600 else "deferred"
    return MailResult(recipient, status, detail)


def _why(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login refused ({exc.smtp_code})"  # never echo credentials
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {reply}"
    return str(exc) or type(exc).__name__
