"""The dispute workflow's promises (docs/rules.md §2-3, docs/disputes.md) as checks over the database.

Each check returns human-readable violations; an empty list means the promise holds. They read
every row with a few plain queries of only the columns they need, and compare in Python: cheap on
a database of a handful of orders, where the workflow state-machine test
(tests/disputes/test_workflow_machine.py) runs `check_all` after every step. Orders are named by
number and disputes by id and order number, so a message can be matched with the steps that led
to it.

Some promises hold only once the sweeps have run (a clock that ran out a second ago has not been
acted on yet): `check_all(after_sweep=True)` adds those, to be called right after
`disputes.tasks.run_all_sweeps`.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum

from disputes.models import Dispute, DisputeEvent, Outcome, PendingRuling, Proposal, Reason, Refund, State
from orders.models import Order, OrderStatus

ZERO = Decimal("0.00")
# Spelled out here rather than imported from the workflow, so a change there cannot change a promise.
LIVE_STATES = [s for s in State if s not in (State.RESOLVED, State.CANCELLED)]
NEGOTIATING = [State.AWAITING_SELLER, State.AWAITING_BUYER]
WITH_TEAM = [State.ESCALATED, State.UNDER_REVIEW]
RETURN_STATES = [State.AWAITING_RETURN, State.RETURN_IN_TRANSIT]
ANSWER_CLOCK_STATES = [*NEGOTIATING, *RETURN_STATES]  # where respond_by running out moves the dispute
UNSETTLED = [OrderStatus.AWAITING_SHIPMENT, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_REFUNDED]


def _refunded_by_disputes() -> dict[int, Decimal]:
    """Order id -> what its disputes have refunded (orders with nothing are absent)."""
    refunds = Refund.objects.filter(dispute__isnull=False).order_by()
    return dict(refunds.values_list("order_id").annotate(total=Sum("amount")))


def _appealable(state: str, ruled_at: datetime | None, now: datetime) -> bool:
    """A resolved dispute whose ruling can still be appealed at `now`."""
    return state == State.RESOLVED and ruled_at is not None and ruled_at + timedelta(days=settings.APPEAL_DAYS) > now


def _disputes_per_order(order_ids: Iterable[int]) -> dict[int, list[tuple[str, datetime | None]]]:
    """Order id -> (state, ruled_at) of each of its disputes."""
    per_order = defaultdict(list)
    for order_id, state, ruled_at in Dispute.objects.filter(order_id__in=order_ids).values_list(
        "order_id", "state", "ruled_at"
    ):
        per_order[order_id].append((state, ruled_at))
    return per_order


# --- money ---------------------------------------------------------------------------------------------


def money_within_paid() -> list[str]:
    """The refunds on an order never add up to more than the buyer paid."""
    over = Order.objects.annotate(refunded=Sum("refunds__amount")).filter(refunded__gt=F("total"))
    return [
        f"order {number}: refunds total {refunded}, more than the {total} paid"
        for number, total, refunded in over.values_list("number", "total", "refunded").order_by("number")
    ]


def one_refund_per_resolution() -> list[str]:
    """A dispute pays at most one refund per resolution, and its refunded_amount is what its refunds add up to."""
    problems = []
    rows = Dispute.objects.annotate(refunds_n=Count("refunds"), refunds_total=Sum("refunds__amount", default=ZERO))
    for pk, number, resolutions, refunded_amount, count, total in rows.values_list(
        "pk", "order__number", "resolution_number", "refunded_amount", "refunds_n", "refunds_total"
    ).order_by("pk"):
        if count > resolutions:
            problems.append(f"dispute {pk} (order {number}): {count} refunds for {resolutions} resolution(s)")
        if refunded_amount != total:
            problems.append(
                f"dispute {pk} (order {number}): refunded_amount {refunded_amount} but its refunds add up to {total}"
            )
    return problems


def outcome_matches_money() -> list[str]:
    """A resolved dispute says what it paid: resolved_refund_amount is its refunded_amount, and its outcome is
    full_refund when the order's disputes have refunded it in full, no_refund when it paid nothing,
    partial_refund otherwise."""
    problems = []
    # Not the refund of the order's cancellation: that comes after the dispute is over (an unshipped order's
    # window closing) and does not change what the dispute decided.
    resolved = Dispute.objects.filter(state=State.RESOLVED).values_list(
        "pk", "order_id", "order__number", "order__total", "outcome", "resolved_refund_amount", "refunded_amount"
    )
    resolved = list(resolved.order_by("pk"))
    refunded = _refunded_by_disputes() if resolved else {}
    for pk, order_id, number, total, outcome, resolved_amount, paid in resolved:
        order_refunded = refunded.get(order_id, ZERO)
        if resolved_amount != paid:
            problems.append(
                f"dispute {pk} (order {number}): resolved_refund_amount {resolved_amount} but refunded_amount {paid}"
            )
        if paid <= 0:
            expected = Outcome.NO_REFUND
        elif order_refunded == total:
            expected = Outcome.FULL_REFUND
        else:
            expected = Outcome.PARTIAL_REFUND
        if outcome != expected:
            problems.append(
                f"dispute {pk} (order {number}): outcome {outcome!r}, expected {expected.value!r} (the dispute "
                f"refunded {paid}, the order {order_refunded} of {total})"
            )
    return problems


def ledger_matches_order_status() -> list[str]:
    """An order's status agrees with its ledger: refunded in full is `refunded` (or `cancelled`), in part is
    `partially_refunded` (or `completed`), not at all is neither; `completed` only once shipped; `cancelled`
    only never shipped and refunded in full. A refund that belongs to no dispute is a cancelled order's."""
    problems = []
    orders = Order.objects.annotate(
        paid=Sum("refunds__amount", default=ZERO),
        without_dispute=Count("refunds", filter=Q(refunds__dispute__isnull=True)),
    )
    for number, total, status, shipped_at, paid, without_dispute in orders.values_list(
        "number", "total", "status", "shipped_at", "paid", "without_dispute"
    ).order_by("number"):
        where = f"order {number} ({status}, refunded {paid} of {total})"
        if paid == total and status not in (OrderStatus.REFUNDED, OrderStatus.CANCELLED):
            problems.append(f"{where}: refunded in full but not refunded or cancelled")
        if ZERO < paid < total and status not in (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.COMPLETED):
            problems.append(f"{where}: refunded in part but not partially_refunded or completed")
        if paid == 0 and status in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
            problems.append(f"{where}: nothing in the ledger")
        if status == OrderStatus.COMPLETED and shipped_at is None:
            problems.append(f"{where}: completed but never shipped")
        if status == OrderStatus.CANCELLED and (shipped_at is not None or paid != total):
            problems.append(f"{where}: cancelled but shipped or not refunded in full")
        if without_dispute and status != OrderStatus.CANCELLED:
            problems.append(f"{where}: a refund that belongs to no dispute, but not cancelled")
    return problems


