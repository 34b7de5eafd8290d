"""The dispute workflow's promises (docs/rules.md §2-3, docs/disputes.md), and those of return and exchange
requests and of per-item claims (docs/rules.md §2, disputes/requests.py), as checks over the database.

Each check returns human-readable violations; an empty list means the promise holds. `check_all` reads each
table it needs once, with one plain query of only the columns the checks use (`Rows`), and every check
compares in Python: cheap on a database of a handful of orders, where the workflow state-machine test
(tests/disputes/test_workflow_machine.py) runs `check_all` after every step. A check called on its own
reads what it needs itself. Orders are named by number, disputes and requests by id and order number, so a
message can be matched with the steps that led to it.

Some promises hold only once the sweeps have run (a clock that ran out a second ago has not been acted on
yet): `check_all(after_sweep=True)` adds those, to be called right after `disputes.tasks.run_all_sweeps`.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.db.models import Q

from disputes.models import (
    Case,
    CaseRuling,
    ClaimItem,
    Dispute,
    DisputeEvent,
    MoreTime,
    Outcome,
    PendingRuling,
    Proposal,
    Reason,
    Refund,
    RequestEvent,
    ReturnRequest,
    State,
)
from orders.models import Order, OrderItem, OrderStatus

ZERO = Decimal("0.00")
# Spelled out here rather than imported from the workflow, so a change there cannot change a promise.
LIVE_STATES = [s for s in State if s not in (State.RESOLVED, State.CANCELLED)]
NEGOTIATING = [State.AWAITING_SELLER, State.AWAITING_BUYER]
WITH_TEAM = [State.ESCALATED, State.UNDER_REVIEW]
RETURN_STATES = [State.AWAITING_RETURN, State.RETURN_IN_TRANSIT]
ANSWER_CLOCK_STATES = [*NEGOTIATING, *RETURN_STATES]  # where respond_by running out moves the dispute
UNSETTLED = [OrderStatus.AWAITING_SHIPMENT, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_REFUNDED]
# Return and exchange requests: the live states hold the items and run a clock; the closed ones never move
# again (a declined request may only be turned into a dispute, and stays declined).
LIVE_REQUEST_STATES = ["awaiting_seller", "approved", "awaiting_return", "return_in_transit", "replacement_in_transit"]
CLOSED_REQUEST_STATES = ["declined", "completed", "cancelled"]
# What a request's outcome may be in each closed state.
REQUEST_OUTCOMES = {
    "declined": {"declined"},
    "completed": {"refunded", "exchanged", "disputed"},
    "cancelled": {"withdrawn", "lapsed"},
}
# A claim over an item that leaves the item settled: no claim may be opened over it afterwards.
SETTLING_REQUEST_OUTCOMES = ("refunded", "exchanged")
# A cancelled claim over an item can be reopened once: two spent claims use up the item's tries.
TRIES_PER_ITEM = 2


# --- what the checks read ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRow:
    pk: int
    number: str
    total: Decimal
    status: str
    shipped_at: datetime | None
    delivered_at: datetime | None
    window_opens_at: datetime
    window_closes_at: datetime
    snapshot: dict
    returns_close_at: datetime | None
    buyer: int
    seller: int


@dataclass(frozen=True)
class DisputeRow:
    pk: int
    order: int
    state: str
    reason: str
    item_received: bool
    items_worth: Decimal | None
    outcome: str
    resolved_refund_amount: Decimal | None
    refunded_amount: Decimal
    resolution_number: int
    respond_by: datetime | None
    escalate_at: datetime | None
    set_aside_at: datetime | None
    assignee: int | None
    ruled_by: int | None
    ruled_at: datetime | None
    paused_at: datetime | None
    paused_until: datetime | None
    paused_left: dict
    more_time_asked_by: str
    case: int | None


@dataclass(frozen=True)
class RequestRow:
    pk: int
    order: int
    state: str
    outcome: str
    amount: Decimal
    refunded_amount: Decimal
    postage_payer: str
    postage: Decimal | None
    respond_by: datetime | None
    closed_at: datetime | None
    dispute: int | None


@dataclass(frozen=True)
class RefundRow:
    pk: int
    order: int
    dispute: int | None
    request: int | None
    amount: Decimal
    postage: Decimal


@dataclass(frozen=True)
class ClaimRow:
    pk: int
    item: int
    quantity: int
    live: bool
    dispute: int | None
    request: int | None


def _rows(model, row_type, columns: tuple[str, ...]) -> list:
    return [row_type(*values) for values in model.objects.order_by("pk").values_list(*columns)]


class Rows:
    """Each table the checks read, read once (on first use) with only the columns they need."""

    @cached_property
    def orders(self) -> dict[int, OrderRow]:
        columns = ("pk", "number", "total", "status", "shipped_at", "delivered_at", "window_opens_at",
                   "window_closes_at", "return_policy_snapshot", "returns_close_at", "buyer_id",
                   "store__owner_id")  # fmt: skip
        return {row.pk: row for row in _rows(Order, OrderRow, columns)}

    @cached_property
    def items(self) -> dict[int, tuple[int, int]]:
        """Order item -> (its order, the quantity bought)."""
        return {
            pk: (order, quantity) for pk, order, quantity in OrderItem.objects.values_list("pk", "order_id", "quantity")
        }

    @cached_property
    def disputes(self) -> dict[int, DisputeRow]:
        columns = ("pk", "order_id", "state", "reason", "item_received", "items_worth", "outcome",
                   "resolved_refund_amount", "refunded_amount", "resolution_number", "respond_by", "escalate_at",
                   "set_aside_at", "assignee_id", "ruled_by_id", "ruled_at", "paused_at", "paused_until",
                   "paused_left", "more_time_asked_by", "case_id")  # fmt: skip
        return {row.pk: row for row in _rows(Dispute, DisputeRow, columns)}

    @cached_property
    def more_time(self) -> list[tuple[int, int, str, str, str]]:
        """(request, dispute, party, status, state asked in) of every request for more time."""
        return list(MoreTime.objects.order_by("pk").values_list("pk", "dispute_id", "party", "status", "state"))

    @cached_property
    def requests(self) -> dict[int, RequestRow]:
        columns = ("pk", "order_id", "state", "outcome", "amount", "refunded_amount", "postage_payer", "postage",
                   "respond_by", "closed_at", "dispute_id")  # fmt: skip
        return {row.pk: row for row in _rows(ReturnRequest, RequestRow, columns)}

    @cached_property
    def refunds(self) -> list[RefundRow]:
        return _rows(Refund, RefundRow, ("pk", "order_id", "dispute_id", "request_id", "amount", "postage"))

    @cached_property
    def claims(self) -> list[ClaimRow]:
        """Every claimed item, in the order the claims were opened."""
        return _rows(ClaimItem, ClaimRow, ("pk", "order_item_id", "quantity", "live", "dispute_id", "request_id"))

    @cached_property
    def dispute_events(self) -> list[tuple[int, str, int | None, str]]:
        """(dispute, action, actor, to_state) of the events the checks look at, in the order they happened."""
        events = DisputeEvent.objects.filter(
            Q(action__in=["ruling", "appeal", "cancel"]) | Q(to_state__in=RETURN_STATES)
        ).order_by("pk")
        return list(events.values_list("dispute_id", "action", "actor_id", "to_state"))

    @cached_property
    def request_events(self) -> list[tuple[int, str, str, str]]:
        """(request, action, from_state, to_state) of every request event, in the order they happened."""
        return list(RequestEvent.objects.order_by("pk").values_list("request_id", "action", "from_state", "to_state"))

    @cached_property
    def return_proposals(self) -> list[tuple[int, str]]:
        """(dispute, kind) of every proposal that asks for the item back."""
        return list(Proposal.objects.filter(return_item=True).order_by("pk").values_list("dispute_id", "kind"))

    @cached_property
    def pending_rulings(self) -> list[tuple[int, int, str, int, int | None]]:
        rows = PendingRuling.objects.order_by("pk")
        return list(rows.values_list("pk", "dispute_id", "status", "proposed_by_id", "approved_by_id"))

    @cached_property
    def cases(self) -> dict[int, str]:
        """Linked case -> its status."""
        return dict(Case.objects.order_by("pk").values_list("pk", "status"))

    @cached_property
    def case_rulings(self) -> list[tuple[int, int, str, int, int | None]]:
        """(ruling, case, status, proposed by, approved by) of every case ruling."""
        rows = CaseRuling.objects.order_by("pk")
        return list(rows.values_list("pk", "case_id", "status", "proposed_by_id", "approved_by_id"))

    @cached_property
    def case_events(self) -> list[tuple[int, str, int | None, int | None]]:
        """(dispute, action, the case its payload names, the case it left) of the events that change or use a
        dispute's case, in the order they happened: links, takings out, rulings, appeals, and any other move
        that took a dispute out of its case (`left_case`)."""
        events = DisputeEvent.objects.filter(
            Q(action__in=["case_linked", "case_unlinked", "ruling", "appeal"]) | Q(payload__has_key="left_case")
        )
        return list(events.order_by("pk").values_list("dispute_id", "action", "payload__case", "payload__left_case"))

    # --- derived ---

    def number(self, order_id: int) -> str:
        return self.orders[order_id].number

    def dispute_where(self, pk: int) -> str:
        return f"dispute {pk} (order {self.number(self.disputes[pk].order)})"

    def request_where(self, pk: int) -> str:
        return f"request {pk} (order {self.number(self.requests[pk].order)})"

    @cached_property
    def refunded(self) -> dict[int, tuple[Decimal, Decimal]]:
        """Order -> (what its refunds add up to, the return postage among it)."""
        sums: dict[int, tuple[Decimal, Decimal]] = {}
        for refund in self.refunds:
            amount, postage = sums.get(refund.order, (ZERO, ZERO))
            sums[refund.order] = (amount + refund.amount, postage + refund.postage)
        return sums

    def price_refunded(self, order_id: int) -> Decimal:
        """What was paid back of the order's price (return postage refunded on top does not count)."""
        amount, postage = self.refunded.get(order_id, (ZERO, ZERO))
        return amount - postage


