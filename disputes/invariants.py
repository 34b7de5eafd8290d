"""The dispute workflow's promises (DESIGN.md §2-3, docs/disputes.md) as checks over the database.

Each check returns human-readable violations; an empty list means the promise holds. They read
every row with a few plain queries and compare in Python, which is cheap on a database of a
handful of orders: the workflow state-machine test (tests/disputes/test_workflow_machine.py) runs
`check_all` after every step. Orders are named by number and disputes by id and order number, so a
message can be matched with the steps that led to it.

Some promises hold only once the sweeps have run (a clock that ran out a second ago has not been
acted on yet): `check_all(after_sweep=True)` adds those, to be called right after
`disputes.tasks.run_all_sweeps`.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from disputes.models import (
    Dispute,
    DisputeEvent,
    Outcome,
    PendingRuling,
    Proposal,
    Reason,
    Refund,
    State,
)
from orders.models import Order, OrderStatus

ZERO = Decimal("0.00")
# Spelled out here rather than imported from the workflow, so a change there cannot change the promise.
LIVE_STATES = [s for s in State if s not in (State.RESOLVED, State.CANCELLED)]
NEGOTIATING = [State.AWAITING_SELLER, State.AWAITING_BUYER]
WITH_TEAM = [State.ESCALATED, State.UNDER_REVIEW]
RETURN_STATES = [State.AWAITING_RETURN, State.RETURN_IN_TRANSIT]
ANSWER_CLOCK_STATES = [*NEGOTIATING, *RETURN_STATES]  # where respond_by running out moves the dispute


def _order_refunded(outer: str = "pk") -> Coalesce:
    """What has been refunded on the order `outer` names (a correlated subquery), 0 when nothing."""
    total = Refund.objects.filter(order=OuterRef(outer)).order_by().values("order").annotate(all=Sum("amount"))
    return Coalesce(
        Subquery(total.values("all")), Value(ZERO), output_field=DecimalField(max_digits=12, decimal_places=2)
    )


def _label(dispute: Dispute) -> str:
    return f"dispute {dispute.pk} (order {dispute.order.number})"


def _appeal_open_since(now: datetime) -> datetime:
    """A ruling made after this moment can still be appealed at `now`."""
    return now - timedelta(days=settings.APPEAL_DAYS)


def _live():
    return Dispute.objects.filter(order=OuterRef("pk"), state__in=LIVE_STATES)


def _appealable(now: datetime):
    return Dispute.objects.filter(order=OuterRef("pk"), state=State.RESOLVED, ruled_at__gt=_appeal_open_since(now))


# --- money -----------------------------------------------------------------------------------------


def money_within_paid() -> list[str]:
    """The refunds on an order never add up to more than the buyer paid."""
    orders = Order.objects.annotate(refunded=_order_refunded()).order_by("number")
    return [
        f"order {order.number}: refunds total {order.refunded}, more than the {order.total} paid"
        for order in orders
        if order.refunded > order.total
    ]


def one_refund_per_resolution() -> list[str]:
    """A dispute pays at most one refund per resolution, and its refunded_amount is what its refunds add up to."""
    problems = []
    disputes = Dispute.objects.select_related("order").annotate(
        refund_count=Count("refunds"), refunds_total=Sum("refunds__amount", default=ZERO)
    )
    for dispute in disputes.order_by("pk"):
        if dispute.refund_count > dispute.resolution_number:
            problems.append(
                f"{_label(dispute)}: {dispute.refund_count} refunds for {dispute.resolution_number} resolution(s)"
            )
        if dispute.refunded_amount != dispute.refunds_total:
            problems.append(
                f"{_label(dispute)}: refunded_amount {dispute.refunded_amount} but its refunds add up to "
                f"{dispute.refunds_total}"
            )
    return problems


def outcome_matches_money() -> list[str]:
    """A resolved dispute says what it paid: resolved_refund_amount is its refunded_amount, and its outcome is
    full_refund when the order is refunded in full, no_refund when it paid nothing, partial_refund otherwise."""
    problems = []
    resolved = (
        Dispute.objects.filter(state=State.RESOLVED)
        .select_related("order")
        .annotate(order_refunded=_order_refunded("order"))
    )
    for dispute in resolved.order_by("pk"):
        if dispute.resolved_refund_amount != dispute.refunded_amount:
            problems.append(
                f"{_label(dispute)}: resolved_refund_amount {dispute.resolved_refund_amount} but refunded_amount "
                f"{dispute.refunded_amount}"
            )
        if dispute.refunded_amount <= 0:
            expected = Outcome.NO_REFUND
        elif dispute.order_refunded == dispute.order.total:
            expected = Outcome.FULL_REFUND
        else:
            expected = Outcome.PARTIAL_REFUND
        if dispute.outcome != expected:
            problems.append(
                f"{_label(dispute)}: outcome {dispute.outcome!r}, expected {expected.value!r} (dispute refunded "
                f"{dispute.refunded_amount}, order refunded {dispute.order_refunded} of {dispute.order.total})"
            )
    return problems


def ledger_matches_order_status() -> list[str]:
    """An order's status agrees with its ledger: refunded in full is `refunded` (or `cancelled`), in part is
    `partially_refunded` (or `completed`), not at all is neither; `completed` only once shipped; `cancelled`
    only never shipped and refunded in full. A refund without a dispute is a cancelled order's."""
    problems = []
    for order in Order.objects.annotate(refunded=_order_refunded()).order_by("number"):
        where = f"order {order.number} ({order.status}, refunded {order.refunded} of {order.total})"
        if order.refunded == order.total and order.status not in (OrderStatus.REFUNDED, OrderStatus.CANCELLED):
            problems.append(f"{where}: refunded in full but not refunded or cancelled")
        if ZERO < order.refunded < order.total and order.status not in (
            OrderStatus.PARTIALLY_REFUNDED,
            OrderStatus.COMPLETED,
        ):
            problems.append(f"{where}: refunded in part but not partially_refunded or completed")
        if order.refunded == 0 and order.status in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
            problems.append(f"{where}: no refund in the ledger")
        if order.status == OrderStatus.COMPLETED and order.shipped_at is None:
            problems.append(f"{where}: completed but never shipped")
        if order.status == OrderStatus.CANCELLED and (order.shipped_at is not None or order.refunded != order.total):
            problems.append(f"{where}: cancelled but shipped or not refunded in full")
    stray = Refund.objects.filter(dispute__isnull=True).exclude(order__status=OrderStatus.CANCELLED)
    for refund in stray.select_related("order").order_by("pk"):
        problems.append(
            f"order {refund.order.number} ({refund.order.status}): a refund of {refund.amount} with no dispute, "
            "but the order is not cancelled"
        )
    return problems


