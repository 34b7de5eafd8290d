"""Who someone is, derived from data: store ownership, group membership, permissions."""

from django.contrib.auth.models import AnonymousUser

from accounts.models import DISPUTE_TEAM_GROUP, User


def is_dispute_team(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_dispute_team", None)
    if cached is None:
        cached = user.groups.filter(name=DISPUTE_TEAM_GROUP).exists()
        user._is_dispute_team = cached
    return cached


def is_platform(user: User | AnonymousUser) -> bool:
    return user.is_authenticated and user.has_perm("orders.add_order")


def is_seller(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated:
        return False
    cached = getattr(user, "_is_seller", None)
    if cached is None:
        cached = user.stores.exists()
        user._is_seller = cached
    return cached


def sees_all_orders(user: User | AnonymousUser) -> bool:
    """The dispute team and the platform read every order; everyone else only their own."""
    return is_dispute_team(user) or is_platform(user)
