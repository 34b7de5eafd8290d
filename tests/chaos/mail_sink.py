"""An email backend for the chaos tests' processes: each email is one file in CHAOS_MAIL_DIR (written whole,
then renamed, as a mail server takes a message whole or not at all), so a test can count what was sent even
from a worker it killed. The pause points "mail_before" and "mail_after" (tests/chaos/pauses.py) stop the
sender before and after the server has taken an email."""

import os
import uuid
from email import message_from_bytes, policy
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

from tests.chaos import pauses


class EmailBackend(BaseEmailBackend):
    def send_messages(self, messages) -> int:
        directory = Path(os.environ["CHAOS_MAIL_DIR"])
        for message in messages:
            pauses.at("mail_before")
            name = f"{uuid.uuid4().hex}.eml"
            (directory / f".{name}").write_bytes(message.message().as_bytes())
            (directory / f".{name}").rename(directory / name)
            pauses.at("mail_after")
        return len(messages)


def sent(sink: Path) -> list[str]:
    """The Message-ID of every email in the sink, once per email sent."""
    return [email["Message-ID"] for email in _emails(sink)]


def subjects(sink: Path) -> list[str]:
    return [email["Subject"] for email in _emails(sink)]


def _emails(sink: Path) -> list:
    return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in (sink / "mail").glob("*.eml")]
