import re
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.errors import RuleViolation
from core.money import DECIMAL_PLACES, MAX_DIGITS, MoneyField, is_currency, parse_amount
from orders.models import Carrier, Order, OrderItem
from orders.selectors import order_claims
from orders.services import ItemLine
from sellers.models import Store
from sellers.serializers import ReturnPolicySerializer

User = get_user_model()


class CarrierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Carrier
        fields = ["code", "name", "dispute_window_days"]


class CarrierField(serializers.SlugRelatedField):
    default_error_messages = {
        "does_not_exist": _("Unknown carrier code {value}. GET /api/carriers/ lists the codes."),
        "invalid": _("Give a carrier code as a string."),
    }

    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Carrier.objects.filter(is_active=True), **kwargs)


class AmountField(serializers.DecimalField):
    """A decimal written out in digits: "1e3" and "NaN" are refused like any other non-amount."""

    def to_internal_value(self, data):
        if isinstance(data, str) and not re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", data):
            self.fail("invalid")
        return super().to_internal_value(data)


def amount_in(**kwargs) -> serializers.DecimalField:
    """An amount sent in: up to the columns' three decimals here; the rule that takes it then holds it
    to the order's currency's own minor unit (core.money.parse_amount): "1234" JPY, "12.50" USD,
    "1.250" KWD."""
    return AmountField(
        max_digits=MAX_DIGITS,
        decimal_places=DECIMAL_PLACES,
        help_text=_(
            'A decimal string in the order\'s currency, in its own minor unit: "1234" JPY, "12.50" USD, '
            '"1.250" KWD; more decimals than the currency has are refused.'
        ),
        error_messages={
            "max_decimal_places": _("Give at most the currency's own decimals: none for JPY, 2 for USD, 3 for KWD."),
        },
        **kwargs,
    )


class ItemInSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = amount_in(min_value=Decimal("0"))


class OrderCreateSerializer(serializers.Serializer):
    number = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=40)
    buyer = serializers.CharField(max_length=150, help_text="The buyer's username.")
    seller = serializers.CharField(max_length=150, help_text="The store's slug, or its owner's username.")
    carrier = CarrierField()
    placed_at = serializers.DateTimeField()
    ship_by = serializers.DateTimeField()
    total = amount_in(min_value=Decimal("0.001"))
    currency = serializers.CharField(
        min_length=3, max_length=3, help_text=_("An ISO 4217 currency code in upper case, such as USD, JPY or KWD.")
    )
    items = ItemInSerializer(many=True, allow_empty=False, max_length=500)

    def validate_currency(self, value: str) -> str:
        if not is_currency(value):
            raise serializers.ValidationError(_("Use an ISO 4217 currency code such as USD."))
        return value

    def validate_buyer(self, value: str):
        try:
            return User.objects.get(username=value, is_active=True)
        except User.DoesNotExist:
            raise serializers.ValidationError(_("No active user is called %(name)s.") % {"name": value}) from None

    def validate_seller(self, value: str):
        stores = list(Store.objects.filter(Q(slug=value) | Q(owner__username=value))[:2])
        if not stores:
            raise serializers.ValidationError(_("No store has the slug or owner %(name)s.") % {"name": value})
        if len(stores) > 1 and not any(s.slug == value for s in stores):
            raise serializers.ValidationError(
                _("%(name)s owns several stores; give the store's slug.") % {"name": value}
            )
        return next((s for s in stores if s.slug == value), stores[0])

    def validate(self, attrs):
        if attrs["ship_by"] < attrs["placed_at"]:
            raise serializers.ValidationError({"ship_by": [_("ship_by cannot be before placed_at.")]})
        if attrs["buyer"].pk == attrs["seller"].owner_id:
            raise serializers.ValidationError({"buyer": [_("A store owner cannot buy from their own store.")]})
        currency = attrs["currency"]
        errors: dict = {}
        try:
            attrs["total"] = parse_amount(attrs["total"], currency, field="total")
        except RuleViolation as refusal:
            errors["total"] = [refusal.detail]
        item_errors: list[dict] = []
        for item in attrs["items"]:
            try:
                item["unit_price"] = parse_amount(item["unit_price"], currency, field="unit_price")
                item_errors.append({})
            except RuleViolation as refusal:
                item_errors.append({"unit_price": [refusal.detail]})
        if any(item_errors):
            errors["items"] = item_errors
        if errors:
            raise serializers.ValidationError(errors)
        attrs["items"] = [ItemLine(**item) for item in attrs["items"]]
        return attrs


