from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from orders.models import Carrier, Order, OrderItem
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


class ItemInSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))


class OrderCreateSerializer(serializers.Serializer):
    number = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", max_length=40)
    buyer = serializers.CharField(max_length=150, help_text="The buyer's username.")
    seller = serializers.CharField(max_length=150, help_text="The store's slug, or its owner's username.")
    carrier = CarrierField()
    placed_at = serializers.DateTimeField()
    ship_by = serializers.DateTimeField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    currency = serializers.RegexField(
        r"^[A-Z]{3}$", error_messages={"invalid": _("Use a three-letter code such as USD.")}
    )
    items = ItemInSerializer(many=True, allow_empty=False, max_length=500)

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
    class Meta:
        model = OrderItem
        fields = ["title", "quantity", "unit_price"]


class OrderSerializer(serializers.ModelSerializer):
    buyer = serializers.CharField(source="buyer.username")
    seller = serializers.CharField(source="store.slug", help_text="The store's slug, as the platform sent it.")
    store = serializers.SerializerMethodField()
    carrier = serializers.CharField(source="carrier.code", help_text="The carrier code chosen at checkout.")
    carrier_detail = CarrierSerializer(source="carrier")
    items = ItemSerializer(many=True)
    shipment_carrier = serializers.SlugRelatedField(slug_field="code", read_only=True)
    return_policy = ReturnPolicySerializer(source="return_policy_snapshot")
    dispute = serializers.SerializerMethodField()
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
            "dispute_window",
        ]

    def get_store(self, order) -> dict:
        return {"slug": order.store.slug, "name": order.store.name, "owner": order.store.owner.username}

    def get_dispute(self, order) -> int | None:
        dispute_id = getattr(order, "live_dispute_id", None)
        return dispute_id

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
    "shipment_carrier",
    "tracking_number",
    "extension_days",
    "extension_requests",
    "return_policy",
}


class OrderListSerializer(OrderSerializer):
    class Meta(OrderSerializer.Meta):
        fields = [name for name in OrderSerializer.Meta.fields if name not in DETAIL_ONLY_FIELDS]
