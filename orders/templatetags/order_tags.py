from decimal import InvalidOperation

from django import template

from core.money import format_money

register = template.Library()


@register.simple_tag
def order_window(order):
    """{% order_window order as window %}: the order's dispute window now."""
    return order.dispute_window()


@register.inclusion_tag("includes/window_badge.html")
def window_badge(order):
    return {"window": order.dispute_window()}


def money_text(amount, currency: str) -> str:
    """An amount as the reader's language writes it, with its currency's own decimals ("$12.50",
    "¥1,234", "KWD 1.250" in English). No amount is shown as zero; what is not a number, as it is."""
    try:
        return format_money(amount if amount not in (None, "") else 0, currency)
    except (InvalidOperation, ValueError, TypeError):
        return f"{amount} {currency}"


@register.inclusion_tag("includes/money.html")
def money(amount, currency):
    """{% money order.total order.currency %}: the amount for the reader, in a span of class money."""
    return {"text": money_text(amount, currency)}


@register.filter(name="money")
def money_filter(amount, currency: str) -> str:
    """{{ order.total|money:order.currency }}: the same words as the tag, where a string is wanted."""
    return money_text(amount, currency)


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
