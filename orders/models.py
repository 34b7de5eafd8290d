from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import DECIMAL_PLACES, MAX_DIGITS, is_currency, quantum
from orders.window import DisputeWindow, window_bounds, window_state
from sellers.models import Store


def currency_validator(value: str) -> None:
    """A real ISO 4217 currency in use (Babel's data), not any three letters."""
    if not is_currency(value):
        raise ValidationError(_("Use an ISO 4217 currency code such as USD."), code="invalid_currency")


class Carrier(models.Model):
    """A shipping option. Its dispute_window_days sets how long buyers may open a dispute."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    dispute_window_days = models.PositiveSmallIntegerField(
        _("dispute window (days)"), validators=[MinValueValidator(7)]
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["dispute_window_days", "name"]
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    AWAITING_SHIPMENT = "awaiting_shipment", _("Awaiting shipment")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    # Never shipped by the time its window closed: refunded in full and cancelled.
    CANCELLED = "cancelled", _("Cancelled and refunded")


class Order(models.Model):
    number = models.CharField(
        _("number"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", _("Letters, digits, - and _ only."))],
    )
    # Indexes: only those a query uses, since every status change pays for each one. Buyer and
    # store are served by the (buyer|store, -placed_at) indexes below; a carrier is one of a
    # handful, too common to be worth an index of its own.
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
        verbose_name=_("buyer"),
    )
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="orders", db_index=False, verbose_name=_("store")
    )
    carrier = models.ForeignKey(
        Carrier,
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
        help_text=_("The shipping option chosen at checkout."),
        verbose_name=_("carrier"),
    )
    # Money columns hold three decimals, enough for every currency (KWD); an amount has at most its
    # own currency's (core.money): JPY 0, USD 2, KWD 3.
    total = models.DecimalField(
        _("total"),
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    currency = models.CharField(_("currency"), max_length=3, validators=[currency_validator])
    placed_at = models.DateTimeField(_("placed at"))
    ship_by = models.DateTimeField(_("ship by"))
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    shipment_carrier = models.ForeignKey(
        Carrier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("shipped with"),
    )
    tracking_number = models.CharField(_("tracking number"), max_length=80, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.AWAITING_SHIPMENT
    )
    extension_days = models.PositiveSmallIntegerField(_("protection extension (days)"), default=0)
    # The carrier's window length as it applies to this order: taken when the order is placed, raised
    # when staff lengthen the carrier's days while the window is still open, never lowered
    # (a shorter carrier window applies only to orders placed after the edit).
    window_days = models.PositiveSmallIntegerField(_("dispute window (days)"))
    # Kept in step with the facts above by refresh_window(), so lists filter and sweeps find
    # due rows with an index instead of recomputing every order.
    window_opens_at = models.DateTimeField(_("dispute window opens"), db_index=True)
    window_closes_at = models.DateTimeField(_("dispute window closes"), db_index=True)
    return_policy_snapshot = models.JSONField(_("return policy when placed"), default=dict)
    # When the policy's return period ends: its days after delivery, or after the window opens for
    # an order never marked delivered; null when the policy takes no returns. The order completes
    # only once this and the dispute window are both over (kept by refresh_returns()).
    returns_close_at = models.DateTimeField(_("return period ends"), null=True, blank=True)
    # Which window notifications have gone out (the sweeps read only the rows still to do).
    notified_window_open = models.BooleanField(default=False)
    notified_window_closing = models.BooleanField(default=False)
    # Fingerprint of the platform's create request, so a retry is recognised (docs/rules.md §6).
    source_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["-placed_at", "-id"], name="order_newest_first"),  # every order, for the team
            models.Index(fields=["buyer", "-placed_at"]),
            models.Index(fields=["store", "-placed_at"]),
            models.Index(fields=["status", "window_closes_at"]),
            models.Index(
                fields=["window_opens_at"],
                condition=models.Q(notified_window_open=False),
                name="order_window_open_todo",
            ),
            models.Index(
                fields=["window_closes_at"],
                condition=models.Q(notified_window_closing=False),
                name="order_window_closing_todo",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gt=0), name="order_total_positive"),
            models.CheckConstraint(
                condition=models.Q(ship_by__gte=models.F("placed_at")), name="order_ship_by_after_placed"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        """The total in whole minor units of its currency: no fraction of a yen."""
        super().clean()
        if (
            self.total is not None
            and is_currency(self.currency)
            and self.total != self.total.quantize(quantum(self.currency))
        ):
            raise ValidationError(
                {"total": _("The total has more decimals than %(currency)s has.") % {"currency": self.currency}}
            )

    def refresh_window(self, now=None) -> None:
        """Work out the window from the order's facts. Once the window has opened it only grows: a
        late shipment never moves its opening later, and nothing moves its closing earlier."""
        if not self.window_days:
            self.window_days = self.carrier.dispute_window_days
        opens_at, closes_at = window_bounds(
            shipped_at=self.shipped_at,
            ship_by=self.ship_by,
            window_days=self.window_days,
            extension_days=self.extension_days,
            opens_after_days=settings.DISPUTE_WINDOW_OPENS_AFTER_DAYS,
        )
        now = now or timezone.now()
        if self.window_opens_at is not None and self.window_opens_at <= now:
            opens_at = min(opens_at, self.window_opens_at)
            closes_at = max(closes_at, self.window_closes_at)
        self.window_opens_at, self.window_closes_at = opens_at, closes_at
        self.refresh_returns()

    def refresh_returns(self) -> None:
        policy = self.return_policy_snapshot or {}
        starts = self.delivered_at or self.window_opens_at
        if not policy.get("accepts_returns") or not policy.get("return_days") or starts is None:
            self.returns_close_at = None
        else:
            self.returns_close_at = starts + timedelta(days=int(policy["return_days"]))

    def dispute_window(self, now=None) -> DisputeWindow:
        """The window as stored: the one source of truth for request-time checks, sweeps, list
        filters and notices alike."""
        return window_state(opens_at=self.window_opens_at, closes_at=self.window_closes_at, now=now or timezone.now())


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    title = models.CharField(_("title"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(
        _("unit price"), max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, validators=[MinValueValidator(0)]
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("item")
        verbose_name_plural = _("items")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class ExtensionRequest(models.Model):
    """A buyer asking the seller for more days of protection. The seller grants days (any number up
    to EXTENSION_MAX_DAYS, not necessarily the days asked) or declines with a reason."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the seller")
        GRANTED = "granted", _("Granted")
        DECLINED = "declined", _("Declined")

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="extension_requests", verbose_name=_("order")
    )
    days = models.PositiveSmallIntegerField(_("days asked"))
    note = models.TextField(_("note"), blank=True, max_length=1000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    granted_days = models.PositiveSmallIntegerField(_("granted days"), null=True, blank=True)
    decline_reason = models.TextField(_("why the seller declined"), blank=True, max_length=1000)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=models.Q(status="pending"), name="one_pending_extension_request_per_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.order} +{self.days} days ({self.status})"


class OrderEvent(models.Model):
    """Append-only record of what happened to an order (created, shipped, delivered, extended)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=40)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.order} {self.action}"
