"""Who someone is, derived from data: store ownership, group membership, permissions."""

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import DISPUTE_TEAM_GROUP, User


def team_members() -> QuerySet[User]:
    """The dispute team: active staff accounts in the dispute-team group. The one definition that
    routing, admin, the API and the pages all use. A superuser outside the group is not a member:
    it administers the site, it does not rule on disputes."""
    return User.objects.filter(groups__name=DISPUTE_TEAM_GROUP, is_active=True, is_staff=True)


def is_dispute_team(user: User | AnonymousUser) -> bool:
    if not user.is_authenticated or not user.is_active or not user.is_staff:
        return False
    cached = getattr(user, "_is_dispute_team", None)
    if cached is None:
        cached = user.groups.filter(name=DISPUTE_TEAM_GROUP).exists()
        user._is_dispute_team = cached
    return cached


BUYER, SELLER = "buyer", "seller"


def is_order_buyer(user: User | AnonymousUser, order) -> bool:
    return user.is_authenticated and order.buyer_id == user.pk


def is_order_seller(user: User | AnonymousUser, order) -> bool:
    """The owner of the order's store: who answers extensions and the buyer's messages."""
    return user.is_authenticated and order.store.owner_id == user.pk


def order_party(user: User | AnonymousUser, order) -> str | None:
    """Which side of the order this person is on: "buyer", "seller" (the store's owner), or None.
    The one definition pages, the API, messaging and the disputes all use for "who is this person
    to the order". Someone who bought from their own store is the buyer in a dispute and a message;
    the store's own actions (granting an extension) ask `is_order_seller`, which they still are.
    (`order` is any object with buyer_id and store.owner_id.)"""
    if is_order_buyer(user, order):
        return BUYER
    if is_order_seller(user, order):
        return SELLER
    return None


def is_party_to(user: User, order) -> bool:
    """The buyer or the seller of the order: a team member who is one never reviews its dispute."""
    return order_party(user, order) is not None


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