# --- clocks and the team (after a sweep) -----------------------------------------------------------------


def clocks_run(*, now: datetime) -> list[str]:
    """After a sweep, no clock that has run out is left waiting (unless the dispute is set aside), and every
    live dispute that is not set aside has a deadline."""
    problems = []
    waiting = Dispute.objects.filter(set_aside_at__isnull=True).select_related("order").order_by("pk")
    for dispute in waiting.filter(state__in=ANSWER_CLOCK_STATES, respond_by__lte=now):
        problems.append(f"{_label(dispute)}: {dispute.state} with respond_by {dispute.respond_by} passed at {now}")
    for dispute in waiting.filter(state__in=NEGOTIATING, escalate_at__lte=now):
        problems.append(f"{_label(dispute)}: {dispute.state} with escalate_at {dispute.escalate_at} passed at {now}")
    for dispute in waiting.filter(state__in=LIVE_STATES, respond_by__isnull=True):
        problems.append(f"{_label(dispute)}: {dispute.state} with no respond_by")
    return problems


def team_has_it() -> list[str]:
    """After a sweep, every dispute with the team has an assignee, or has been set aside with an alert raised."""
    stranded = Dispute.objects.filter(state__in=WITH_TEAM, assignee__isnull=True, set_aside_at__isnull=True)
    return [
        f"{_label(dispute)}: {dispute.state} with no assignee and not set aside"
        for dispute in stranded.select_related("order").order_by("pk")
    ]


# --- finality and appeals --------------------------------------------------------------------------