class ShipmentSerializer(serializers.Serializer):
    carrier = CarrierField()
    tracking_number = serializers.CharField(max_length=80)
    shipped_at = serializers.DateTimeField()


class DeliverySerializer(serializers.Serializer):
    delivered_at = serializers.DateTimeField()


class ExtensionRequestSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1)
    note = serializers.CharField(max_length=1000, allow_blank=True, required=False, default="")


class ExtensionGrantSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1)


class ExtensionDeclineSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, help_text="Why the seller declines; the buyer reads it.")


class ItemSerializer(serializers.ModelSerializer):
    unit_price = MoneyField(currency_source="order.currency")

    class Meta:
        model = OrderItem
        fields = ["id", "title", "quantity", "unit_price"]


class OrderSerializer(serializers.ModelSerializer):
    buyer = serializers.CharField(source="buyer.username")
    seller = serializers.CharField(source="store.slug", help_text="The store's slug, as the platform sent it.")
    store = serializers.SerializerMethodField()
    carrier = serializers.CharField(source="carrier.code", help_text="The carrier code chosen at checkout.")
    carrier_detail = CarrierSerializer(source="carrier")
    total = MoneyField(currency_source="currency")
    items = ItemSerializer(many=True)
    shipment_carrier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    return_policy = ReturnPolicySerializer(source="return_policy_snapshot")
    dispute = serializers.SerializerMethodField(help_text="The latest live dispute's id, or null.")
    disputes = serializers.SerializerMethodField()
    requests = serializers.SerializerMethodField(help_text="Return and exchange requests made to the seller.")
    dispute_window = serializers.SerializerMethodField()
    extension_requests = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "number",
            "status",
            "buyer",
            "seller",
            "store",
            "carrier",
            "carrier_detail",
            "total",
            "currency",
            "items",
            "placed_at",
            "ship_by",
            "shipped_at",
            "shipment_carrier",
            "tracking_number",
            "delivered_at",
            "extension_days",
            "extension_requests",
            "return_policy",
            "dispute",
            "disputes",
            "requests",
            "dispute_window",
        ]

    def get_store(self, order) -> dict:
        return {"slug": order.store.slug, "name": order.store.name, "owner": order.store.owner.username}

    def _claims(self, order) -> dict:
        if not hasattr(order, "_claims"):
            order._claims = order_claims(order)
        return order._claims

    def get_dispute(self, order) -> int | None:
        if "dispute" in self._claims(order):
            return self._claims(order)["dispute"]
        return getattr(order, "live_dispute_id", None)

    def get_disputes(self, order) -> list[dict]:
        return self._claims(order).get("disputes", [])

    def get_requests(self, order) -> list[dict]:
        return self._claims(order).get("requests", [])

    def get_dispute_window(self, order) -> dict:
        window = order.dispute_window(self.context.get("now") or timezone.now())
        return {"state": window.state.value, "opens_at": window.opens_at, "closes_at": window.closes_at}

    def get_extension_requests(self, order) -> list[dict]:
        return [
            {
                "days": r.days,
                "note": r.note,
                "status": r.status,
                "granted_days": r.granted_days,
                "decline_reason": r.decline_reason,
                "created_at": r.created_at,
                "decided_at": r.decided_at,
            }
            for r in order.extension_requests.all()
        ]


# What an order's own answer has that a row of the list leaves out. A row has every other field, in
# the same order: a field added to OrderSerializer shows in the list too unless it is named here.
DETAIL_ONLY_FIELDS = {
    "items",
    "disputes",
    "requests",
    "shipment_carrier",
    "tracking_number",
    "extension_days",
    "extension_requests",
    "return_policy",
}


class OrderListSerializer(OrderSerializer):
    class Meta(OrderSerializer.Meta):
        fields = [name for name in OrderSerializer.Meta.fields if name not in DETAIL_ONLY_FIELDS]

    def get_dispute(self, order) -> int | None:
        return getattr(order, "open_dispute_id", None)  # annotated for every order read (no query per row)
