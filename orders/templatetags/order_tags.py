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