def finality() -> list[str]:
    """A ruled dispute is never cancelled, and nothing cancels after a ruling or an appeal; an order has at most
    one resolved dispute, none opened after it, and at most two disputes (one reopening)."""
    problems = []
    ruled = DisputeEvent.objects.filter(dispute=OuterRef("pk"), action="ruling")
    cancelled = Dispute.objects.filter(state=State.CANCELLED).filter(Q(ruled_at__isnull=False) | Exists(ruled))
    for dispute in cancelled.select_related("order").order_by("pk"):
        problems.append(f"{_label(dispute)}: cancelled after a ruling")
    earlier = DisputeEvent.objects.filter(
        dispute=OuterRef("dispute"), action__in=["ruling", "appeal"], pk__lt=OuterRef("pk")
    )
    late_cancels = DisputeEvent.objects.filter(action="cancel").filter(Exists(earlier))
    for event in late_cancels.select_related("dispute__order").order_by("pk"):
        problems.append(f"{_label(event.dispute)}: a cancel event follows a ruling or an appeal")
    by_order: dict[str, list[Dispute]] = defaultdict(list)
    for dispute in Dispute.objects.select_related("order").order_by("pk"):
        by_order[dispute.order.number].append(dispute)
    for number, disputes in sorted(by_order.items()):
        resolved = [d for d in disputes if d.state == State.RESOLVED]
        if len(resolved) > 1:
            problems.append(f"order {number}: {len(resolved)} resolved disputes {[d.pk for d in resolved]}")
        if resolved and (later := [d.pk for d in disputes if d.pk > resolved[0].pk]):
            problems.append(f"order {number}: dispute(s) {later} opened after resolved dispute {resolved[0].pk}")
        if len(disputes) > 2:
            problems.append(f"order {number}: {len(disputes)} disputes, more than one reopening")
    return problems


def appeals(*, now: datetime) -> list[str]:
    """A completed order has nothing live and nothing still appealable; an appeal is ruled on by someone other
    than who made the ruling appealed; a second approval comes from another member; a ruling waits for approval
    only while the dispute is with the team."""
    problems = []
    completed = Order.objects.filter(status=OrderStatus.COMPLETED)
    for order in completed.filter(Exists(_live())).order_by("number"):
        problems.append(f"order {order.number}: completed with a live dispute")
    for order in completed.filter(Exists(_appealable(now))).order_by("number"):
        problems.append(f"order {order.number}: completed while a ruling can still be appealed")
    # Walk each dispute's rulings and appeals in the order they happened.
    events = DisputeEvent.objects.filter(action__in=["ruling", "appeal"]).select_related("dispute__order")
    last_ruler: dict[int, int | None] = {}  # dispute -> who made its latest ruling
    excluded: dict[int, int | None] = {}  # dispute -> who made the ruling its latest appeal is against
    for event in events.order_by("pk"):
        if event.action == "appeal":
            excluded[event.dispute_id] = last_ruler.get(event.dispute_id)
            continue
        if event.dispute_id in excluded and event.actor_id == excluded[event.dispute_id]:
            problems.append(f"{_label(event.dispute)}: the appealed ruling was reviewed by the member who made it")
        last_ruler[event.dispute_id] = event.actor_id
    pending = PendingRuling.objects.select_related("dispute__order").order_by("pk")
    for ruling in pending.filter(status=PendingRuling.Status.APPROVED):
        if ruling.approved_by_id is None or ruling.approved_by_id == ruling.proposed_by_id:
            problems.append(f"{_label(ruling.dispute)}: pending ruling {ruling.pk} approved by its own proposer")
    for ruling in pending.filter(status=PendingRuling.Status.PENDING).exclude(dispute__state__in=WITH_TEAM):
        problems.append(
            f"{_label(ruling.dispute)}: ruling {ruling.pk} still waits for approval while the dispute is "
            f"{ruling.dispute.state}"
        )
    return problems


# --- who and what ----------------------------------------------------------------------------------


