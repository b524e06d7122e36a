"""kind = "email": SMTP with optional STARTTLS (or implicit TLS) and login; text and HTML parts."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from monitor.alerts.render import html_body, plain_text, subject
from monitor.config import ChannelConfig
from monitor.models import Alert, Delivery

MESSAGE_DOMAIN = "statement-monitor"


def message_id(delivery_id: str) -> str:
    return f"<{delivery_id}@{MESSAGE_DOMAIN}>"


def build_message(config: ChannelConfig, alert: Alert) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = " ".join(subject(alert).split())[:250]
    message["From"] = config.from_addr or ""
    message["To"] = ", ".join(config.to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(alert.delivery_id)
    message["X-Delivery-Id"] = alert.delivery_id
    if alert.thread_id and alert.thread_id != alert.delivery_id:
        message["In-Reply-To"] = message_id(alert.thread_id)
        message["References"] = message_id(alert.thread_id)
    message.set_content(plain_text(alert))
    message.add_alternative(html_body(alert), subtype="html")
    return message


class EmailChannel:
    def __init__(self, config: ChannelConfig) -> None:
        self.name, self.config = config.name, config

    def send(self, alert: Alert) -> Delivery:
        c = self.config
        try:
            smtp_class = smtplib.SMTP_SSL if c.ssl else smtplib.SMTP
            with smtp_class(c.host or "localhost", c.port, timeout=c.timeout_seconds) as smtp:
                if c.starttls and not c.ssl:
                    smtp.starttls(context=ssl.create_default_context())
                if c.username:
                    smtp.login(c.username, c.password or "")
                smtp.send_message(build_message(c, alert))
        except smtplib.SMTPRecipientsRefused as exc:
            return Delivery(ok=False, error=f"SMTP refused the recipients {sorted(exc.recipients)}", permanent=True)
        except smtplib.SMTPAuthenticationError as exc:
            return Delivery(ok=False, error=f"SMTP login failed ({exc.smtp_code})", permanent=True)
        except smtplib.SMTPResponseException as exc:
            return Delivery(ok=False, error=f"SMTP server answered {exc.smtp_code}: {exc.smtp_error!r}",
                            permanent=500 <= exc.smtp_code < 600)
        except (smtplib.SMTPException, OSError) as exc:
            return Delivery(ok=False, error=f"SMTP {c.host}:{c.port} unreachable ({type(exc).__name__}: {exc})")
        return Delivery(ok=True)