# --- clocks and the team (right after a sweep) ---------------------------------------------------------


def clocks_run(*, now: datetime) -> list[str]:
    """After a sweep, no answer or escalation clock that has run out is left waiting (unless the dispute is
    set aside), and every live dispute that is not set aside has a deadline."""
    problems = []
    live = Dispute.objects.filter(state__in=LIVE_STATES, set_aside_at__isnull=True)
    for pk, number, state, respond_by, escalate_at in live.values_list(
        "pk", "order__number", "state", "respond_by", "escalate_at"
    ).order_by("pk"):
        where = f"dispute {pk} (order {number}): {state}"
        if respond_by is None:
            problems.append(f"{where} with no respond_by")
        elif state in ANSWER_CLOCK_STATES and respond_by <= now:
            problems.append(f"{where}: respond_by {respond_by:%Y-%m-%d %H:%M} has passed")
        if state in NEGOTIATING and escalate_at is not None and escalate_at <= now:
            problems.append(f"{where}: escalate_at {escalate_at:%Y-%m-%d %H:%M} has passed")
    return problems


def team_has_it() -> list[str]:
    """After a sweep, every dispute with the team has an assignee, or has been set aside with an alert raised."""
    stranded = Dispute.objects.filter(state__in=WITH_TEAM, assignee__isnull=True, set_aside_at__isnull=True)
    return [
        f"dispute {pk} (order {number}): {state} with no assignee and not set aside"
        for pk, number, state in stranded.values_list("pk", "order__number", "state").order_by("pk")
    ]


