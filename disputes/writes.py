"""Where the workflow's writes go: one writer that writes now, one that gathers.

The workflow, the payments, the notices and the notifications are handed a writer and call the
same methods on it either way:

- `Writes` (a person's action, or one dispute's clocks): each change is written as it happens,
  one row at a time, and each notification's delivery is queued after commit.
- `GatheredWrites` (the clock sweep, a chunk of locked disputes at once): the reads a row would
  make (its latest proposals, its order's refunds so far) are loaded for the whole chunk up front,
  the orders that may be refunded are locked in one statement, and on `flush` each table is written
  once: one UPDATE for the disputes, one INSERT each for the events, refunds and notifications, one
  UPDATE per order status, one delivery task per five hundred notifications.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from operator import attrgetter

from django.db import connection, transaction
from django.db.models import Model, Q, Sum
from django.utils import timezone

from accounts.models import User
from core.bulk import insert_rows, update_rows
from core.queue import enqueue
from disputes import terms
from disputes.models import ClaimItem, Dispute, DisputeEvent, MoreTime, Party, Proposal, Refund
from disputes.notices import notify_event
from disputes.payments import refunded_so_far
from notifications.services import NOW, CollectingSink, Sink
from orders.models import Order
from sellers.models import Store


class Writes:
    """Writes each change now."""

    notifications: Sink = NOW

    # --- reads whose answer a gathering writer already holds ---------------------------------

    def buyer_request(self, dispute: Dispute) -> Proposal:
        return terms.buyer_request(dispute)

    def standing_offer(self, dispute: Dispute) -> Proposal | None:
        return terms.standing_offer(dispute)

    def refund_position(self, dispute: Dispute) -> tuple[Order, Decimal]:
        """The dispute's order, locked (refunds from two disputes on one order must add up
        safely), and what was refunded on it so far."""
        order = Order.objects.select_for_update().get(pk=dispute.order_id)
        return order, refunded_so_far(order)

    # --- writes ------------------------------------------------------------------------------

    def save_dispute(self, dispute: Dispute) -> None:
        dispute.save()

    def save_refund(self, refund: Refund, order: Order) -> None:
        refund.save()
        order.save(update_fields=["status", "updated_at"])

    def save_event(self, dispute: Dispute, event: DisputeEvent) -> None:
        event.save()
        notify_event(dispute, event, writes=self)

    def claims_live(self, dispute: Dispute, live: bool) -> None:
        """The dispute's items follow it into or out of the live states."""
        ClaimItem.objects.filter(dispute=dispute).exclude(live=live).update(live=live)

    def lapse_more_time(self, dispute: Dispute, *, at) -> None:
        """The dispute's request for more time still waiting for an answer lapses (its state moved on)."""
        MoreTime.objects.filter(dispute=dispute, status=MoreTime.Status.PENDING).update(
            status=MoreTime.Status.LAPSED, answered_at=at
        )

    def route_after_commit(self, dispute_id: int) -> None:
        from disputes.tasks import route_dispute

        transaction.on_commit(lambda: enqueue(route_dispute, dispute_id))


