"""Putting a notification into words when it is shown or sent, never when it is written.

A row holds its kind and parameters (`Notification.params`: codes, amounts, ISO times, ids). Here
they become a `Notice` in the reader's language and time zone as they are now: what happened, what
the reader can do and by when, what happens if they don't, and an absolute link (`SITE_URL`, so a
link built by a sweep or a task works from a mail client). The words for each kind are in
`notifications/texts.py`.
"""

import logging
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.middleware import known_language
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
    """The language a person reads, whoever is sending (a sweep, a task, another person's request): their
    choice, else the language their browser asked for when they last signed in, else English. Read when a
    notice is shown or sent, so it applies to every notice already written."""
    return known_language(user) or settings.LANGUAGE_CODE


def zone_of(user: User) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@contextmanager
def speaking_to(user: User, *, language: str | None = None) -> Iterator[None]:
    """Everything inside speaks the person's language (or `language`, when they read it on a page that
    speaks another) and gives times in their zone."""
    with translation.override(language or language_of(user)), timezone.override(zone_of(user)):
        yield


# Kinds that ask the reader to act, and by when. Once the dispute they were about has moved on
# (another step was taken, it closed, it left the team), that call to action no longer applies:
# the notice then says what happened, and that it is done, without the action.
ASKS_TO_ACT = frozenset(
    {
        Notification.Kind.DISPUTE_OPENED,
        Notification.Kind.YOUR_TURN,
        Notification.Kind.DAY_LEFT,
        Notification.Kind.ESCALATED,
        Notification.Kind.ASSIGNED,
        Notification.Kind.RULED,
        Notification.Kind.SLA_BREACHED,
        Notification.Kind.NEEDS_PERSON,
        Notification.Kind.RULING_WITHDRAWN,
    }
)

# Given notices (each asks to act and names its dispute), the pks of those whose dispute has moved
# on since, in one query for all of them. Set by the disputes app (it knows what a dispute's steps
# are; this app is below it): `moved_on_check_set` in DisputesConfig.ready.
_moved_on_check: Callable[[list[Notification]], set[int]] | None = None


def moved_on_check_set(check: Callable[[list[Notification]], set[int]]) -> None:
    global _moved_on_check
    _moved_on_check = check


def _asks_to_act(note: Notification) -> bool:
    return note.kind in ASKS_TO_ACT and isinstance(note.params, dict) and bool(note.params.get("dispute"))


def look_up_moved_on(notes: Iterable[Notification]) -> None:
    """Work out, for all of `notes` at once (one query), whether each one's call to action still
    applies; `render` then reads it from the row. A row rendered without this looks up its batch
    (the rows read with it), so a page or an API page costs one query, not one per notice."""
    notes = list(notes)
    asking = [note for note in notes if _asks_to_act(note)]
    moved = _moved_on_check(asking) if (asking and _moved_on_check is not None) else set()
    for note in notes:
        note.moved_on = note.pk in moved


def _moved_on(note: Notification) -> bool:
    if not _asks_to_act(note):
        return False
    if not hasattr(note, "moved_on"):
        look_up_moved_on(getattr(note, "batch", None) or [note])
    return getattr(note, "moved_on", False)


def _path(note: Notification) -> str:
    """The page the notice links to. A notice for the dispute team links to the dispute's review
    screen in admin, whatever was stored (the parties' dispute page is a dead end for the team)."""
    params = note.params if isinstance(note.params, dict) else {}
    if params.get("role") == "team" and params.get("dispute"):
        try:
            return reverse("admin:disputes_reviewqueueitem_review", args=[params["dispute"]])
        except NoReverseMatch:
            pass
    return note.url


def render(note: Notification, *, recipient: User | None = None, language: str | None = None) -> Notice:
    """The notice in its recipient's words (pass `recipient` when it is already loaded), in their language
    or in `language` (the page's or API call's, when the recipient reads it there). A notice that asked the
    reader to act on a dispute that has moved on since says what happened and that it is done, without the
    action and its deadline."""
    recipient = recipient or note.recipient
    moved_on = _moved_on(note)
    with speaking_to(recipient, language=language):
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
            if moved_on and action:
                action, otherwise = _("(Done: the dispute has moved on.)"), ""
        path = _path(note)
        return Notice(
            kind=note.kind,
            title=str(title)[:200],
            happened=str(happened),
            action=str(action),
            otherwise=str(otherwise),
            path=path,
            url=absolute_url(path),
        )