# --- finality and appeals ------------------------------------------------------------------------------


def finality() -> list[str]:
    """A ruled dispute is never cancelled, and nothing cancels after a ruling or an appeal; an order has at most
    one resolved dispute, none opened after it, and at most two disputes (one reopening)."""
    problems = []
    disputes = list(Dispute.objects.values_list("pk", "order__number", "state", "ruled_at").order_by("pk"))
    ruled, late_cancels = set(), set()
    seen_ruling_or_appeal = set()
    events = DisputeEvent.objects.filter(action__in=["ruling", "appeal", "cancel"])
    for dispute_id, action in events.values_list("dispute_id", "action").order_by("pk"):
        if action == "cancel":
            if dispute_id in seen_ruling_or_appeal:
                late_cancels.add(dispute_id)
            continue
        seen_ruling_or_appeal.add(dispute_id)
        if action == "ruling":
            ruled.add(dispute_id)
    per_order = defaultdict(list)
    for pk, number, state, ruled_at in disputes:
        per_order[number].append((pk, state))
        if state == State.CANCELLED and (ruled_at is not None or pk in ruled):
            problems.append(f"dispute {pk} (order {number}): cancelled after a ruling")
        if pk in late_cancels:
            problems.append(f"dispute {pk} (order {number}): a cancel event follows a ruling or an appeal")
    for number, rows in sorted(per_order.items()):
        resolved = [pk for pk, state in rows if state == State.RESOLVED]
        if len(resolved) > 1:
            problems.append(f"order {number}: {len(resolved)} resolved disputes {resolved}")
        if resolved and (later := [pk for pk, _state in rows if pk > resolved[0]]):
            problems.append(f"order {number}: dispute(s) {later} opened after resolved dispute {resolved[0]}")
        if len(rows) > 2:
            problems.append(f"order {number}: {len(rows)} disputes, more than one reopening")
    return problems


def appeals(*, now: datetime) -> list[str]:
    """A completed order has nothing live and no ruling that can still be appealed; an appeal is ruled on by
    someone other than who made the ruling appealed; a second approval comes from another member; a ruling
    waits for approval only while the dispute is with the team."""
    problems = []
    on_completed = Dispute.objects.filter(order__status=OrderStatus.COMPLETED)
    for pk, number, state, ruled_at in on_completed.values_list("pk", "order__number", "state", "ruled_at"):
        if state in LIVE_STATES:
            problems.append(f"order {number}: completed with a live dispute ({pk}, {state})")
        if _appealable(state, ruled_at, now):
            problems.append(f"order {number}: completed while the ruling on dispute {pk} can still be appealed")
    # Each dispute's rulings and appeals in the order they happened.
    last_ruler: dict[int, int | None] = {}  # dispute -> who made its latest ruling
    appealed_ruler: dict[int, int | None] = {}  # dispute -> who made the ruling its latest appeal is against
    events = DisputeEvent.objects.filter(action__in=["ruling", "appeal"])
    for dispute_id, number, action, actor_id in events.values_list(
        "dispute_id", "dispute__order__number", "action", "actor_id"
    ).order_by("pk"):
        if action == "appeal":
            appealed_ruler[dispute_id] = last_ruler.get(dispute_id)
            continue
        if dispute_id in appealed_ruler and actor_id == appealed_ruler[dispute_id]:
            problems.append(f"dispute {dispute_id} (order {number}): an appeal was ruled on by who made the ruling")
        last_ruler[dispute_id] = actor_id
    for pk, dispute_id, number, state, status, proposed_by, approved_by in PendingRuling.objects.values_list(
        "pk", "dispute_id", "dispute__order__number", "dispute__state", "status", "proposed_by_id", "approved_by_id"
    ).order_by("pk"):
        where = f"dispute {dispute_id} (order {number})"
        if status == PendingRuling.Status.APPROVED and approved_by in (None, proposed_by):
            problems.append(f"{where}: pending ruling {pk} approved by its own proposer")
        if status == PendingRuling.Status.PENDING and state not in WITH_TEAM:
            problems.append(f"{where}: ruling {pk} still waits for approval while the dispute is {state}")
    return problems