def no_return_when_not_received() -> list[str]:
    """An item the buyer never received is never asked back: no proposal with a return, no return state."""
    problems = []
    unreceived = Dispute.objects.filter(Q(reason=Reason.NOT_RECEIVED) | Q(item_received=False))
    returning = Proposal.objects.filter(dispute__in=unreceived, return_item=True).select_related("dispute__order")
    for proposal in returning.order_by("pk"):
        problems.append(f"{_label(proposal.dispute)}: item not received, but a {proposal.kind} asks for a return")
    for dispute in unreceived.filter(state__in=RETURN_STATES).select_related("order").order_by("pk"):
        problems.append(f"{_label(dispute)}: item not received, but the dispute is {dispute.state}")
    moves = DisputeEvent.objects.filter(dispute__in=unreceived, to_state__in=RETURN_STATES)
    for event in moves.select_related("dispute__order").order_by("pk"):
        problems.append(f"{_label(event.dispute)}: item not received, but {event.action} led to {event.to_state}")
    return problems


def parties_never_judge() -> list[str]:
    """Neither the buyer nor the seller of an order is ever assigned to, or rules on, its dispute."""
    problems = []
    disputes = Dispute.objects.filter(Q(assignee__isnull=False) | Q(ruled_by__isnull=False)).select_related(
        "order__store"
    )
    for dispute in disputes.order_by("pk"):
        parties = {dispute.order.buyer_id: "buyer", dispute.order.store.owner_id: "seller"}
        if dispute.assignee_id in parties:
            problems.append(f"{_label(dispute)}: assigned to the {parties[dispute.assignee_id]}")
        if dispute.ruled_by_id in parties:
            problems.append(f"{_label(dispute)}: ruled on by the {parties[dispute.ruled_by_id]}")
    return problems


class WindowWatch:
    """A window only grows once it has opened: its opening never moves later, its closing never earlier.
    Remembers each order's window between looks, so call `check` after every step."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[datetime, datetime, bool]] = {}  # order -> opens_at, closes_at, was open

    def check(self, *, now: datetime) -> list[str]:
        problems = []
        for pk, number, opens_at, closes_at in Order.objects.values_list(
            "pk", "number", "window_opens_at", "window_closes_at"
        ):
            before = self.seen.get(pk)
            if before is not None and before[2]:
                if opens_at > before[0]:
                    problems.append(f"order {number}: the open window's opening moved from {before[0]} to {opens_at}")
                if closes_at < before[1]:
                    problems.append(f"order {number}: the open window's closing moved from {before[1]} to {closes_at}")
            self.seen[pk] = (opens_at, closes_at, opens_at <= now)
        return problems


def orders_settle(*, now: datetime) -> list[str]:
    """After a sweep, an order whose window has closed with nothing live and nothing appealable is settled:
    completed if it shipped, cancelled and refunded in full if it never did."""
    unsettled = (
        Order.objects.filter(
            status__in=[
                OrderStatus.AWAITING_SHIPMENT,
                OrderStatus.SHIPPED,
                OrderStatus.DELIVERED,
                OrderStatus.PARTIALLY_REFUNDED,
            ],
            window_closes_at__lte=now,
        )
        .exclude(Exists(_live()))
        .exclude(Exists(_appealable(now)))
    )
    return [
        f"order {order.number}: still {order.status} after its window closed at {order.window_closes_at}"
        for order in unsettled.order_by("number")
    ]


def check_all(*, now: datetime, after_sweep: bool) -> list[str]:
    """Every promise, each violation prefixed with the promise's name. `after_sweep`: the sweeps have just run
    at `now`, so the promises about clocks, routing and completion hold too."""
    checks = {
        "money_within_paid": money_within_paid,
        "one_refund_per_resolution": one_refund_per_resolution,
        "outcome_matches_money": outcome_matches_money,
        "ledger_matches_order_status": ledger_matches_order_status,
        "finality": finality,
        "appeals": lambda: appeals(now=now),
        "no_return_when_not_received": no_return_when_not_received,
        "parties_never_judge": parties_never_judge,
    }
    if after_sweep:
        checks |= {
            "clocks_run": lambda: clocks_run(now=now),
            "team_has_it": team_has_it,
            "orders_settle": lambda: orders_settle(now=now),
        }
    return [f"{name}: {problem}" for name, check in checks.items() for problem in check()]
