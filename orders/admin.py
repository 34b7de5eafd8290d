from django.contrib import admin

from orders.models import Carrier, ExtensionRequest, Order, OrderEvent, OrderItem
from orders.services import carrier_set_window_days


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "dispute_window_days", "is_active")
    list_editable = ("dispute_window_days", "is_active")
    search_fields = ("code", "name")

    def save_model(self, request, obj, form, change):
        """A change of window days goes through the service, which applies it to the orders whose
        window has not closed (when it grows) and to new orders only (when it shrinks)."""
        days = obj.dispute_window_days
        if change and "dispute_window_days" in form.changed_data:
            obj.dispute_window_days = form.initial["dispute_window_days"]
            super().save_model(request, obj, form, change)
            carrier_set_window_days(actor=request.user, carrier=obj, days=days)
            obj.refresh_from_db()
            return
        super().save_model(request, obj, form, change)


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    readonly_fields = ("title", "quantity", "unit_price")
    can_delete = False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    readonly_fields = ("created_at", "actor", "action", "payload")
    can_delete = False

    def get_queryset(self, request):
        # Each row shows its actor, and its str() names the order: both in the one query.
        return super().get_queryset(request).select_related("actor", "order")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "buyer",
        "store",
        "carrier",
        "total",
        "currency",
        "status",
        "window_opens_at",
        "window_closes_at",
    )
    list_filter = ("status", "carrier", "store")
    search_fields = ("number", "buyer__username", "store__name", "tracking_number")
    list_select_related = ("buyer", "store", "carrier")
    raw_id_fields = ("buyer", "store")
    readonly_fields = ("window_opens_at", "window_closes_at", "return_policy_snapshot", "created_at", "updated_at")
    inlines = [OrderItemInline, OrderEventInline]
    date_hierarchy = "placed_at"

    def get_search_results(self, request, queryset, search_term):
        """An exact order number (what the team usually pastes) is found through its unique index;
        anything else searches every field as usual, which reads the whole table."""
        term = search_term.strip()
        if term:
            exact = queryset.filter(number=term)
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(admin.ModelAdmin):
    list_display = ("order", "days", "status", "granted_days", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("order",)
    list_select_related = ("order",)