# --- who and what --------------------------------------------------------------------------------------


def no_return_when_not_received() -> list[str]:
    """An item the buyer never received is never asked back: no proposal with a return, no return state."""
    problems = []
    unreceived = {}
    for pk, number, state in (
        Dispute.objects.filter(Q(reason=Reason.NOT_RECEIVED) | Q(item_received=False))
        .values_list("pk", "order__number", "state")
        .order_by("pk")
    ):
        unreceived[pk] = number
        if state in RETURN_STATES:
            problems.append(f"dispute {pk} (order {number}): not received, but the dispute is {state}")
    if not unreceived:
        return problems
    returning = Proposal.objects.filter(dispute_id__in=unreceived, return_item=True)
    for dispute_id, kind in returning.values_list("dispute_id", "kind").order_by("pk"):
        problems.append(
            f"dispute {dispute_id} (order {unreceived[dispute_id]}): not received, but a {kind} asks for a return"
        )
    moves = DisputeEvent.objects.filter(dispute_id__in=unreceived, to_state__in=RETURN_STATES)
    for dispute_id, action, to_state in moves.values_list("dispute_id", "action", "to_state").order_by("pk"):
        problems.append(
            f"dispute {dispute_id} (order {unreceived[dispute_id]}): not received, but {action} led to {to_state}"
        )
    return problems


def parties_never_judge() -> list[str]:
    """Neither the buyer nor the seller of an order is ever assigned to, or rules on, its dispute."""
    problems = []
    judged = Dispute.objects.filter(Q(assignee__isnull=False) | Q(ruled_by__isnull=False))
    for pk, number, assignee, ruled_by, buyer, seller in judged.values_list(
        "pk", "order__number", "assignee_id", "ruled_by_id", "order__buyer_id", "order__store__owner_id"
    ).order_by("pk"):
        parties = {buyer: "buyer", seller: "seller"}
        if assignee in parties:
            problems.append(f"dispute {pk} (order {number}): assigned to the {parties[assignee]}")
        if ruled_by in parties:
            problems.append(f"dispute {pk} (order {number}): ruled on by the {parties[ruled_by]}")
    return problems


class WindowWatch:
    """A window only grows once it has opened: its opening never moves later, its closing never earlier.
    Remembers each order's window between looks; call `check` after every step."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[datetime, datetime, bool]] = {}  # order -> opens_at, closes_at, was open

    def check(self, *, now: datetime) -> list[str]:
        problems = []
        windows = Order.objects.values_list("pk", "number", "window_opens_at", "window_closes_at").order_by("pk")
        for pk, number, opens_at, closes_at in windows:
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
    closed = {
        pk: (number, status, closes_at)
        for pk, number, status, closes_at in Order.objects.filter(
            status__in=UNSETTLED, window_closes_at__lte=now
        ).values_list("pk", "number", "status", "window_closes_at")
    }
    disputes = _disputes_per_order(closed)
    return [
        f"order {number}: still {status} after its window closed at {closes_at:%Y-%m-%d %H:%M}"
        for pk, (number, status, closes_at) in sorted(closed.items())
        if not any(state in LIVE_STATES or _appealable(state, ruled_at, now) for state, ruled_at in disputes[pk])
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
