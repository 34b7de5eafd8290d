from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationQuerySet(models.QuerySet):
    """Rows read together are rendered together: each row read by one query knows the others
    (`batch`), so whatever is looked up to put one of them into words (whether its dispute has
    moved on, `notifications.render`) is looked up once for all of them: one query for a page."""

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._result_cache and isinstance(self._result_cache[0], Notification):
            batch = list(self._result_cache)
            for note in batch:
                note.batch = batch


class Notification(models.Model):
    """One row per recipient and event. Rows are written in the transaction that caused them;
    delivery (email) happens after commit, and a sweep delivers whatever a lost task missed.
    `dedupe_key` makes every notification, and so every email, happen at most once.

    A notice is stored as its kind and `params` (codes, amounts, times, ids: never finished text)
    and put into words when it is shown or sent (`notifications.render`), in the reader's language
    and time zone at that moment. `title` and `body` hold the finished text of rows written before
    `params` existed; those rows are shown as they were written."""

    class Kind(models.TextChoices):
        DISPUTE_OPENED = "dispute_opened", _("Dispute opened")
        YOUR_TURN = "your_turn", _("Your turn")
        DAY_LEFT = "day_left", _("A day left")
        ESCALATED = "escalated", _("Escalated")
        ASSIGNED = "assigned", _("Assigned to you")
        RULED = "ruled", _("Ruled")
        REFUNDED = "refunded", _("Refunded")
        RESOLVED = "resolved", _("Resolved")
        WINDOW_OPENS = "window_opens", _("Dispute window open")
        WINDOW_CLOSING = "window_closing", _("Dispute window closes soon")
        SLA_BREACHED = "sla_breached", _("Ruling overdue")
        NEEDS_PERSON = "needs_person", _("Needs a person")
        RULING_WITHDRAWN = "ruling_withdrawn", _("Proposed ruling withdrawn")
        ORDER_CANCELLED = "order_cancelled", _("Order cancelled and refunded")
        DISPUTE_CANCELLED = "dispute_cancelled", _("Dispute cancelled")
        EXTENSION = "extension", _("Extension of buyer protection")
        RETURN_REQUEST = "return_request", _("Return or exchange request")
        RECONCILE_MISMATCH = "reconcile_mismatch", _("Money reconciliation mismatch")
        DISPUTE_PAUSED = "dispute_paused", _("Dispute paused")
        DISPUTE_RESUMED = "dispute_resumed", _("Dispute resumed")
        MORE_TIME = "more_time", _("More time on a deadline")
        CASE_LINKED = "case_linked", _("Reviewed with disputes that share its cause")

    # Served by the (recipient, -created_at) index below.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    dedupe_key = models.CharField(max_length=200)  # unique: a constraint below (no LIKE index with it)
    # Null on rows written before notices were rendered from their parameters.
    params = models.JSONField(null=True, blank=True)
    title = models.CharField(max_length=200, blank=True)  # old rows only
    body = models.TextField(blank=True)  # old rows only
    url = models.CharField(max_length=200, blank=True)  # a path; made absolute with SITE_URL when shown
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        db_table = "messaging_notification"  # the table it has always had, when messaging held it
        ordering = ["-created_at", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [models.UniqueConstraint(fields=["dedupe_key"], name="notification_once_per_key")]
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            # The delivery sweep reads only what is still undelivered.
            models.Index(
                fields=["created_at"], condition=models.Q(delivered_at__isnull=True), name="notification_undelivered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"
