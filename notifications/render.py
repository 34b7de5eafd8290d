"""Putting a notification into words when it is shown or sent, never when it is written.

A row holds its kind and parameters (`Notification.params`: codes, amounts, ISO times, ids). Here
they become a `Notice` in the reader's language and time zone as they are now: what happened, what
the reader can do and by when, what happens if they don't, and an absolute link (`SITE_URL`, so a
link built by a sweep or a task works from a mail client). The words for each kind are in
`notifications/texts.py`.
"""

import logging
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone, translation

from accounts.models import User
from notifications.models import Notification
from notifications.texts import words

log = logging.getLogger("dispute_desk.notifications")


@dataclass(frozen=True)
class Notice:
    kind: str
    title: str  # one line: the email's subject, the notifications page's link
    happened: str  # what happened, in words, with the amounts and the other side's offer
    action: str  # what the reader can do, and by when ("" when nothing is asked of them)
    otherwise: str  # what happens if they don't ("" when nothing does)
    path: str  # the page, for links on our own pages
    url: str  # the same page, absolute, for emails and the API

    @property
    def body(self) -> str:
        """Everything below the title, a paragraph each (the API's `body`, the plain-text email)."""
        return "\n\n".join(part for part in (self.happened, self.action, self.otherwise) if part)


def absolute_url(path: str) -> str:
    """A link that works outside the site (an email, an API client): SITE_URL and the path."""
    if not path or "://" in path:
        return path
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")


def language_of(user: User) -> str:
    """The language a person reads. One language today; a per-person choice, when there is one,
    is read here and applies to every notice already written."""
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def zone_of(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@contextmanager
def speaking_to(user: User) -> Iterator[None]:
    """Everything inside speaks the person's language and gives times in their zone."""
    with translation.override(language_of(user)), timezone.override(zone_of(user)):
        yield


def render(note: Notification, *, recipient: User | None = None) -> Notice:
    """The notice in its recipient's words (pass `recipient` when it is already loaded)."""
    recipient = recipient or note.recipient
    with speaking_to(recipient):
        if note.params is None:  # written before notices had parameters: shown as written
            title, happened, action, otherwise = note.title, note.body, "", ""
        else:
            try:
                title, happened, action, otherwise = words(note.kind, note.params)
            except (KeyError, ValueError, TypeError, ArithmeticError):
                # A notice whose parameters its words cannot read still shows (as its kind), and
                # never takes the notifications page or a delivery down with it.
                log.exception("notification=%s could not be put into words", note.pk)
                label = dict(Notification.Kind.choices).get(note.kind, note.kind)
                title, happened, action, otherwise = label, "", "", ""
        return Notice(
            kind=note.kind,
            title=str(title)[:200],
            happened=str(happened),
            action=str(action),
            otherwise=str(otherwise),
            path=note.url,
            url=absolute_url(note.url),
        )
