"""Notifications: a row per recipient and event, written with the change that caused it; an email
sent after commit; a sweep that delivers what a lost task missed. Never twice (dedupe_key).

Two sinks with the same method: `Sink` writes each notification now (a person's action), and
`CollectingSink` gathers them and writes them in one statement when it is flushed (a sweep's chunk
of clock transitions, which may notify thousands of people). Whoever writes is handed the sink.

A notification is written as its kind and `params` (amounts, times, ids, codes) and put into words
when it is shown or sent (`notifications.render`): nothing is formatted per row here, so a sweep's
cost per notice stays one small dict, and a later language or time-zone choice applies to it.
`title` and `body` are for a fixed text (tests, and rows written before `params`).
"""

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone

from accounts.models import User
from core.bulk import insert_values
from core.queue import enqueue
from notifications.models import Notification

FIELDS = ["recipient_id", "kind", "dedupe_key", "params", "title", "body", "url", "created_at"]
_PARAMS = Notification._meta.get_field("params")

# Notifications per delivery task when a sink flushes many. A task that reaches its soft time limit
# stops and is retried; the ones it already sent are skipped (each is claimed before sending).
DELIVERY_GROUP = 500


class Sink:
    """Writes each notification now, once per key, and queues its delivery after commit."""

    def notify(
        self,
        *,
        recipient: User | None,
        kind: str,
        key: str,
        params: dict | None = None,
        url: str = "",
        title: str = "",
        body: str = "",
    ) -> None:
        """Nobody inactive (or nobody at all) is notified; keys and titles are cut to their columns."""
        if recipient is None or not recipient.is_active:
            return
        self.write(recipient, kind, key[:200], params, url, title[:200], body)

    def write(self, recipient: User, kind: str, key: str, params, url: str, title: str, body: str) -> None:
        try:
            with transaction.atomic():
                note = Notification.objects.create(
                    recipient=recipient, kind=kind, dedupe_key=key, params=params, title=title, body=body, url=url
                )
        except IntegrityError:
            return  # already notified for this event
        transaction.on_commit(lambda: _queue_one(note.pk))


class CollectingSink(Sink):
    """Gathers notifications and writes them together on `flush`, with one delivery task per
    DELIVERY_GROUP. Only for keys that cannot exist yet (a sweep's new events): the insert does not
    skip duplicates one by one."""

    def __init__(self) -> None:
        self.rows: list[list] = []  # in FIELDS order

    def write(self, recipient: User, kind: str, key: str, params, url: str, title: str, body: str) -> None:
        self.rows.append([recipient.pk, kind, key, params, title, body, url, timezone.now()])

    def flush(self) -> list[int]:
        rows, self.rows = self.rows, []
        db = connections[DEFAULT_DB_ALIAS]
        if db.vendor == "postgresql":  # insert_values takes ready values there: the JSON adapter
            prepare = _PARAMS.get_db_prep_save
            for row in rows:
                row[3] = prepare(row[3], db)
        ids = insert_values(Notification, FIELDS, rows)
        if ids:
            transaction.on_commit(lambda: _queue_groups(ids))
        return ids


NOW = Sink()


def notify(
    *,
    recipient: User | None,
    kind: str,
    key: str,
    params: dict | None = None,
    url: str = "",
    title: str = "",
    body: str = "",
) -> None:
    """Record a notification now (once per key) and queue its delivery after commit. `url` is a
    path (made absolute when shown or sent)."""
    NOW.notify(recipient=recipient, kind=kind, key=key, params=params, url=url, title=title, body=body)


def _queue_one(notification_id: int) -> None:
    from notifications.tasks import deliver_notification

    enqueue(deliver_notification, notification_id)


def _queue_groups(ids: list[int]) -> None:
    from notifications.tasks import deliver_notifications

    for start in range(0, len(ids), DELIVERY_GROUP):
        enqueue(deliver_notifications, ids[start : start + DELIVERY_GROUP])


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