def _appealable(state: str, ruled_at: datetime | None, now: datetime) -> bool:
    """A resolved dispute whose ruling can still be appealed at `now`."""
    return state == State.RESOLVED and ruled_at is not None and ruled_at + timedelta(days=settings.APPEAL_DAYS) > now


def _return_period_ends(order: OrderRow) -> datetime | None:
    """When the order's policy snapshot stops taking return and exchange requests: its return days from
    delivery, or from the window's opening for an order never marked delivered. None: it takes none."""
    snapshot = order.snapshot or {}
    if not snapshot.get("accepts_returns") or not snapshot.get("return_days"):
        return None
    return (order.delivered_at or order.window_opens_at) + timedelta(days=int(snapshot["return_days"]))


# --- money ---------------------------------------------------------------------------------------------


def money_within_paid(rows: Rows | None = None) -> list[str]:
    """The refunds on an order never add up to more than the buyer paid plus the return postage refunded with
    them. Postage is refunded only with a claim's refund (a return request's, or a dispute's whose item went
    back), never more than the refund itself, and for each claim at most RETURN_POSTAGE_CAP_PERCENT of the
    order's total (an amount in the currency's minor unit is at most the cap rounded down exactly when it is at
    most the cap itself)."""
    rows = rows or Rows()
    problems = []
    for order_id, (amount, postage) in sorted(rows.refunded.items(), key=lambda item: rows.number(item[0])):
        order = rows.orders[order_id]
        if amount - postage > order.total:
            problems.append(
                f"order {order.number}: refunds total {amount} with {postage} of postage, more than the "
                f"{order.total} paid plus the postage"
            )
    per_claim = defaultdict(lambda: ZERO)  # ("dispute" | "request", id) -> the postage its refunds carried
    for refund in rows.refunds:
        if refund.postage <= 0:
            continue
        order = rows.orders[refund.order]
        if refund.request is None and refund.dispute is None:
            problems.append(f"order {order.number}: refund {refund.pk} carries {refund.postage} of postage, no claim's")
        if refund.postage > refund.amount:
            problems.append(f"order {order.number}: refund {refund.pk} of {refund.amount} carries more postage")
        claim = ("request", refund.request) if refund.request is not None else ("dispute", refund.dispute)
        per_claim[claim] += refund.postage
        if per_claim[claim] * 100 > order.total * settings.RETURN_POSTAGE_CAP_PERCENT:
            problems.append(
                f"order {order.number}: {claim[0]} {claim[1]}'s refunds carry {per_claim[claim]} of postage, above "
                f"{settings.RETURN_POSTAGE_CAP_PERCENT}% of the {order.total} paid"
            )
    return problems


