"""Reads of orders that need care: who may see which order."""

from collections.abc import Callable

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts import roles
from accounts.models import User
from core import read_cache
from orders.models import Order
from sellers.models import Store

# What the apps above add to every order read for a page or the API (the disputes app adds the
# latest dispute's id and state: DisputesConfig.ready). Orders know nothing of what sits above them.
_annotations: list[Callable[[QuerySet[Order]], QuerySet[Order]]] = []


def order_annotation_add(annotate: Callable[[QuerySet[Order]], QuerySet[Order]]) -> None:
    if annotate not in _annotations:
        _annotations.append(annotate)


# What the apps above say about one order's claims (disputes and return requests), for its detail:
# {"dispute": the latest live dispute's id or None, "disputes": [...], "requests": [...]}.
_claims_readers: list[Callable[[Order], dict]] = []


def order_claims_reader_add(read: Callable[[Order], dict]) -> None:
    if read not in _claims_readers:
        _claims_readers.append(read)


def order_claims(order: Order) -> dict:
    found: dict = {}
    for read in _claims_readers:
        found.update(read(order))
    return found


# The version of everything an order's detail is built from (core/read_cache.py), as SQL on the order `o`
# and its store `s`: the order's own rows here, and what the apps above add (the disputes app: its
# disputes, requests and claims).
ORDER_BASE_PARTS = (
    read_cache.row_version("o"),
    read_cache.row_version("s"),
    read_cache.rows_version("accounts_user", "id IN (o.buyer_id, s.owner_id)"),
    read_cache.rows_version("orders_carrier", "id IN (o.carrier_id, o.shipment_carrier_id)"),
    read_cache.rows_version("orders_orderitem", "order_id = o.id"),
    read_cache.rows_version("orders_extensionrequest", "order_id = o.id"),
)
_version_parts: list[str] = list(ORDER_BASE_PARTS)


def order_version_part_add(sql: str) -> None:
    if sql not in _version_parts:
        _version_parts.append(sql)


def order_read_version(user: User, number: str, *, conversation: bool = False, parts: tuple[str, ...] = ()) -> str:
    """The version of what an order's detail shows, or of `parts` (SQL on the order `o` and its store `s`)
    when given, in one query that is also `order_get_for`'s access check: missing and forbidden look the
    same (404)."""
    if "\x00" in number:
        raise Http404
    versions = ", ".join(parts or _version_parts)
    # The version is worked out only for a party, or when asked (the team, the platform), so that a
    # stranger's 404 costs the same whether the order exists or not.
    sql = (
        "SELECT o.buyer_id, s.owner_id, CASE WHEN %s OR %s IN (o.buyer_id, s.owner_id)"  # noqa: S608 - our SQL
        f" THEN concat_ws(',', {versions}) END FROM orders_order o"
        " JOIN sellers_store s ON s.id = o.store_id WHERE o.number = %s"
    )
    found = read_cache.fetch(sql, [False, user.pk, number])
    if found is not None and user.pk in found[:2]:
        return found[2]  # a party: no need to ask about roles (the platform's is a permission, two queries)
    wide = roles.is_dispute_team(user) if conversation else roles.sees_all_orders(user)
    if not wide or found is None:  # asked either way: a 404 costs the same
        raise Http404
    return read_cache.fetch(sql, [True, user.pk, number])[2]


def orders_annotated(orders: QuerySet[Order]) -> QuerySet[Order]:
    for annotate in _annotations:
        orders = annotate(orders)
    return orders


def _orders() -> QuerySet[Order]:
    return orders_annotated(Order.objects.select_related("store__owner", "carrier", "buyer", "shipment_carrier"))


def orders_visible_to(user: User) -> QuerySet[Order]:
    """A buyer sees their orders, a seller their stores' orders, the team and the platform all."""
    orders = _orders()
    if roles.sees_all_orders(user):
        return orders
    # Said as plainly as the user's roles allow, so a list walks one index in its order instead of
    # sorting everything an OR matched: a buyer by buyer, a seller who buys nothing by store.
    stores = list(Store.objects.filter(owner=user).values_list("pk", flat=True))
    if not stores:
        return orders.filter(buyer=user)
    if not Order.objects.filter(buyer=user).exists():
        return orders.filter(store__in=stores)
    return orders.filter(Q(buyer=user) | Q(store__in=stores))


def order_seen_by(user: User, *, conversation: bool = False) -> QuerySet[Order]:
    """The orders `user` may see as one condition, for reading one of them (`order_get_for`, the order
    page): none of the list's per-persona queries."""
    orders = _orders()
    wide = roles.is_dispute_team(user) if conversation else roles.sees_all_orders(user)
    return orders if wide else orders.filter(Q(buyer=user) | Q(store__owner=user))


def order_get_for(user: User, number: str, *, lock: bool = False, conversation: bool = False) -> Order:
    """Fetch an order the user may see. Missing and forbidden look the same (404). One order by its
    number needs none of the list's per-persona queries: the same rule as one condition.

    `conversation=True` is for what the buyer and seller say to each other (the thread, its
    photos): only the parties and the dispute team. The platform account reads orders, never that."""
    if "\x00" in number:
        raise Http404  # no order number holds a NUL (PostgreSQL text cannot)
    orders = order_seen_by(user, conversation=conversation)
    if lock:
        # of=("self",) locks only the order row, not the joined store or carrier.
        orders = orders.select_for_update(of=("self",))
    try:
        return orders.get(number=number)
    except Order.DoesNotExist:
        raise Http404 from None
