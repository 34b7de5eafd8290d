"""Order clocks: completion when the window closes with no live dispute (or cancellation and a
refund when it was never shipped), and the window notices. They live with the disputes because
both rules are "... with no live dispute": the order app below knows nothing of disputes."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from core.audit import audit
from core.money import money_str
from disputes.models import LIVE_REQUEST_STATES, LIVE_STATES, Dispute, ReturnRequest, State
from disputes.payments import order_refund_unshipped
from notifications.models import Notification
from notifications.services import notify
from orders.models import Order, OrderEvent, OrderStatus

LIMIT = 1000


def _no_live_dispute():
    return ~Exists(Dispute.objects.filter(order=OuterRef("pk"), state__in=[s.value for s in LIVE_STATES]))


def _no_live_request():
    return ~Exists(ReturnRequest.objects.filter(order=OuterRef("pk"), state__in=[s.value for s in LIVE_REQUEST_STATES]))


def _settled(now: datetime):
    """Nothing can still move money on the order: no live dispute or return/exchange request, and no
    ruling that may still be appealed (the seller is not paid while an appeal is possible or pending)."""
    appealable = Exists(
        Dispute.objects.filter(
            order=OuterRef("pk"), ruled_at__gt=now - timedelta(days=settings.APPEAL_DAYS), state=State.RESOLVED
        )
    )
    return Q(_no_live_dispute()) & Q(_no_live_request()) & ~Q(appealable)


def sweep_completions(*, now: datetime | None = None, limit: int = LIMIT) -> int:
    """When an order's window has closed and nothing can still move money on it:
    - a shipped order completes (funds are released to the seller), partly refunded or not;
    - an order never shipped is cancelled and the buyer refunded in full, through the same ledger
      as dispute refunds, and both parties are told. It never completes."""
    now = now or timezone.now()
    done = 0
    shipped = [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_REFUNDED]
    while True:
        with transaction.atomic():
            ids = list(
                Order.objects.filter(status__in=shipped, shipped_at__isnull=False, window_closes_at__lte=now)
                .filter(Q(returns_close_at__isnull=True) | Q(returns_close_at__lte=now))
                .filter(_settled(now))
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:limit]
            )
            if ids:
                done += Order.objects.filter(pk__in=ids).update(status=OrderStatus.COMPLETED, updated_at=now)
        if len(ids) < limit:
            break
    while True:
        with transaction.atomic():
            unshipped = list(
                Order.objects.filter(
                    status__in=[OrderStatus.AWAITING_SHIPMENT, OrderStatus.PARTIALLY_REFUNDED],
                    shipped_at__isnull=True,
                    window_closes_at__lte=now,
                )
                .filter(_settled(now))
                .select_related("buyer", "store__owner")
                .select_for_update(skip_locked=True, of=("self",))[:limit]
            )
            for order in unshipped:
                _cancel_unshipped(order)
        done += len(unshipped)
        if len(unshipped) < limit:
            return done


def _cancel_unshipped(order: Order) -> None:
    refund = order_refund_unshipped(order=order)
    amount = money_str(refund.amount if refund else Decimal("0"), order.currency)
    params = {"order": order.number, "currency": order.currency, "amount": amount}
    for person, role in ((order.buyer, "buyer"), (order.store.owner, "seller")):
        notify(
            recipient=person,
            kind=Notification.Kind.ORDER_CANCELLED,
            key=f"order:{order.pk}:cancelled:{person.pk}",
            params={**params, "role": role},
            url=reverse("orders:detail", args=[order.number]),
        )
    OrderEvent.objects.create(order=order, action="cancelled_unshipped", payload={"refunded": amount})
    audit(
        "order.event",
        order=order.number,
        action="cancelled_unshipped",
        actor="system",
        payload={"refunded": amount},
        currency=order.currency,
    )


def sweep_window_notices(*, now: datetime | None = None, limit: int = LIMIT) -> int:
    """The buyer hears when an order's dispute window opens, and 3 days before it closes. Each
    order is marked as it is notified, so each notice goes once; runs until none is left."""
    now = now or timezone.now()
    sent = 0
    while True:
        notified, taken = _window_open_notices(now, limit)
        sent += notified
        if taken < limit:
            break
    while True:
        notified, taken = _window_closing_notices(now, limit)
        sent += notified
        if taken < limit:
            return sent


def _window_open_notices(now: datetime, limit: int) -> tuple[int, int]:
    sent = 0
    with transaction.atomic():
        opening = list(
            Order.objects.filter(notified_window_open=False, window_opens_at__lte=now)
            # A sweep that runs late must not invite a buyer to open a dispute they already opened.
            .annotate(disputed=Exists(Dispute.objects.filter(order=OuterRef("pk"))))
            .select_related("buyer")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        for order in opening:
            if order.window_closes_at > now and not order.disputed:
                notify(
                    recipient=order.buyer,
                    kind=Notification.Kind.WINDOW_OPENS,
                    key=f"order:{order.pk}:window_opens:{order.window_opens_at.isoformat()}",
                    params=_window_params(order),
                    url=reverse("orders:detail", args=[order.number]),
                )
                sent += 1
        Order.objects.filter(pk__in=[o.pk for o in opening]).update(notified_window_open=True)
    return sent, len(opening)


def _window_closing_notices(now: datetime, limit: int) -> tuple[int, int]:
    sent = 0
    with transaction.atomic():
        closing = list(
            Order.objects.filter(
                notified_window_closing=False,
                window_closes_at__lte=now + timedelta(days=settings.WINDOW_CLOSING_NOTICE_DAYS),
            )
            .filter(_no_live_dispute())
            .select_related("buyer")
            .select_for_update(skip_locked=True, of=("self",))[:limit]
        )
        for order in closing:
            if order.window_opens_at <= now < order.window_closes_at:
                notify(recipient=order.buyer, kind=Notification.Kind.WINDOW_CLOSING,
                       key=f"order:{order.pk}:window_closing:{order.window_closes_at.isoformat()}",
                       params=_window_params(order, days=settings.WINDOW_CLOSING_NOTICE_DAYS),
                       url=reverse("orders:detail", args=[order.number]))  # fmt: skip
                sent += 1
        Order.objects.filter(pk__in=[o.pk for o in closing]).update(notified_window_closing=True)
    return sent, len(closing)


def _window_params(order: Order, **more) -> dict:
    """A window notice's facts: the order, what was paid, and when the window closes."""
    total = money_str(order.total, order.currency)
    return {"order": order.number, "role": "buyer", "total": total, "currency": order.currency,
            "deadline": order.window_closes_at.isoformat(), **more}  # fmt: skip