def one_refund_per_resolution(rows: Rows | None = None) -> list[str]:
    """A dispute pays at most one refund per resolution, and its refunded_amount is what its refunds add up to
    (the return postage refunded with them aside: it does not count against what the items are worth)."""
    rows = rows or Rows()
    problems = []
    paid = defaultdict(list)
    for refund in rows.refunds:
        if refund.dispute is not None:
            paid[refund.dispute].append(refund.amount - refund.postage)
    for pk, dispute in rows.disputes.items():
        where, amounts = rows.dispute_where(pk), paid.get(pk, [])
        if len(amounts) > dispute.resolution_number:
            problems.append(f"{where}: {len(amounts)} refunds for {dispute.resolution_number} resolution(s)")
        if dispute.refunded_amount != sum(amounts, ZERO):
            problems.append(
                f"{where}: refunded_amount {dispute.refunded_amount} but its refunds add up to {sum(amounts, ZERO)}"
            )
    return problems


def outcome_matches_money(rows: Rows | None = None) -> list[str]:
    """A resolved dispute says what it paid: resolved_refund_amount is its refunded_amount; its outcome is
    no_refund when it paid nothing, full_refund when it paid what its items are worth (the order's total when
    it names them all), partial_refund when it paid less, except that a dispute that took the order's last
    money (less than its items' worth, as other claims had refunded the rest) is a full_refund: the order
    is then refunded in full, which it stays."""
    rows = rows or Rows()
    problems = []
    for pk, dispute in rows.disputes.items():
        if dispute.state != State.RESOLVED:
            continue
        order = rows.orders[dispute.order]
        worth = order.total if dispute.items_worth is None else dispute.items_worth
        paid, order_refunded = dispute.refunded_amount, rows.price_refunded(order.pk)
        if dispute.resolved_refund_amount != paid:
            problems.append(
                f"{rows.dispute_where(pk)}: resolved_refund_amount {dispute.resolved_refund_amount} but "
                f"refunded_amount {paid}"
            )
        if paid <= 0:
            expected = {Outcome.NO_REFUND}
        elif paid >= worth:
            expected = {Outcome.FULL_REFUND}
        elif order_refunded >= order.total:
            expected = {Outcome.FULL_REFUND, Outcome.PARTIAL_REFUND}
        else:
            expected = {Outcome.PARTIAL_REFUND}
        if dispute.outcome not in expected:
            problems.append(
                f"{rows.dispute_where(pk)}: outcome {dispute.outcome!r}, expected "
                f"{' or '.join(sorted(e.value for e in expected))} (the dispute refunded {paid} of the {worth} its "
                f"items are worth, the order {order_refunded} of {order.total})"
            )
    return problems


def ledger_matches_order_status(rows: Rows | None = None) -> list[str]:
    """An order's status agrees with its ledger: refunded in full is `refunded` (or `cancelled`), in part is
    `partially_refunded` (or `completed`), not at all is neither; `completed` only once shipped; `cancelled`
    only never shipped and refunded in full. What counts is what was paid back of the price: return postage
    refunded on top does not. A refund that belongs to neither a dispute nor a request is a cancelled order's."""
    rows = rows or Rows()
    problems = []
    orphans = {refund.order for refund in rows.refunds if refund.dispute is None and refund.request is None}
    for order in sorted(rows.orders.values(), key=lambda order: order.number):
        paid, total, status = rows.price_refunded(order.pk), order.total, order.status
        where = f"order {order.number} ({status}, refunded {paid} of {total})"
        if paid == total and status not in (OrderStatus.REFUNDED, OrderStatus.CANCELLED):
            problems.append(f"{where}: refunded in full but not refunded or cancelled")
        if ZERO < paid < total and status not in (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.COMPLETED):
            problems.append(f"{where}: refunded in part but not partially_refunded or completed")
        if paid == 0 and status in (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED):
            problems.append(f"{where}: nothing in the ledger")
        if status == OrderStatus.COMPLETED and order.shipped_at is None:
            problems.append(f"{where}: completed but never shipped")
        if status == OrderStatus.CANCELLED and (order.shipped_at is not None or paid != total):
            problems.append(f"{where}: cancelled but shipped or not refunded in full")
        if order.pk in orphans and status != OrderStatus.CANCELLED:
            problems.append(f"{where}: a refund that belongs to no dispute or request, but not cancelled")
    return problems


# --- clocks and the team (right after a sweep) ---------------------------------------------------------


