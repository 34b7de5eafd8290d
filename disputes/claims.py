"""What a claim covers: the order items a dispute or a return/exchange request names, what they are
worth, and the rule that keeps each item in at most one live claim (a database constraint,
`one_live_claim_per_item`, behind the checks here).

An item's amount is its unit price times the quantity claimed, plus its pro-rata share (by line
value) of what the order's total adds to or takes from the sum of its lines (shipping, a discount),
worked out exactly and rounded down to the currency's minor unit: the remainder stays with the
seller, and claiming every item of an order is worth exactly its total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _

from core.errors import RuleViolation
from core.money import floor_minor
from disputes.models import ClaimItem, Dispute, RequestOutcome, ReturnRequest, State
from orders.models import Order, OrderItem

# A cancelled claim over an item, or one that paid a refund for it, uses up one of this many tries
# per item: a claim cancelled once can be reopened once.
TRIES_PER_ITEM = 2


@dataclass(frozen=True)
class Pick:
    item: OrderItem
    quantity: int


def picks_from(order: Order, items: Iterable[dict] | None) -> list[Pick]:
    """The items a claim names, checked against the order: `[{item, quantity}]` as the API takes
    them, or None/empty for the whole order (every item, all of it)."""
    lines = {line.pk: line for line in order.items.all()}
    if not items:
        return [Pick(line, line.quantity) for line in lines.values()]
    picks: dict[int, Pick] = {}
    for entry in items:
        try:
            item_id, quantity = int(entry["item"]), int(entry.get("quantity") or 0)
        except (KeyError, TypeError, ValueError):
            raise RuleViolation(
                "invalid", _("Name each item as {item, quantity}."), status=400, fields={"items": [_("Invalid.")]}
            ) from None
        line = lines.get(item_id)
        if line is None:
            raise RuleViolation(
                "invalid",
                _("Item %(id)s is not part of this order.") % {"id": item_id},
                status=400,
                fields={"items": [_("Choose items of this order.")]},
            )
        if item_id in picks:
            raise RuleViolation(
                "invalid", _("Name each item once."), status=400, fields={"items": [_("Name each item once.")]}
            )
        if not 1 <= quantity <= line.quantity:
            raise RuleViolation(
                "invalid",
                _("For “%(title)s” choose a quantity from 1 to %(max)s.") % {"title": line.title, "max": line.quantity},
                status=400,
                fields={"items": [_("Choose a quantity you ordered.")]},
            )
        picks[item_id] = Pick(line, quantity)
    return list(picks.values())


def picks_amount(order: Order, picks: list[Pick]) -> Decimal:
    """What the picked items are worth (see the module's docstring). An order without items is
    worth its total."""
    lines = list(order.items.all())
    if not lines:
        return order.total
    line_sum = sum((Fraction(line.unit_price) * line.quantity for line in lines), Fraction(0))
    total = Fraction(order.total)
    worth = Fraction(0)
    for pick in picks:
        if line_sum > 0:
            claimed = Fraction(pick.item.unit_price) * pick.quantity
            worth += claimed + (total - line_sum) * claimed / line_sum
        else:  # every line free: the total shared by quantity
            worth += total * pick.quantity / sum(line.quantity for line in lines)
    return floor_minor(Decimal(worth.numerator) / Decimal(worth.denominator), order.currency)


def picks_rows(picks: list[Pick], *, dispute: Dispute | None = None, request: ReturnRequest | None = None):
    return [
        ClaimItem(order_item=pick.item, quantity=pick.quantity, dispute=dispute, request=request, live=True)
        for pick in picks
    ]


def picks_payload(picks: list[Pick]) -> list[dict]:
    return [{"item": pick.item.pk, "quantity": pick.quantity} for pick in picks]


def _settled(dispute: Dispute | None, request: ReturnRequest | None) -> bool:
    """A claim that settled what it covered: a resolved dispute, a refunded or exchanged request."""
    if dispute is not None:
        return dispute.state == State.RESOLVED
    return request.outcome in (RequestOutcome.REFUNDED, RequestOutcome.EXCHANGED)


def _spent(dispute: Dispute | None, request: ReturnRequest | None) -> bool:
    """A claim that uses up a try: a cancelled dispute or one that paid a refund, a withdrawn request."""
    if dispute is not None:
        return dispute.state == State.CANCELLED or dispute.refunded_amount > 0
    return request.outcome == RequestOutcome.WITHDRAWN


def _whole_order_refusal(order: Order, *, code: str) -> RuleViolation | None:
    """An order without items: the order is the one thing claimed, by a dispute or a request alike."""
    claims = [(d, None) for d in order.disputes.all()] + [(None, r) for r in order.return_requests.all()]
    for dispute, request in claims:
        if (dispute or request).is_live:
            detail = (
                _("This order already has an open dispute (#%(id)s).")
                if dispute
                else _("This order already has an open return or exchange request (#%(id)s).")
            )
            return RuleViolation(code, detail % {"id": (dispute or request).pk})
    if any(_settled(dispute, request) for dispute, request in claims):
        return RuleViolation(code, _("This order's claim was already settled."))
    if sum(1 for dispute, request in claims if _spent(dispute, request)) >= TRIES_PER_ITEM:
        return RuleViolation("reopen_limit", _("A cancelled claim can be reopened only once."))
    return None


def claim_refusal(order: Order, picks: list[Pick], *, code: str) -> RuleViolation | None:
    """Why these items cannot be claimed now (call with the order locked): one of them is in a live
    claim (`code`: dispute_exists or request_exists), more of it is asked for than is left once the
    claims that settled it are counted (a resolved dispute, a refunded or exchanged request), or it
    has used its tries (`reopen_limit`)."""
    ids = {pick.item.pk for pick in picks}
    if not ids:
        return _whole_order_refusal(order, code=code)
    return _refusal(_claims_over(ids), picks, code=code)


def claimable_alone(picks: list[Pick], *, code: str) -> list[Pick]:
    """The picks that could each be claimed on its own now: `claim_refusal` for each, in one query (the
    order page's "which items may still go in a dispute")."""
    claims = _claims_over({pick.item.pk for pick in picks})
    return [
        pick
        for pick in picks
        if _refusal([claim for claim in claims if claim.order_item_id == pick.item.pk], [pick], code=code) is None
    ]


def _claims_over(item_ids) -> list[ClaimItem]:
    return list(ClaimItem.objects.filter(order_item_id__in=item_ids).select_related("dispute", "request", "order_item"))


def _refusal(claims: list[ClaimItem], picks: list[Pick], *, code: str) -> RuleViolation | None:
    """`claim_refusal`'s judgement, on the claims over the picked items."""
    for claim in claims:
        if claim.live:
            if claim.dispute_id:
                detail = _("“%(title)s” is already in an open dispute (#%(id)s).")
                ident = claim.dispute_id
            else:
                detail = _("“%(title)s” is already in an open return or exchange request (#%(id)s).")
                ident = claim.request_id
            return RuleViolation(code, detail % {"title": claim.order_item.title, "id": ident})
    settled: dict[int, int] = {}
    used: dict[int, int] = {}
    for claim in claims:
        if _settled(claim.dispute, claim.request):
            settled[claim.order_item_id] = settled.get(claim.order_item_id, 0) + claim.quantity
        if _spent(claim.dispute, claim.request):
            used[claim.order_item_id] = used.get(claim.order_item_id, 0) + 1
    for pick in picks:
        left = pick.item.quantity - settled.get(pick.item.pk, 0)
        if left <= 0:
            return RuleViolation(
                code, _("“%(title)s” was already settled by an earlier claim.") % {"title": pick.item.title}
            )
        if pick.quantity > left:
            return RuleViolation(
                code,
                _("Only %(left)s of “%(title)s” are left to claim: the rest was settled by an earlier claim.")
                % {"left": left, "title": pick.item.title},
            )
    if any(count >= TRIES_PER_ITEM for count in used.values()):
        return RuleViolation("reopen_limit", _("A cancelled claim over an item can be reopened only once."))
    return None


def claims_set_live(*, live: bool, dispute: Dispute | None = None, request: ReturnRequest | None = None) -> None:
    """A claim's items follow its state (in the transaction that changes it)."""
    owner = {"dispute": dispute} if dispute is not None else {"request": request}
    rows = ClaimItem.objects.filter(**owner)
    rows.exclude(live=live).update(live=live)
