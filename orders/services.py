"""Order rules: creation from the platform, shipment and delivery events, protection extensions.

Every change runs in one transaction on a locked order row and leaves an OrderEvent behind.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from core.audit import audit
from core.errors import RuleViolation
from core.money import is_currency, minor_digits, money_str, parse_amount
from orders.models import Carrier, ExtensionRequest, Order, OrderEvent, OrderItem, OrderStatus
from sellers.models import Store
from sellers.services import store_policy

# A platform clock a little ahead of ours must not make a fresh event look like the future.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ItemLine:
    title: str
    quantity: int
    unit_price: Decimal


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _fingerprint(**facts) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def _fingerprint_amount(amount: Decimal, currency: str) -> str:
    """An amount as the fingerprint writes it: with two decimals, or the currency's own when it has
    more (KWD). Two, not the currency's own, for the rest: orders fingerprinted before amounts were
    held to their currency's minor unit wrote every amount with two ("1234.00" JPY), and a retry of
    one of them must still be recognised as the same order."""
    return format(amount.quantize(Decimal(1).scaleb(-max(2, minor_digits(currency)))), "f")


# Called with (order, event) for each order event, in its transaction: who hears about it is
# decided above this app (the disputes app sets it in DisputesConfig.ready; orders knows no notices).
_event_listeners: list = []


def order_event_listener_add(listener) -> None:
    if listener not in _event_listeners:
        _event_listeners.append(listener)


def _event(order: Order, action: str, actor: User | None, **payload) -> None:
    event = OrderEvent.objects.create(order=order, actor=actor, action=action, payload=payload)
    for listener in _event_listeners:
        listener(order, event)
    audit(
        "order.event", order=order.number, action=action, actor=actor.username if actor else "system", payload=payload
    )


def order_create(
    *,
    actor: User,
    number: str,
    buyer: User,
    store: Store,
    carrier: Carrier,
    placed_at: datetime,
    ship_by: datetime,
    total: Decimal,
    currency: str,
    items: list[ItemLine],
) -> tuple[Order, bool]:
    """Create an order, freezing the store's return policy as it stands now.

    Idempotent on `number`: the same request again returns the existing order (created=False);
    the same number with different facts is refused with `order_exists`.
    """
    if ship_by < placed_at:
        raise RuleViolation("invalid", _("ship_by cannot be before placed_at."), status=400)
    if not is_currency(currency):
        detail = _("Use an ISO 4217 currency code such as USD.")
        raise RuleViolation("invalid", detail, status=400, fields={"currency": [detail]})
    # Each amount in whole minor units of the currency: "1234" JPY, "12.50" USD, "1.250" KWD.
    total = parse_amount(total, currency, field="total")
    items = [ItemLine(i.title, i.quantity, parse_amount(i.unit_price, currency, field="unit_price")) for i in items]
    fingerprint = _fingerprint(
        number=number,
        buyer=buyer.pk,
        store=store.pk,
        carrier=carrier.code,
        placed_at=_utc(placed_at),
        ship_by=_utc(ship_by),
        total=_fingerprint_amount(total, currency),
        currency=currency,
        items=[[i.title, i.quantity, _fingerprint_amount(i.unit_price, currency)] for i in items],
    )
    existing = Order.objects.filter(number=number).first()
    if existing is None:
        try:
            with transaction.atomic():
                order = Order(
                    number=number,
                    buyer=buyer,
                    store=store,
                    carrier=carrier,
                    placed_at=placed_at,
                    ship_by=ship_by,
                    total=total,
                    currency=currency,
                    return_policy_snapshot=store_policy(store).snapshot(),
                    source_fingerprint=fingerprint,
                )
                order.refresh_window()
                order.save()
                OrderItem.objects.bulk_create(
                    OrderItem(order=order, title=i.title, quantity=i.quantity, unit_price=i.unit_price) for i in items
                )
                _event(order, "created", actor, total=money_str(total, currency), currency=currency)
            return order, True
        except IntegrityError:
            # A concurrent request with the same number won the race; judge against its row.
            existing = Order.objects.get(number=number)
    if existing.source_fingerprint != fingerprint:
        raise RuleViolation(
            "order_exists",
            _("Order %(number)s already exists with different details; send the original details or a new number.")
            % {"number": number},
        )
    return existing, False


def order_record_shipment(
    *, actor: User, order: Order, carrier: Carrier, tracking_number: str, shipped_at: datetime
) -> Order:
    """Record that the seller shipped. Repeating the same event is harmless; a different one is refused."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("carrier").get(pk=order.pk)
        if order.shipped_at is not None:
            if (
                order.shipped_at == shipped_at
                and order.tracking_number == tracking_number
                and order.shipment_carrier_id == carrier.pk
            ):
                return order
            raise RuleViolation(
                "already_shipped",
                _("This order was already recorded as shipped on %(date)s with tracking %(tracking)s.")
                % {"date": _utc(order.shipped_at), "tracking": order.tracking_number},
            )
        if order.status == OrderStatus.CANCELLED:
            # Its window closed unshipped: the buyer was refunded in full and both parties told.
            raise RuleViolation(
                "order_cancelled",
                _(
                    "This order was cancelled and refunded in full because it did not ship in time; "
                    "a shipment can no longer be recorded."
                ),
            )
        if shipped_at < order.placed_at:
            raise RuleViolation("invalid", _("shipped_at cannot be before the order was placed."), status=400)
        if shipped_at > timezone.now() + CLOCK_SKEW:
            raise RuleViolation("invalid", _("shipped_at cannot be in the future."), status=400)
        order.shipped_at = shipped_at
        order.shipment_carrier = carrier
        order.tracking_number = tracking_number
        if order.status == OrderStatus.AWAITING_SHIPMENT:
            order.status = OrderStatus.SHIPPED
        order.refresh_window()
        order.save()
        _event(
            order, "shipped", actor, carrier=carrier.code, tracking_number=tracking_number, shipped_at=_utc(shipped_at)
        )
    return order


