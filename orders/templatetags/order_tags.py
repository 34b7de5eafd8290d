from contextlib import suppress
from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.simple_tag
def order_window(order):
    """{% order_window order as window %}: the order's dispute window now."""
    return order.dispute_window()


@register.inclusion_tag("includes/window_badge.html")
def window_badge(order):
    return {"window": order.dispute_window()}


@register.inclusion_tag("includes/money.html")
def money(amount, currency):
    """An amount with its currency, always with two decimals ("5.00 USD")."""
    with suppress(InvalidOperation, ValueError):
        amount = Decimal(str(amount if amount not in (None, "") else 0)).quantize(Decimal("0.01"))
    return {"amount": amount, "currency": currency}


@register.filter
def reason_label(value: str) -> str:
    from sellers.models import ReturnReason

    return dict(ReturnReason.choices).get(value, value)


@register.simple_tag
def has_purchases(user) -> bool:
    """{% has_purchases user as buys %}: whether the user bought anything (a seller who buys nothing
    needs no "My orders" in the menu)."""
    from orders.models import Order

    return user.is_authenticated and Order.objects.filter(buyer=user).exists()


@register.filter
def zone_label(zone) -> str:
    """A time zone as people say it: "Los Angeles time" for America/Los_Angeles, "UTC" as is."""
    from django.utils.translation import gettext as _

    name = str(zone)
    if "/" not in name:
        return name
    return _("%(city)s time") % {"city": name.rsplit("/", 1)[-1].replace("_", " ")}
