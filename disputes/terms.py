"""What each side asks for, and what the order can still refund: the terms the workflow's effects
settle on. Money is exact to the cent; no refund ever takes the order past what the buyer paid."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Sum
from django.utils.translation import gettext as _

from core.errors import RuleViolation
from core.money import format_money, parse_amount
from disputes.models import Dispute, Outcome, Party, Proposal, Reason, Refund, State
from disputes.payments import refund_issue, refunded_so_far
from disputes.policy import postage_payer, postage_refunded

if TYPE_CHECKING:
    from accounts.models import User
    from disputes.writes import Writes

ZERO = Decimal("0")


def money(amount, currency: str) -> Decimal:
    """An amount given by a person, held to the currency's minor unit (more decimals are refused)."""
    return parse_amount(amount, currency)


# --- returns -------------------------------------------------------------------------------------


def return_possible(*, reason: str, item_received: bool) -> bool:
    """An item that never arrived cannot be sent back: "not received" never asks for a return."""
    return item_received and reason != Reason.NOT_RECEIVED


def can_return(dispute: Dispute) -> bool:
    return return_possible(reason=dispute.reason, item_received=dispute.item_received)


def refuse_impossible_return(*, reason: str, item_received: bool, return_item) -> None:
    """Opening, offers and rulings alike: asking for the item back when it never arrived is refused."""
    if return_item and not return_possible(reason=reason, item_received=item_received):
        raise RuleViolation(
            "return_not_possible",
            _("The item never arrived, so there is nothing to send back: ask for a refund only."),
            status=400,
        )


def refuse_return_of(dispute: Dispute, return_item) -> None:
    refuse_impossible_return(reason=dispute.reason, item_received=dispute.item_received, return_item=return_item)


# --- what each side stands on --------------------------------------------------------------------


def _latest_loaded(dispute: Dispute, **match) -> Proposal | None:
    """The latest of the dispute's proposals matching `match`, from those a page or the API loaded with it
    (prefetch_related("proposals")); `NOTHING` when they were not loaded."""
    loaded = getattr(dispute, "_prefetched_objects_cache", {}).get("proposals")
    if loaded is None:
        return NOTHING
    found = [p for p in loaded if all(getattr(p, name) == value for name, value in match.items())]
    return max(found, key=lambda p: (p.created_at, p.id), default=None)


NOTHING = object()  # "not loaded": ask the database


def buyer_request(dispute: Dispute) -> Proposal:
    """The buyer's latest word: the request as opened, or as last modified."""
    loaded = _latest_loaded(dispute, party=Party.BUYER)
    if loaded is not NOTHING:
        return loaded
    return dispute.proposals.filter(party=Party.BUYER).order_by("-created_at", "-id").first()


def standing_offer(dispute: Dispute) -> Proposal | None:
    """The seller's counter-offer stands until the seller replaces it with another: a later
    rejection of a modified request does not take it back."""
    loaded = _latest_loaded(dispute, party=Party.SELLER, kind=Proposal.Kind.COUNTER)
    if loaded is not NOTHING:
        return loaded
    return (
        dispute.proposals.filter(party=Party.SELLER, kind=Proposal.Kind.COUNTER).order_by("-created_at", "-id").first()
    )


def latest(dispute: Dispute, party: Party) -> Proposal | None:
    """What each side stands on: the buyer's latest request, the seller's standing offer."""
    return buyer_request(dispute) if party == Party.BUYER else standing_offer(dispute)


def worth(dispute: Dispute) -> Decimal:
    """What the dispute's items are worth (disputes.claims): the order's total when it names them all."""
    return dispute.order.total if dispute.items_worth is None else dispute.items_worth


def cap(dispute: Dispute, *, already: Decimal | None = None) -> Decimal:
    """The most the buyer can get from this dispute in all: what its items are worth, and never
    more than the order has left to refund (`already`: refunded on the order so far) plus what this
    dispute has refunded itself."""
    already = refunded_so_far(dispute.order) if already is None else already
    return min(worth(dispute), dispute.refunded_amount + dispute.order.total - already)


def refundable(dispute: Dispute) -> Decimal:
    """What is left to refund for this dispute's items."""
    return cap(dispute) - dispute.refunded_amount


def check_amount(dispute: Dispute, amount) -> Decimal:
    """A request or counter-offer asks at most for what is left to refund for the dispute's items."""
    if amount is None or amount == "":
        raise RuleViolation("invalid", _("Give a refund amount."), status=400)
    currency = dispute.order.currency
    amount = money(amount, currency)
    left = refundable(dispute)
    if amount <= 0 or amount > left:
        raise RuleViolation(
            "invalid_amount",
            _("The refund must be more than 0 and at most the %(left)s left to refund.")
            % {"left": format_money(left, currency)},
            status=400,
            fields={"refund_amount": [_("At most %(left)s.") % {"left": format_money(left, currency)}]},
        )
    return amount