def order_record_delivery(*, actor: User, order: Order, delivered_at: datetime) -> Order:
    """Record delivery. Repeating it is harmless; delivery before shipment is refused."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("carrier").get(pk=order.pk)
        if order.shipped_at is None:
            raise RuleViolation("not_shipped", _("This order has no shipment yet; record the shipment first."))
        if order.delivered_at is not None:
            if order.delivered_at == delivered_at:
                return order
            raise RuleViolation(
                "already_delivered",
                _("This order was already recorded as delivered on %(date)s.") % {"date": _utc(order.delivered_at)},
            )
        if delivered_at < order.shipped_at:
            raise RuleViolation("invalid", _("delivered_at cannot be before shipped_at."), status=400)
        if delivered_at > timezone.now() + CLOCK_SKEW:
            raise RuleViolation("invalid", _("delivered_at cannot be in the future."), status=400)
        order.delivered_at = delivered_at
        if order.status not in (OrderStatus.COMPLETED, OrderStatus.CANCELLED):
            # A delivery reported after the order completed does not reopen its return period.
            order.refresh_returns()
        if order.status == OrderStatus.SHIPPED:
            order.status = OrderStatus.DELIVERED
        order.save()
        _event(order, "delivered", actor, delivered_at=_utc(delivered_at))
    return order


def _refuse_if_closed(order: Order, now: datetime) -> None:
    window = order.dispute_window(now)
    if window.state == "closed":
        raise RuleViolation(
            "window_closed",
            _("The protection window closed on %(date)s; it can no longer be extended.")
            % {"date": date_format(timezone.localtime(window.closes_at), "j M Y, H:i T")},
        )


def _check_days(days: int) -> None:
    if not 1 <= days <= settings.EXTENSION_MAX_DAYS:
        raise RuleViolation(
            "invalid",
            _("Ask for between 1 and %(max)s days.") % {"max": settings.EXTENSION_MAX_DAYS},
            status=400,
        )


def extension_request(*, buyer: User, order: Order, days: int, note: str = "") -> ExtensionRequest:
    """The buyer asks the seller for more days of protection, while the window has not closed."""
    _check_days(days)
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("carrier").get(pk=order.pk)
        if not roles.is_order_buyer(buyer, order):
            raise RuleViolation("forbidden", _("Only the buyer can ask for an extension."), status=403)
        _refuse_if_closed(order, timezone.now())
        if order.extension_requests.filter(status=ExtensionRequest.Status.PENDING).exists():
            raise RuleViolation(
                "extension_pending", _("You already asked for an extension; the seller has not answered yet.")
            )
        request = ExtensionRequest.objects.create(order=order, days=days, note=note)
        _event(order, "extension_requested", buyer, days=days, note=note)
    return request


def extension_grant(*, seller: User, order: Order, days: int) -> Order:
    """The seller grants more days; a window only grows. Answers any pending request."""
    _check_days(days)
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("carrier", "store").get(pk=order.pk)
        if not roles.is_order_seller(seller, order):
            raise RuleViolation("forbidden", _("Only the store owner can grant an extension."), status=403)
        now = timezone.now()
        _refuse_if_closed(order, now)
        order.extension_days += days
        order.refresh_window()
        order.notified_window_closing = False  # the "closes in 3 days" notice is due again later
        order.save()
        order.extension_requests.filter(status=ExtensionRequest.Status.PENDING).update(
            status=ExtensionRequest.Status.GRANTED, granted_days=days, decided_at=now
        )
        _event(order, "extension_granted", seller, days=days, closes_at=_utc(order.window_closes_at))
    return order


def extension_decline(*, seller: User, order: Order, reason: str) -> ExtensionRequest:
    """The seller declines the buyer's waiting request, saying why; the window stays as it is.

    Only the store owner, only a request that waits, and never without a reason (the buyer reads it).
    A request may be declined after the window closed: it could no longer be granted anyway."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("invalid", _("Say why you decline; the buyer will read it."), status=400)
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("store").get(pk=order.pk)
        if not roles.is_order_seller(seller, order):
            raise RuleViolation("forbidden", _("Only the store owner can decline an extension."), status=403)
        request = order.extension_requests.filter(status=ExtensionRequest.Status.PENDING).first()
        if request is None:
            raise RuleViolation(
                "extension_not_pending", _("No extension request is waiting for an answer on this order.")
            )
        request.status = ExtensionRequest.Status.DECLINED
        request.decline_reason = reason
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decline_reason", "decided_at"])
        _event(order, "extension_declined", seller, days=request.days, reason=reason)
    return request


