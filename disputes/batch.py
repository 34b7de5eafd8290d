"""Acting on many due disputes at once, with the writes gathered.

The clock sweep runs each due dispute through the same workflow a single action uses (`catch_up`:
the same table, guards, effects, clocks, events, refunds and notifications), inside a `Batch`.
While a batch is open, the workflow does not write row by row: it hands each write to the batch,
which then writes each table once per chunk — one UPDATE for the disputes, one INSERT each for the
events, refunds and notifications, one UPDATE per order status — and queues one delivery task per
five hundred notifications instead of one each. The reads a row would make (its latest proposals, its
order's refunds so far) are loaded for the whole chunk up front, and the orders that may be
refunded are locked in one statement.

Only the sweep opens a batch, and only for clock transitions; everything else writes as usual.
"""

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from operator import attrgetter

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Model, Q, Sum
from django.utils import timezone

from accounts.models import User
from config.queue import enqueue
from disputes.models import Dispute, DisputeEvent, Party, Proposal, Refund
from messaging.models import Notification
from orders.models import Order
from sellers.models import Store

log = logging.getLogger("dispute_desk.sweeps")

NOTIFICATION_FIELDS = ["recipient_id", "kind", "dedupe_key", "title", "body", "url", "created_at"]

_current: ContextVar["Batch | None"] = ContextVar("dispute_batch", default=None)


def current() -> "Batch | None":
    """The open batch, if this code runs inside one (the workflow asks before each write)."""
    return _current.get()


class Batch:
    def __init__(self, disputes: list[Dispute]) -> None:
        self.disputes = {dispute.pk: dispute for dispute in disputes}
        self._loaded = {pk: _row(dispute) for pk, dispute in self.disputes.items()}
        self.events: list[tuple[Dispute, DisputeEvent]] = []
        self.refunds: list[Refund] = []
        self.notifications: list[list] = []  # rows of NOTIFICATION_FIELDS
        self.to_route: list[int] = []
        self.orders: dict[int, Order] = {}
        self.refunded: dict[int, Decimal] = {}

    # --- reads, once per chunk ---------------------------------------------------------------

    def preload(self) -> None:
        """The latest proposal of each side for every dispute, the people to notify, and the
        orders with their refunds so far (locked: refunds from two disputes on one order must add
        up safely)."""
        latest: dict[int, dict[str, Proposal]] = defaultdict(dict)
        # Newest first, so the first row seen per (dispute, party) is the latest.
        # The buyer's latest request, and the seller's standing offer (its latest counter: a later
        # rejection does not take it back).
        proposals = (
            Proposal.objects.filter(dispute_id__in=list(self.disputes))
            .filter(Q(party=Party.BUYER) | Q(party=Party.SELLER, kind=Proposal.Kind.COUNTER))
            .order_by("dispute_id", "party", "-created_at", "-id")
        )
        if connection.vendor == "postgresql":
            proposals = proposals.distinct("dispute_id", "party")
        for proposal in proposals:
            latest[proposal.dispute_id].setdefault(proposal.party, proposal)
        for pk, dispute in self.disputes.items():
            dispute._latest = {party: latest[pk].get(party) for party in (Party.BUYER, Party.SELLER)}
        # A store, and a person, with many disputes is loaded once, not once per row.
        orders = [dispute.order for dispute in self.disputes.values()]
        stores = Store.objects.in_bulk({order.store_id for order in orders})
        people = User.objects.in_bulk({o.buyer_id for o in orders} | {s.owner_id for s in stores.values()})
        for store in stores.values():
            store.owner = people[store.owner_id]
        for order in orders:
            order.store, order.buyer = stores[order.store_id], people[order.buyer_id]
        # Lock the orders, and take their status as it is now that they are locked.
        order_ids = sorted({order.pk for order in orders})
        locked = dict(Order.objects.select_for_update().filter(pk__in=order_ids).values_list("pk", "status"))
        self.orders = {order.pk: order for order in orders}
        for pk, order in self.orders.items():
            order.status = locked[pk]
        self._order_status = dict(locked)
        self.refunded = dict.fromkeys(order_ids, Decimal("0.00"))
        totals = Refund.objects.filter(order_id__in=order_ids).values("order_id").annotate(total=Sum("amount"))
        self.refunded.update({row["order_id"]: row["total"] for row in totals})

    # --- writes the workflow hands over ----------------------------------------------------------

    def save_dispute(self, dispute: Dispute) -> None:
        dispute.updated_at = timezone.now()

    def add_event(self, dispute: Dispute, event: DisputeEvent) -> None:
        self.events.append((dispute, event))

    def add_refund(self, refund: Refund) -> None:
        self.refunds.append(refund)
        self.refunded[refund.order_id] += refund.amount

    def add_notification(self, *, recipient_id: int, kind: str, key: str, title: str, body: str, url: str) -> None:
        self.notifications.append([recipient_id, kind, key, title, body, url, timezone.now()])

    def route_later(self, dispute_id: int) -> None:
        self.to_route.append(dispute_id)

    # --- one write per table -------------------------------------------------------------------

    def flush(self) -> None:
        from disputes.notices import notify_event

        names = [field.attname for field in Dispute._meta.concrete_fields]
        changed, fields = [], set()
        for pk, dispute in self.disputes.items():
            after, before = _row(dispute), self._loaded[pk]
            if after != before:
                changed.append(dispute)
                fields.update(name for name, a, b in zip(names, after, before, strict=True) if a != b)
        if changed:
            update_rows(Dispute, changed, sorted(fields))
        moved = defaultdict(list)
        for pk, order in self.orders.items():
            if order.status != self._order_status[pk]:
                moved[order.status].append(pk)
        for status, order_ids in moved.items():
            Order.objects.filter(pk__in=order_ids).update(status=status, updated_at=timezone.now())
        insert_rows(Refund, self.refunds)
        # The notifications are keyed on the events' ids, so they follow the events.
        insert_rows(DisputeEvent, [event for _dispute, event in self.events])
        for dispute, event in self.events:
            notify_event(dispute, event)
        if self.notifications:
            ids = insert_values(Notification, NOTIFICATION_FIELDS, self.notifications)
            transaction.on_commit(lambda: _queue_delivery(ids))
        if self.to_route:
            ids = list(self.to_route)
            transaction.on_commit(lambda: _queue_routing(ids))