def propose(
    dispute: Dispute, *, party: Party, kind: str, actor: User, now: datetime, amount=None, return_item=False, note=""
) -> Proposal:
    return Proposal.objects.create(
        dispute=dispute,
        party=party,
        kind=kind,
        refund_amount=amount if amount is not None else ZERO,
        return_item=bool(return_item),
        note=note or "",
        author=actor,
        created_at=now,
    )


# --- settling ------------------------------------------------------------------------------------


def resolve(
    dispute: Dispute, *, amount: Decimal, cause: str, now: datetime, writes: Writes, postage: Decimal = ZERO
) -> State:
    """Close the dispute, refunding `amount` now (at most what is left to refund on the order).
    The recorded outcome and amount say what the buyer got from this dispute in all."""
    order, already = writes.refund_position(dispute)
    most = cap(dispute, already=already)
    amount = max(ZERO, min(amount, most - dispute.refunded_amount, order.total - already))
    dispute.resolution_number += 1
    postage = postage if amount > 0 or postage > 0 else ZERO
    refund_issue(dispute=dispute, amount=amount + postage, cause=cause, order=order, already=already, writes=writes,
                 postage=postage)  # fmt: skip
    dispute.resolved_refund_amount = dispute.refunded_amount
    dispute.cause = cause
    dispute.resolved_at = now
    if dispute.refunded_amount <= 0:
        dispute.outcome = Outcome.NO_REFUND
    elif already + amount >= order.total or dispute.refunded_amount >= most:
        dispute.outcome = Outcome.FULL_REFUND
    else:
        dispute.outcome = Outcome.PARTIAL_REFUND
    return State.RESOLVED


def return_postage(dispute: Dispute) -> Decimal:
    """The return postage refunded with the item: what the buyer paid, when the store's policy has the
    seller pay it for this reason, up to the cap (disputes.policy)."""
    return postage_refunded(dispute.order, payer=postage_payer(dispute.order, dispute.reason),
                            postage=dispute.return_postage)  # fmt: skip


def postage_due(dispute: Dispute) -> Decimal:
    """The return postage still to refund with this dispute: owed once the item went back (capped,
    when the seller pays it), less what an earlier resolution already paid."""
    if dispute.return_shipped_at is None or not dispute.return_postage:
        return ZERO
    owed = return_postage(dispute)
    if owed <= 0 or dispute.pk is None:
        return owed
    paid = Refund.objects.filter(dispute=dispute).aggregate(paid=Sum("postage"))["paid"] or ZERO
    return max(ZERO, owed - paid)


def agree(dispute: Dispute, *, amount: Decimal, return_item: bool, cause: str, now: datetime, writes: Writes) -> State:
    """An outcome both sides are bound by: refund now, or after the item comes back."""
    if return_item and can_return(dispute):
        dispute.agreed_refund_amount = amount
        dispute.agreed_cause = cause
        return State.AWAITING_RETURN
    return resolve(dispute, amount=amount, cause=cause, now=now, writes=writes)


def approval_threshold(currency: str) -> Decimal:
    """Above this a ruling (a linked case's: its total in this currency) needs a second team member's
    approval: the currency's own threshold, else the default."""
    return settings.RULING_APPROVAL_THRESHOLDS.get(currency.upper(), settings.RULING_APPROVAL_THRESHOLD)


def ruling_target(dispute: Dispute, *, outcome, refund_amount) -> tuple[Decimal, bool]:
    """What a ruling gives the buyer in total from this dispute, and whether the item goes back
    first. A ruling's amount is the buyer's total: at least what the dispute already refunded (it
    never takes money back), at most what its items are worth (`cap`). Only the difference is paid."""
    order = dispute.order
    total, already = cap(dispute), dispute.refunded_amount

    def within(amount) -> Decimal:
        amount = money(amount, order.currency)
        if amount < already or amount > total or amount <= 0:
            raise RuleViolation(
                "invalid_amount",
                _(
                    "A ruling's amount is what the buyer gets in all from this dispute: between the %(already)s "
                    "already refunded and the %(total)s its items are worth."
                )
                % {"already": format_money(already, order.currency), "total": format_money(total, order.currency)},
                status=400,
                fields={
                    "refund_amount": [
                        _("Between %(already)s and %(total)s.")
                        % {
                            "already": format_money(already, order.currency),
                            "total": format_money(total, order.currency),
                        }
                    ]
                },
            )
        return amount

    if outcome == "full_refund":
        return total, False
    if outcome == "partial_refund":
        if refund_amount in (None, ""):
            raise RuleViolation("invalid", _("Give a refund amount."), status=400)
        amount = within(refund_amount)
        if amount >= total:
            raise RuleViolation("invalid_amount", _("A partial refund is less than the total paid."), status=400)
        return amount, False
    if outcome == "return_and_refund":
        refuse_return_of(dispute, True)
        return (within(refund_amount) if refund_amount not in (None, "") else total), True
    if outcome == "no_refund":
        return already, False  # nothing more: what was refunded stays refunded
    raise RuleViolation("invalid", _("Choose full_refund, partial_refund, return_and_refund or no_refund."), status=400)