def carrier_set_window_days(*, actor: User | None, carrier: Carrier, days: int, now: datetime | None = None) -> Carrier:
    """Staff change how many days a carrier's dispute window lasts. A window only grows:
    lengthening applies at once to every order whose window has not closed; shortening applies
    only to orders placed after the edit (each order keeps the days it was placed with)."""
    now = now or timezone.now()
    with transaction.atomic():
        carrier = Carrier.objects.select_for_update().get(pk=carrier.pk)
        before = carrier.dispute_window_days
        carrier.dispute_window_days = days
        carrier.full_clean()
        carrier.save(update_fields=["dispute_window_days"])
        lengthened = 0
        if days > before:
            orders = Order.objects.select_for_update().filter(
                carrier=carrier, window_closes_at__gt=now, window_days__lt=days
            )
            for chunk in _chunks(orders.order_by("pk").select_related("carrier"), 1000):
                for order in chunk:
                    order.window_days = days
                    order.refresh_window(now)
                    order.notified_window_closing = False  # the "closes in 3 days" notice is due again later
                Order.objects.bulk_update(
                    chunk, ["window_days", "window_opens_at", "window_closes_at", "notified_window_closing"]
                )
                lengthened += len(chunk)
    audit(
        "carrier.window_days_changed",
        carrier=carrier.code,
        actor=actor.username if actor else "system",
        from_days=before,
        to_days=days,
        orders_lengthened=lengthened,
    )
    return carrier


def _chunks(queryset, size: int):
    """A queryset's rows a list at a time, by primary key (keyset), for updates in bounded memory."""
    last = 0
    while chunk := list(queryset.filter(pk__gt=last)[:size]):
        yield chunk
        last = chunk[-1].pk
