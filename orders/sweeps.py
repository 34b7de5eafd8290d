"""Order clocks: completion when the window closes with no live dispute; window notices."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from disputes.models import LIVE_STATES, Dispute
from messaging.models import Notification
from messaging.notifications import notify
from orders.models import Order, OrderStatus

BATCH = 1000
CLOSING_NOTICE = timedelta(days=3)


def _no_live_dispute():
    return ~Exists(Dispute.objects.filter(order=OuterRef("pk"), state__in=[s.value for s in LIVE_STATES]))


def sweep_completions(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Shipped or delivered orders whose window has closed with no live dispute complete (funds
    are released to the seller). An order still awaiting shipment never completes by itself."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            ids = list(
                Order.objects.filter(status__in=[OrderStatus.SHIPPED, OrderStatus.DELIVERED], window_closes_at__lte=now)
                .filter(_no_live_dispute())
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch]
            )
            if ids:
                done += Order.objects.filter(pk__in=ids).update(status=OrderStatus.COMPLETED, updated_at=now)
        if len(ids) < batch:
            return done


def sweep_window_notices(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """The buyer hears when an order's dispute window opens, and 3 days before it closes. Each
    order is marked as it is notified, so each notice goes once; runs until none is left."""
    now = now or timezone.now()
    sent = 0
    while True:
        notified, taken = _window_open_notices(now, batch)
        sent += notified
        if taken < batch:
            break
    while True:
        notified, taken = _window_closing_notices(now, batch)
        sent += notified
        if taken < batch:
            return sent


def _window_open_notices(now: datetime, batch: int) -> tuple[int, int]:
    sent = 0
    with transaction.atomic():
        opening = list(
            Order.objects.filter(notified_window_open=False, window_opens_at__lte=now)
            # A sweep that runs late must not invite a buyer to open a dispute they already opened.
            .annotate(disputed=Exists(Dispute.objects.filter(order=OuterRef("pk"))))
            .select_related("buyer")
            .select_for_update(skip_locked=True, of=("self",))[:batch]
        )
        for order in opening:
            if order.window_closes_at > now and not order.disputed:
                notify(
                    recipient=order.buyer,
                    kind=Notification.Kind.WINDOW_OPENS,
                    key=f"order:{order.pk}:window_opens:{order.window_opens_at.isoformat()}",
                    title=_("You can now open a dispute on order %(n)s if something is wrong.") % {"n": order.number},
                    url=f"/orders/{order.number}/",
                )
                sent += 1
        Order.objects.filter(pk__in=[o.pk for o in opening]).update(notified_window_open=True)
    return sent, len(opening)


def _window_closing_notices(now: datetime, batch: int) -> tuple[int, int]:
    sent = 0
    with transaction.atomic():
        closing = list(
            Order.objects.filter(notified_window_closing=False, window_closes_at__lte=now + CLOSING_NOTICE)
            .filter(_no_live_dispute())
            .select_related("buyer")
            .select_for_update(skip_locked=True, of=("self",))[:batch]
        )
        for order in closing:
            if order.window_opens_at <= now < order.window_closes_at:
                notify(recipient=order.buyer, kind=Notification.Kind.WINDOW_CLOSING,
                       key=f"order:{order.pk}:window_closing:{order.window_closes_at.isoformat()}",
                       title=_("Buyer protection for order %(n)s ends in 3 days.") % {"n": order.number},
                       url=f"/orders/{order.number}/")  # fmt: skip
                sent += 1
        Order.objects.filter(pk__in=[o.pk for o in closing]).update(notified_window_closing=True)
    return sent, len(closing)