def clocks_run(*, now: datetime, rows: Rows | None = None) -> list[str]:
    """After a sweep, no answer or escalation clock that has run out is left waiting (unless the dispute is
    set aside), and every live dispute that is not set aside has a deadline; no live request's deadline has
    passed (a request a clock turned into a dispute included: the same sweep acts on the dispute's clock)."""
    rows = rows or Rows()
    problems = []
    for pk, dispute in rows.disputes.items():
        if dispute.state not in LIVE_STATES or dispute.set_aside_at is not None:
            continue
        where = f"{rows.dispute_where(pk)}: {dispute.state}"
        if dispute.paused_at is not None:
            # Paused is not stuck: the sweep ends a pause whose end has come.
            if dispute.paused_until is None or dispute.paused_until <= now:
                problems.append(f"{where}: paused, and its pause's end ({dispute.paused_until}) has passed")
            continue
        if dispute.respond_by is None:
            problems.append(f"{where} with no respond_by")
        elif dispute.state in ANSWER_CLOCK_STATES and dispute.respond_by <= now:
            problems.append(f"{where}: respond_by {dispute.respond_by:%Y-%m-%d %H:%M} has passed")
        if dispute.state in NEGOTIATING and dispute.escalate_at is not None and dispute.escalate_at <= now:
            problems.append(f"{where}: escalate_at {dispute.escalate_at:%Y-%m-%d %H:%M} has passed")
    for pk, request in rows.requests.items():
        if request.state in LIVE_REQUEST_STATES and request.respond_by is not None and request.respond_by <= now:
            problems.append(
                f"{rows.request_where(pk)}: {request.state}, respond_by {request.respond_by:%Y-%m-%d %H:%M} has passed"
            )
    return problems


def team_has_it(rows: Rows | None = None) -> list[str]:
    """After a sweep, every dispute with the team has an assignee, or has been set aside with an alert raised."""
    rows = rows or Rows()
    return [
        f"{rows.dispute_where(pk)}: {dispute.state} with no assignee and not set aside"
        for pk, dispute in rows.disputes.items()
        if dispute.state in WITH_TEAM and dispute.assignee is None and dispute.set_aside_at is None
    ]


# --- pauses and more time ----------------------------------------------------------------------------


def _acts(state: str, column: str) -> bool:
    """Whether the clock on this column moves a dispute in this state when it runs out (the ruling SLA
    only alerts, so it may be overdue when paused)."""
    return state in NEGOTIATING if column == "escalate_at" else state in ANSWER_CLOCK_STATES


def pauses_have_an_end(rows: Rows | None = None) -> list[str]:
    """A paused dispute is live and has an end, at most PAUSE_MAX_DAYS after it was paused; while paused no
    deadline is set and what each clock had left is kept (more than nothing for a clock that acts when it
    runs out: an overdue one was acted on before the pause, unless that failed and set the dispute aside); a
    dispute not paused keeps nothing of a pause."""
    rows = rows or Rows()
    problems = []
    longest = timedelta(days=settings.PAUSE_MAX_DAYS)
    for pk, dispute in rows.disputes.items():
        where = rows.dispute_where(pk)
        if dispute.paused_at is None:
            if dispute.paused_until is not None or dispute.paused_left:
                problems.append(f"{where}: not paused, but keeps a pause's end or time left")
            continue
        if dispute.state not in LIVE_STATES:
            problems.append(f"{where}: paused while {dispute.state}")
        if dispute.paused_until is None or not dispute.paused_at < dispute.paused_until <= dispute.paused_at + longest:
            problems.append(f"{where}: paused at {dispute.paused_at} with no end within the most allowed")
        if dispute.respond_by is not None or dispute.escalate_at is not None:
            problems.append(f"{where}: paused, but a deadline is set")
        if not dispute.paused_left or set(dispute.paused_left) - {"respond_by", "escalate_at"}:
            problems.append(f"{where}: paused with no time left kept: {dispute.paused_left}")
        elif dispute.set_aside_at is None and any(
            left <= 0 for column, left in dispute.paused_left.items() if _acts(dispute.state, column)
        ):
            problems.append(f"{where}: paused with a clock that had already run out: {dispute.paused_left}")
    return problems


def more_time_once_per_side(rows: Rows | None = None) -> list[str]:
    """Each side asks for more time at most once per dispute; at most one request waits at a time, the one
    the dispute names, asked in the state the dispute is still in."""
    rows = rows or Rows()
    problems, sides, waiting = [], Counter(), defaultdict(list)
    for pk, dispute_id, party, status, state in rows.more_time:
        sides[dispute_id, party] += 1
        if status == MoreTime.Status.PENDING:
            waiting[dispute_id].append((pk, party, state))
    for (dispute_id, party), n in sides.items():
        if n > 1:
            problems.append(f"{rows.dispute_where(dispute_id)}: the {party} asked for more time {n} times")
    for pk, dispute in rows.disputes.items():
        pending = waiting.get(pk, [])
        named = dispute.more_time_asked_by
        if len(pending) > 1 or (named and [p for _pk, p, _s in pending] != [named]) or (pending and not named):
            problems.append(f"{rows.dispute_where(pk)}: requests for more time waiting {pending}, named {named!r}")
        elif pending and pending[0][2] != dispute.state:
            problems.append(f"{rows.dispute_where(pk)}: a request for more time asked while {pending[0][2]} still "
                            f"waits while {dispute.state}")  # fmt: skip
    return problems