class GatheredWrites(Writes):
    """Gathers a chunk's writes and writes each table once on `flush`. Opened by `gathered`."""

    def __init__(self, disputes: list[Dispute]) -> None:
        self.disputes = {dispute.pk: dispute for dispute in disputes}
        self._loaded = {pk: _row(dispute) for pk, dispute in self.disputes.items()}
        self.notifications = CollectingSink()
        self.events: list[tuple[Dispute, DisputeEvent]] = []
        self.refunds: list[Refund] = []
        self.to_route: list[int] = []
        self.claims: dict[bool, list[int]] = {True: [], False: []}
        self.orders: dict[int, Order] = {}
        self.refunded: dict[int, Decimal] = {}
        self.latest: dict[int, dict[str, Proposal | None]] = {}
        self.lapsed: list[int] = []

    def preload(self) -> None:
        """The latest proposal of each side for every dispute, the people to notify, and the
        orders with their refunds so far (locked: refunds from two disputes on one order must add
        up safely)."""
        latest: dict[int, dict[str, Proposal]] = defaultdict(dict)
        # Newest first, so the first row seen per (dispute, party) is the latest: the buyer's
        # latest request, and the seller's standing offer (its latest counter).
        proposals = (
            Proposal.objects.filter(dispute_id__in=list(self.disputes))
            .filter(Q(party=Party.BUYER) | Q(party=Party.SELLER, kind=Proposal.Kind.COUNTER))
            .order_by("dispute_id", "party", "-created_at", "-id")
        )
        if connection.vendor == "postgresql":
            proposals = proposals.distinct("dispute_id", "party")
        for proposal in proposals:
            latest[proposal.dispute_id].setdefault(proposal.party, proposal)
        self.latest = {
            pk: {party: latest[pk].get(party) for party in (Party.BUYER, Party.SELLER)} for pk in self.disputes
        }
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
        totals = (
            Refund.objects.filter(order_id__in=order_ids)
            .values("order_id")
            .annotate(total=Sum("amount") - Sum("postage"))  # postage is paid above the price
        )
        self.refunded.update({row["order_id"]: row["total"] for row in totals})

    def buyer_request(self, dispute: Dispute) -> Proposal:
        return self.latest[dispute.pk][Party.BUYER]

    def standing_offer(self, dispute: Dispute) -> Proposal | None:
        return self.latest[dispute.pk][Party.SELLER]

    def refund_position(self, dispute: Dispute) -> tuple[Order, Decimal]:
        return self.orders[dispute.order_id], self.refunded[dispute.order_id]

    def save_dispute(self, dispute: Dispute) -> None:
        dispute.updated_at = timezone.now()

    def save_refund(self, refund: Refund, order: Order) -> None:
        self.refunds.append(refund)
        self.refunded[refund.order_id] += refund.amount - refund.postage

    def claims_live(self, dispute: Dispute, live: bool) -> None:
        self.claims[live].append(dispute.pk)  # one UPDATE per direction on flush

    def save_event(self, dispute: Dispute, event: DisputeEvent) -> None:
        self.events.append((dispute, event))  # written, then notified, on flush

    def route_after_commit(self, dispute_id: int) -> None:
        self.to_route.append(dispute_id)  # one routing task for the chunk

    def lapse_more_time(self, dispute: Dispute, *, at) -> None:
        self.lapsed.append(dispute.pk)  # one UPDATE for the chunk on flush

    def flush(self) -> None:
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
        for live, dispute_ids in self.claims.items():
            if dispute_ids:
                ClaimItem.objects.filter(dispute_id__in=dispute_ids).exclude(live=live).update(live=live)
        if self.lapsed:
            MoreTime.objects.filter(dispute_id__in=self.lapsed, status=MoreTime.Status.PENDING).update(
                status=MoreTime.Status.LAPSED, answered_at=timezone.now()
            )
        insert_rows(Refund, self.refunds)
        # The notifications are keyed on the events' ids, so they follow the events.
        insert_rows(DisputeEvent, [event for _dispute, event in self.events])
        for dispute, event in self.events:
            notify_event(dispute, event, writes=self)
        self.notifications.flush()
        if self.to_route:
            ids = list(self.to_route)
            transaction.on_commit(lambda: _queue_routing(ids))


def _row(instance: Model) -> tuple:
    """Every column's value, to tell what the workflow changed (read in C: a chunk reads 1,000)."""
    return _columns(type(instance))(instance)


@cache
def _columns(model: type[Model]) -> Callable[[Model], tuple]:
    return attrgetter(*(field.attname for field in model._meta.concrete_fields))


def _queue_routing(ids: list[int]) -> None:
    from disputes.tasks import route_disputes

    enqueue(route_disputes, ids)


@contextmanager
def gathered(disputes: list[Dispute]) -> Iterator[GatheredWrites]:
    """A gathering writer over these (locked) disputes; its writes happen when the block ends cleanly."""
    writes = GatheredWrites(disputes)
    writes.preload()
    yield writes
    writes.flush()
