"""Reads about disputes that other apps need."""

from orders.models import Order


def dispute_is_with_team(order: Order) -> bool:
    """Whether the order's dispute is escalated to the dispute team (who may then post in its thread).

    Disputes arrive with the dispute-lifecycle issue; until then no order has one.
    """
    return False