class PauseWatch:
    """Time left is restored: while a dispute stays paused in one state its clocks keep what they had left,
    and when its pause ends each deadline is the pause's end plus exactly that (to the second). Only an
    accepted request for more time changes it meanwhile. Remembers each paused dispute between looks; call
    `check` after every step."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[str, dict, int]] = {}  # dispute -> state, time left, extensions accepted

    def check(self) -> list[str]:
        problems = []
        accepted = Counter(
            MoreTime.objects.filter(status=MoreTime.Status.ACCEPTED).values_list("dispute_id", flat=True)
        )
        rows = Dispute.objects.filter(Q(paused_at__isnull=False) | Q(pk__in=list(self.seen))).values_list(
            "pk", "state", "paused_at", "paused_left", "respond_by", "escalate_at"
        )
        seen = {}
        for pk, state, paused_at, left, respond_by, escalate_at in rows:
            before = self.seen.get(pk)
            same = before is not None and before[0] == state and before[2] == accepted[pk]
            if paused_at is not None:
                if same and before[1] != left:
                    problems.append(f"dispute {pk}: paused time left went from {before[1]} to {left}")
                seen[pk] = (state, left, accepted[pk])
                continue
            if not same:
                continue
            resumed = DisputeEvent.objects.filter(dispute_id=pk, action="resume").order_by("-pk").first()
            if resumed is None:
                problems.append(f"dispute {pk}: no longer paused, and no resume event")
                continue
            at = datetime.fromisoformat(resumed.payload["resumed_at"])
            for column, deadline in (("respond_by", respond_by), ("escalate_at", escalate_at)):
                kept = before[1].get(column)
                expected = None if kept is None else at + timedelta(seconds=kept)
                if (deadline is None) != (expected is None) or (
                    deadline is not None and abs((deadline - expected).total_seconds()) >= 1
                ):
                    problems.append(f"dispute {pk}: {column} {deadline} after the pause, not {expected}")
        self.seen = seen
        return problems


# --- finality and appeals ------------------------------------------------------------------------------


def finality(rows: Rows | None = None) -> list[str]:
    """A ruled dispute is never cancelled, and nothing cancels after a ruling or an appeal. A dispute that names
    no items (an order without any) covers the order: such an order has at most one resolved dispute, none
    opened after it, and at most two disputes (one reopening). Disputes over items: `claims_per_item`."""
    rows = rows or Rows()
    problems = []
    ruled, late_cancels, seen_ruling_or_appeal = set(), set(), set()
    for dispute_id, action, _actor, _to_state in rows.dispute_events:
        if action == "cancel":
            if dispute_id in seen_ruling_or_appeal:
                late_cancels.add(dispute_id)
        elif action in ("ruling", "appeal"):
            seen_ruling_or_appeal.add(dispute_id)
            if action == "ruling":
                ruled.add(dispute_id)
    with_items = {claim.dispute for claim in rows.claims if claim.dispute is not None}
    per_order = defaultdict(list)
    for pk, dispute in rows.disputes.items():
        if pk not in with_items:
            per_order[rows.number(dispute.order)].append((pk, dispute.state))
        if dispute.state == State.CANCELLED and (dispute.ruled_at is not None or pk in ruled):
            problems.append(f"{rows.dispute_where(pk)}: cancelled after a ruling")
        if pk in late_cancels:
            problems.append(f"{rows.dispute_where(pk)}: a cancel event follows a ruling or an appeal")
    for number, disputes in sorted(per_order.items()):
        resolved = [pk for pk, state in disputes if state == State.RESOLVED]
        if len(resolved) > 1:
            problems.append(f"order {number}: {len(resolved)} resolved disputes {resolved}")
        if resolved and (later := [pk for pk, _state in disputes if pk > resolved[0]]):
            problems.append(f"order {number}: dispute(s) {later} opened after resolved dispute {resolved[0]}")
        if len(disputes) > 2:
            problems.append(f"order {number}: {len(disputes)} disputes, more than one reopening")
    return problems


def appeals(*, now: datetime, rows: Rows | None = None) -> list[str]:
    """A completed order has nothing live (no dispute, no return or exchange request) and no ruling that can still
    be appealed; an appeal is ruled on by someone other than who made the ruling appealed; a second approval
    comes from another member; a ruling waits for approval only while the dispute is with the team."""
    rows = rows or Rows()
    problems = []
    for pk, dispute in rows.disputes.items():
        order = rows.orders[dispute.order]
        if order.status != OrderStatus.COMPLETED:
            continue
        if dispute.state in LIVE_STATES:
            problems.append(f"order {order.number}: completed with a live dispute ({pk}, {dispute.state})")
        if _appealable(dispute.state, dispute.ruled_at, now):
            problems.append(f"order {order.number}: completed while the ruling on dispute {pk} can still be appealed")
    for pk, request in rows.requests.items():
        order = rows.orders[request.order]
        if order.status == OrderStatus.COMPLETED and request.state in LIVE_REQUEST_STATES:
            problems.append(f"order {order.number}: completed with a live request ({pk}, {request.state})")
    # Each dispute's rulings and appeals in the order they happened.
    last_ruler: dict[int, int | None] = {}  # dispute -> who made its latest ruling
    appealed_ruler: dict[int, int | None] = {}  # dispute -> who made the ruling its latest appeal is against
    for dispute_id, action, actor_id, _to_state in rows.dispute_events:
        if action == "appeal":
            appealed_ruler[dispute_id] = last_ruler.get(dispute_id)
        elif action == "ruling":
            if dispute_id in appealed_ruler and actor_id == appealed_ruler[dispute_id]:
                problems.append(f"{rows.dispute_where(dispute_id)}: an appeal was ruled on by who made the ruling")
            last_ruler[dispute_id] = actor_id
    for pk, dispute_id, status, proposed_by, approved_by in rows.pending_rulings:
        where, state = rows.dispute_where(dispute_id), rows.disputes[dispute_id].state
        if status == PendingRuling.Status.APPROVED and approved_by in (None, proposed_by):
            problems.append(f"{where}: pending ruling {pk} approved by its own proposer")
        if status == PendingRuling.Status.PENDING and state not in WITH_TEAM:
            problems.append(f"{where}: ruling {pk} still waits for approval while the dispute is {state}")
    return problems


# --- who and what --------------------------------------------------------------------------------------


def no_return_when_not_received(rows: Rows | None = None) -> list[str]:
    """An item the buyer never received is never asked back: no proposal with a return, no return state."""
    rows = rows or Rows()
    problems = []
    unreceived = {
        pk
        for pk, dispute in rows.disputes.items()
        if dispute.reason == Reason.NOT_RECEIVED or not dispute.item_received
    }
    for pk in sorted(unreceived):
        if (state := rows.disputes[pk].state) in RETURN_STATES:
            problems.append(f"{rows.dispute_where(pk)}: not received, but the dispute is {state}")
    for dispute_id, kind in rows.return_proposals:
        if dispute_id in unreceived:
            problems.append(f"{rows.dispute_where(dispute_id)}: not received, but a {kind} asks for a return")
    for dispute_id, action, _actor, to_state in rows.dispute_events:
        if dispute_id in unreceived and to_state in RETURN_STATES:
            problems.append(f"{rows.dispute_where(dispute_id)}: not received, but {action} led to {to_state}")
    return problems


def parties_never_judge(rows: Rows | None = None) -> list[str]:
    """Neither the buyer nor the seller of an order is ever assigned to, or rules on, its dispute."""
    rows = rows or Rows()
    problems = []
    for pk, dispute in rows.disputes.items():
        order = rows.orders[dispute.order]
        parties = {order.buyer: "buyer", order.seller: "seller"}
        if dispute.assignee in parties:
            problems.append(f"{rows.dispute_where(pk)}: assigned to the {parties[dispute.assignee]}")
        if dispute.ruled_by in parties:
            problems.append(f"{rows.dispute_where(pk)}: ruled on by the {parties[dispute.ruled_by]}")
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


# --- completion ----------------------------------------------------------------------------------------


def orders_settle(*, now: datetime, rows: Rows | None = None) -> list[str]:
    """After a sweep, an order whose window has closed, with nothing live (no dispute, no return or exchange
    request) and nothing appealable, is settled: completed if it shipped and its policy's return period is
    over too, cancelled and refunded in full if it never shipped (there is nothing to return)."""
    rows = rows or Rows()
    busy = {
        dispute.order
        for dispute in rows.disputes.values()
        if dispute.state in LIVE_STATES or _appealable(dispute.state, dispute.ruled_at, now)
    }
    busy |= {request.order for request in rows.requests.values() if request.state in LIVE_REQUEST_STATES}
    return [
        f"order {order.number}: still {order.status} after its window closed at {order.window_closes_at:%Y-%m-%d %H:%M}"
        for order in sorted(rows.orders.values(), key=lambda order: order.pk)
        if order.status in UNSETTLED
        and order.window_closes_at <= now
        and (order.shipped_at is None or (ends := _return_period_ends(order)) is None or ends <= now)
        and order.pk not in busy
    ]


def completion_waits_for_returns(*, now: datetime, rows: Rows | None = None) -> list[str]:
    """A shipped order completes (its funds go to the seller) only once the buyer can no longer ask for a
    return: no completed order's return period is still running. Until an order completes or is cancelled, the
    period it keeps is the one its policy gives from delivery (or the window's opening); from then on it stays
    as it was, so a delivery reported late does not reopen it."""
    rows = rows or Rows()
    problems = []
    for order in sorted(rows.orders.values(), key=lambda order: order.number):
        ends = order.returns_close_at
        if order.status == OrderStatus.COMPLETED and ends is not None and ends > now:
            problems.append(f"order {order.number}: completed while its return period runs until {ends:%Y-%m-%d %H:%M}")
        if order.status not in (OrderStatus.COMPLETED, OrderStatus.CANCELLED) and ends != (
            policy_ends := _return_period_ends(order)
        ):
            problems.append(f"order {order.number}: return period kept as {ends}, its policy gives {policy_ends}")
    return problems


# --- return and exchange requests, and the items each claim covers ------------------------------------


def requests_keep_their_state(rows: Rows | None = None) -> list[str]:
    """A live request has a deadline (respond_by), no outcome and no dispute; a closed one has an outcome that
    fits its state, a closing time and no deadline. A request is in the state its last event left it in, each
    event starts where the one before ended, and a closed request never changes state again: a declined one
    may only be turned into a dispute, and stays declined. A request that became a dispute names it."""
    rows = rows or Rows()
    problems = []
    for pk, request in rows.requests.items():
        where = f"{rows.request_where(pk)}: {request.state}"
        if request.state in LIVE_REQUEST_STATES:
            if request.respond_by is None:
                problems.append(f"{where} with no respond_by")
            if request.outcome or request.closed_at is not None or request.dispute is not None:
                problems.append(
                    f"{where} but outcome {request.outcome!r}, closed_at {request.closed_at}, dispute {request.dispute}"
                )
            continue
        if request.outcome not in REQUEST_OUTCOMES.get(request.state, ()):
            problems.append(f"{where} with outcome {request.outcome!r}")
        if request.closed_at is None or request.respond_by is not None:
            problems.append(f"{where}: closed_at {request.closed_at}, respond_by {request.respond_by}")
        if (request.outcome == "disputed") != (request.dispute is not None and request.state != "declined"):
            problems.append(f"{where}: outcome {request.outcome!r} but dispute {request.dispute}")
    last: dict[int, str] = {}
    for request_id, action, from_state, to_state in rows.request_events:
        where = rows.request_where(request_id)
        before = last.get(request_id, "")
        if from_state != before:
            problems.append(f"{where}: {action} from {from_state!r}, but the request was {before!r}")
        if before in CLOSED_REQUEST_STATES and (to_state != before or (before, action) != ("declined", "to_dispute")):
            problems.append(f"{where}: {action} moved it from {before} (closed) to {to_state}")
        last[request_id] = to_state
    for pk, request in rows.requests.items():
        if last.get(pk) != request.state:
            problems.append(f"{rows.request_where(pk)}: {request.state}, but its last event left it {last.get(pk)!r}")
    return problems


def requests_refund_once(rows: Rows | None = None) -> list[str]:
    """A request refunds at most once, and only when its outcome is `refunded`; its refunded_amount is that
    refund. It pays back at most what its items are worth, plus return postage only where the seller pays it
    under the policy, and never more postage than the buyer paid."""
    rows = rows or Rows()
    problems = []
    refunds = defaultdict(list)
    for refund in rows.refunds:
        if refund.request is not None:
            refunds[refund.request].append(refund)
    for pk, request in rows.requests.items():
        where, paid = rows.request_where(pk), refunds.get(pk, [])
        total = rows.orders[request.order].total
        if len(paid) > 1:
            problems.append(f"{where}: {len(paid)} refunds")
        if paid and request.outcome != "refunded":
            problems.append(f"{where}: refunded, but its outcome is {request.outcome!r}")
        if request.refunded_amount != sum((refund.amount for refund in paid), ZERO):
            problems.append(f"{where}: refunded_amount {request.refunded_amount} but its refunds are {paid}")
        if request.amount > total:
            problems.append(f"{where}: asks for {request.amount}, more than the {total} paid")
        for refund in paid:
            if refund.amount - refund.postage > request.amount:
                problems.append(
                    f"{where}: refunded {refund.amount - refund.postage} of the price, more than the {request.amount} "
                    "its items are worth"
                )
            if refund.postage > 0 and (
                request.postage_payer != "seller" or request.postage is None or refund.postage > request.postage
            ):
                problems.append(
                    f"{where}: {refund.postage} of postage refunded; the {request.postage_payer} pays it, the buyer "
                    f"paid {request.postage}"
                )
    return problems


def claims_follow_their_claim(rows: Rows | None = None) -> list[str]:
    """A claimed item is live exactly while its dispute or request is live, and each order item is in at most
    one live claim. Every dispute and request on an order with items names some of them, within the quantities
    bought; a request that became a dispute passed it its items, as it was worth."""
    rows = rows or Rows()
    problems = []
    live_per_item = defaultdict(list)
    named = defaultdict(set)  # ("dispute" | "request", id) -> {(order item, quantity)}
    for claim in rows.claims:
        order_id, bought = rows.items[claim.item]
        if claim.dispute is not None:
            owner, state = f"dispute {claim.dispute}", rows.disputes[claim.dispute].state
            claim_live = state in LIVE_STATES
            named[("dispute", claim.dispute)].add((claim.item, claim.quantity))
        else:
            owner, state = f"request {claim.request}", rows.requests[claim.request].state
            claim_live = state in LIVE_REQUEST_STATES
            named[("request", claim.request)].add((claim.item, claim.quantity))
        where = f"order {rows.number(order_id)}: item {claim.item} in {owner}"
        if claim.live != claim_live:
            problems.append(f"{where} is {'live' if claim.live else 'not live'}, its claim {state}")
        if claim.live:
            live_per_item[claim.item].append(owner)
        if not 1 <= claim.quantity <= bought:
            problems.append(f"{where}: {claim.quantity} claimed of {bought} bought")
    for item_id, owners in sorted(live_per_item.items()):
        if len(owners) > 1:
            problems.append(f"item {item_id} is live in {len(owners)} claims: {', '.join(owners)}")
    with_items = {order_id for order_id, _bought in rows.items.values()}
    for kind, claims, where in (
        ("dispute", rows.disputes, rows.dispute_where),
        ("request", rows.requests, rows.request_where),
    ):
        for pk, claim in claims.items():
            if claim.order in with_items and (kind, pk) not in named:
                problems.append(f"{where(pk)} names none of the order's items")
    for pk, request in rows.requests.items():
        if request.dispute is None:
            continue
        before, after = named.get(("request", pk), set()), named.get(("dispute", request.dispute), set())
        if before != after:
            problems.append(
                f"{rows.request_where(pk)} became dispute {request.dispute} over other items: "
                f"{sorted(before)} then {sorted(after)}"
            )
        if (worth := rows.disputes[request.dispute].items_worth) != request.amount:
            problems.append(
                f"{rows.request_where(pk)} worth {request.amount} became dispute {request.dispute} worth {worth}"
            )
    return problems


def claims_per_item(rows: Rows | None = None) -> list[str]:
    """Over each order item, in the order the claims were opened: none after a resolved dispute or a request
    that refunded or exchanged it (it is settled), and none after two spent claims (a cancelled dispute, one
    that paid a refund, a withdrawn request): a cancelled claim is reopened once per item."""
    rows = rows or Rows()
    problems = []
    history = defaultdict(list)  # order item -> [(claim, settled it, spent a try)]
    for claim in rows.claims:
        if claim.dispute is not None:
            dispute = rows.disputes[claim.dispute]
            owner = f"dispute {claim.dispute}"
            settled = dispute.state == State.RESOLVED
            spent = dispute.state == State.CANCELLED or dispute.refunded_amount > 0
        else:
            request = rows.requests[claim.request]
            owner = f"request {claim.request}"
            settled = request.outcome in SETTLING_REQUEST_OUTCOMES
            spent = request.outcome == "withdrawn"
        number = rows.number(rows.items[claim.item][0])
        before = history[claim.item]
        if done := [other for other, settled_it, _spent in before if settled_it]:
            problems.append(f"order {number}: {owner} claims item {claim.item}, already settled by {done[0]}")
        if len(spent_before := [other for other, _settled, spent_it in before if spent_it]) >= TRIES_PER_ITEM:
            problems.append(
                f"order {number}: {owner} claims item {claim.item} after {', '.join(spent_before)} used its tries"
            )
        before.append((owner, settled, spent))
    return problems


# --- linked cases ----------------------------------------------------------------------------------------


def cases_rule_once(rows: Rows | None = None) -> list[str]:
    """A linked case is ruled once: at most one of its rulings waits or was applied, it is ruled exactly when one
    was applied, and a ruling waiting for approval was approved by another member. A dispute is ruled at most once
    by each case, and only while it is one of its members; while in a case it is never ruled alone (its history
    of links, takings out and appeals says which case it was in at each ruling)."""
    rows = rows or Rows()
    problems = []
    live = defaultdict(list)
    applied = set()
    for pk, case_id, status, proposed_by, approved_by in rows.case_rulings:
        if status in (CaseRuling.Status.PENDING, CaseRuling.Status.APPLIED):
            live[case_id].append(pk)
        if status == CaseRuling.Status.APPLIED:
            applied.add(case_id)
            if approved_by is not None and approved_by == proposed_by:
                problems.append(f"case {case_id}: ruling {pk} approved by its own proposer")
        if status == CaseRuling.Status.PENDING and rows.cases.get(case_id) != Case.Status.OPEN:
            problems.append(f"case {case_id}: ruling {pk} waits for approval on a case {rows.cases.get(case_id)}")
    for case_id, status in rows.cases.items():
        if len(live[case_id]) > 1:
            problems.append(f"case {case_id}: rulings {live[case_id]} all waiting or applied")
        if (status == Case.Status.RULED) != (case_id in applied):
            having = "with" if case_id in applied else "without"
            problems.append(f"case {case_id}: {status}, {having} an applied ruling")
    member_of: dict[int, int | None] = {}  # dispute -> its case, as its events tell
    ruled_by_case: Counter = Counter()
    for dispute_id, action, case_id, left_case in rows.case_events:
        where = rows.dispute_where(dispute_id)
        current = member_of.get(dispute_id)
        if action == "case_linked":
            if current is not None:
                problems.append(f"{where}: linked to case {case_id} while in case {current}")
            member_of[dispute_id] = case_id
        elif action == "case_unlinked":
            if current != case_id:
                problems.append(f"{where}: taken out of case {case_id} while in case {current}")
            member_of[dispute_id] = None
        elif action == "appeal" or left_case is not None:
            if left_case != current:
                problems.append(f"{where}: {action} while in case {current} says it left case {left_case}")
            member_of[dispute_id] = None
            if action == "ruling":
                problems.append(f"{where}: a ruling took it out of case {left_case}")
        elif case_id is None and current is not None:
            problems.append(f"{where}: ruled alone while in case {current}")
        elif case_id is not None:
            ruled_by_case[dispute_id, case_id] += 1
            if case_id != current:
                problems.append(f"{where}: ruled by case {case_id} while in case {current}")
            if ruled_by_case[dispute_id, case_id] > 1:
                problems.append(f"{where}: ruled {ruled_by_case[dispute_id, case_id]} times by case {case_id}")
    for pk, dispute in rows.disputes.items():
        if member_of.get(pk) != dispute.case:
            problems.append(f"{rows.dispute_where(pk)}: in case {dispute.case}, its events say {member_of.get(pk)}")
    return problems


def cases_keep_their_members(rows: Rows | None = None) -> list[str]:
    """A member of an open case was never ruled (one ruled before cannot join: an appeal is reviewed alone). Once
    a case is ruled, each of its members is closed as it was before the ruling or was ruled by it, and none is
    with the team: a member appealed has left the case."""
    rows = rows or Rows()
    problems = []
    for pk, dispute in rows.disputes.items():
        if dispute.case is None:
            continue
        where, status = f"{rows.dispute_where(pk)} in case {dispute.case}", rows.cases[dispute.case]
        if status == Case.Status.OPEN and dispute.ruled_at is not None:
            problems.append(f"{where} (open): ruled at {dispute.ruled_at:%Y-%m-%d %H:%M}")
        if status == Case.Status.RULED:
            if dispute.state in WITH_TEAM:
                problems.append(f"{where} (ruled): {dispute.state}, with the team again")
            elif dispute.state in LIVE_STATES and dispute.ruled_at is None:
                problems.append(f"{where} (ruled): {dispute.state}, but never ruled")
    return problems


def check_all(*, now: datetime, after_sweep: bool) -> list[str]:
    """Every promise, each violation prefixed with the promise's name. `after_sweep`: the sweeps have just run
    at `now`, so the promises about clocks, routing and completion hold too."""
    rows = Rows()
    checks = {
        "money_within_paid": lambda: money_within_paid(rows),
        "one_refund_per_resolution": lambda: one_refund_per_resolution(rows),
        "outcome_matches_money": lambda: outcome_matches_money(rows),
        "ledger_matches_order_status": lambda: ledger_matches_order_status(rows),
        "finality": lambda: finality(rows),
        "appeals": lambda: appeals(now=now, rows=rows),
        "no_return_when_not_received": lambda: no_return_when_not_received(rows),
        "parties_never_judge": lambda: parties_never_judge(rows),
        "requests_keep_their_state": lambda: requests_keep_their_state(rows),
        "requests_refund_once": lambda: requests_refund_once(rows),
        "claims_follow_their_claim": lambda: claims_follow_their_claim(rows),
        "claims_per_item": lambda: claims_per_item(rows),
        "completion_waits_for_returns": lambda: completion_waits_for_returns(now=now, rows=rows),
        "pauses_have_an_end": lambda: pauses_have_an_end(rows),
        "more_time_once_per_side": lambda: more_time_once_per_side(rows),
        "cases_rule_once": lambda: cases_rule_once(rows),
        "cases_keep_their_members": lambda: cases_keep_their_members(rows),
    }
    if after_sweep:
        checks |= {
            "clocks_run": lambda: clocks_run(now=now, rows=rows),
            "team_has_it": lambda: team_has_it(rows),
            "orders_settle": lambda: orders_settle(now=now, rows=rows),
        }
    return [f"{name}: {problem}" for name, check in checks.items() for problem in check()]