def _row(instance: Model) -> tuple:
    """Every column's value, to tell what the workflow changed (read in C: a chunk reads 1,000)."""
    return _columns(type(instance))(instance)


@cache
def _columns(model: type[Model]) -> Callable[[Model], tuple]:
    return attrgetter(*(field.attname for field in model._meta.concrete_fields))


# Notifications per delivery task: one task per chunk's worth. A task that reaches its soft time
# limit stops and is retried; the ones it already sent are skipped (each is claimed before sending).
DELIVERY_GROUP = 500


def _queue_delivery(ids: list[int]) -> None:
    from messaging.tasks import deliver_notifications

    for start in range(0, len(ids), DELIVERY_GROUP):
        enqueue(deliver_notifications, ids[start : start + DELIVERY_GROUP])


def _queue_routing(ids: list[int]) -> None:
    from disputes.tasks import route_disputes

    enqueue(route_disputes, ids)


@contextmanager
def batch(disputes: list[Dispute]):
    """Open a batch over these (locked) disputes; its writes happen when the block ends cleanly."""
    opened = Batch(disputes)
    opened.preload()
    token = _current.set(opened)
    try:
        yield opened
        opened.flush()  # still inside the batch: the notifications it causes join it
    finally:
        _current.reset(token)


# --- set-based writes on PostgreSQL (elsewhere, SQLite in development: Django's bulk methods) ----
#
# Each column travels as one array parameter, bound on the server in binary (not spelled into the
# SQL text as Django's client-side binding would), and comes back as rows through unnest(): one
# short statement however many rows. Identifiers come from the model's metadata; every value is a
# parameter.


def _execute(sql: str, params: list) -> list[tuple]:
    connection.ensure_connection()
    started = time.monotonic()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall() if cursor.description else []
    if connection.queries_logged:  # visible to debug tooling and query-counting tests
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


def _array_type(field) -> str:
    return f"{field.db_type(connection)}[]"


def update_rows(model: type[Model], objs: list[Model], fields: list[str]) -> None:
    """UPDATE many rows, each to its own values, in one statement. (Django's bulk_update writes a
    CASE per field with a branch per row, which PostgreSQL evaluates row by row.)"""
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objs, fields)
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    arrays = ", ".join(f"%b::{_array_type(f)}" for f in [meta.pk, *columns])
    names = ", ".join(["pk", *(quote(f.column) for f in columns)])
    params = [[obj.pk for obj in objs]]
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the thread-local proxy, for each value
    params += [[f.get_db_prep_save(getattr(obj, f.attname), db) for obj in objs] for f in columns]
    where = f"{table}.{quote(meta.pk.column)} = v.pk"
    _execute(f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({names}) WHERE {where}", params)  # noqa: S608


def insert_rows(model: type[Model], objs: list[Model]) -> None:
    """INSERT many model objects in one statement, and set each one's id."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the thread-local proxy, for each value
    rows = [[f.get_db_prep_save(f.pre_save(obj, add=True), db) for f in columns] for obj in objs]
    for obj, pk in zip(objs, insert_values(model, [f.attname for f in columns], rows), strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias


def insert_values(model: type[Model], fields: list[str], rows: list[list]) -> list[int]:
    """INSERT rows of ready values (one list per row, in `fields` order); return their ids. The
    ids are drawn from the table's sequence first, so each row's id is known without relying on
    the order RETURNING gives."""
    meta = model._meta
    if connection.vendor != "postgresql":
        objs = model.objects.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in rows])
        return [obj.pk for obj in objs]
    pk = meta.pk
    sequence = "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)"
    ids = [row[0] for row in _execute(sequence, [meta.db_table, pk.column, len(rows)])]
    columns = [pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in columns)
    arrays = ", ".join(f"%b::{_array_type(f)}" for f in columns)
    params = [ids, *(list(values) for values in zip(*rows, strict=True))]
    _execute(f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT * FROM unnest({arrays})", params)  # noqa: S608
    return ids
