"""The store's return policy as it applies to one order: the snapshot frozen when the order was
placed, read the same way by return and exchange requests, disputes, the pages and the API.

- **When.** A request can be made from delivery (or from the dispute window's opening, for an order
  never marked delivered) until the policy's return days after it.
- **Why.** For the reasons the policy covers ("changed my mind" only where covered).
- **What.** A refund after return or an exchange wherever returns are accepted; a refund without
  return only where the policy offers it.
- **Covered in full or in part.** The policy fully covers a refund (after return, or without one
  where offered) for a listed reason other than "other": the seller may not decline it, and silence
  approves it. An exchange (the seller's stock decides it) and a request for "other" reasons are
  covered only in part: the seller may decline, and silence turns the request into a dispute.
- **Return postage.** Who pays follows the policy for the reason (a change of mind, a wrong item,
  anything else as a defect); "free returns" means the seller pays it all. What the seller pays is
  refunded with the item, up to RETURN_POSTAGE_CAP_PERCENT of the order's total.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.errors import RuleViolation
from core.money import floor_minor, format_money
from disputes.models import RequestKind
from orders.models import Order
from sellers.models import Payer, ReturnReason

SELLER, BUYER = Payer.SELLER.value, Payer.BUYER.value


def terms(order: Order) -> dict:
    """The order's policy snapshot (an order placed before policies were kept has none: no returns)."""
    return order.return_policy_snapshot or {}


def accepts_returns(order: Order) -> bool:
    return bool(terms(order).get("accepts_returns"))


def return_period(order: Order) -> tuple[datetime, datetime] | None:
    """When requests can be made: from delivery (or the window's opening) for the policy's days.
    None when the policy takes no returns."""
    if order.returns_close_at is None:
        return None
    starts = order.delivered_at or order.window_opens_at
    return starts, order.returns_close_at


def covered_reasons(order: Order) -> list[str]:
    return [r for r in terms(order).get("covered_reasons") or [] if r in ReturnReason.values]


def _reason_labels(reasons) -> str:
    labels = {r.value: str(r.label).lower() for r in ReturnReason}
    return ", ".join(labels.get(r, r) for r in reasons)


def _day(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "j M Y")


def request_refusal(order: Order, *, kind: str, reason: str, now: datetime) -> RuleViolation | None:
    """Why the policy does not allow this request now, in the policy's words; None when it does."""
    policy = terms(order)
    if not policy.get("accepts_returns"):
        return RuleViolation(
            "returns_not_accepted",
            _("%(store)s does not accept returns under the policy of this order. If something is wrong with the "
              "item, open a dispute.") % {"store": order.store.name},
        )  # fmt: skip
    covered = covered_reasons(order)
    if reason not in covered:
        return RuleViolation(
            "reason_not_covered",
            _("This store's policy covers returns for: %(reasons)s. For anything else, open a dispute.")
            % {"reasons": _reason_labels(covered)},
        )
    period = return_period(order)
    if order.shipped_at is None:
        return RuleViolation(
            "return_period_not_open",
            _("This order has not shipped, so there is nothing to return. If it never comes, open a dispute "
              "for an item not received."),
        )  # fmt: skip
    if period is None or now < period[0]:
        return RuleViolation(
            "return_period_not_open",
            _("Returns can be asked for once the order is delivered (or from %(date)s at the latest).")
            % {"date": _day(order.window_opens_at)},
        )
    if now > period[1]:
        return RuleViolation(
            "return_period_over",
            _("The policy gives %(days)s days to ask for a return; that period ended on %(date)s.")
            % {"days": policy.get("return_days"), "date": _day(period[1])},
        )
    if kind == RequestKind.REFUND_ONLY and not policy.get("refund_without_return"):
        return RuleViolation(
            "refund_only_not_offered",
            _("This store's policy does not offer a refund without returning the item: ask for a return "
              "and refund, or an exchange."),
        )  # fmt: skip
    return None


def fully_covered(*, kind: str, reason: str) -> bool:
    """Whether the policy alone settles the request (the seller may not decline it)."""
    return kind != RequestKind.EXCHANGE and reason != ReturnReason.OTHER


def postage_payer(order: Order, reason: str) -> str:
    """Who pays to send the item back, under the policy, for this reason."""
    policy = terms(order)
    if not policy.get("accepts_returns"):
        return BUYER  # a store that takes no returns promises no postage either
    if policy.get("free_returns"):
        return SELLER
    if reason == ReturnReason.CHANGED_MIND:
        field = "change_of_mind_shipping_payer"
    elif reason == ReturnReason.WRONG_ITEM:
        field = "wrong_item_shipping_payer"
    else:
        field = "defective_shipping_payer"
    return policy.get(field) or BUYER


def postage_cap(order: Order) -> Decimal:
    return floor_minor(order.total * Decimal(settings.RETURN_POSTAGE_CAP_PERCENT) / 100, order.currency)


def postage_refunded(order: Order, *, payer: str, postage: Decimal | None) -> Decimal:
    """What of the buyer's return postage is refunded with the item: all of it, up to the cap, when
    the seller pays; nothing otherwise."""
    if payer != SELLER or not postage or postage <= 0:
        return Decimal("0")
    return min(postage, postage_cap(order))


def allows_now(order: Order, *, now: datetime | None = None) -> str:
    """What the policy allows now, in a sentence for the order page."""
    now = now or timezone.now()
    policy = terms(order)
    if not policy.get("accepts_returns"):
        return _("This store does not accept returns. If something is wrong, you can open a dispute.")
    period = return_period(order)
    if period is None or now < period[0]:
        return _("You can ask the seller for a return or an exchange once the order is delivered.")
    if now > period[1]:
        return _("The time to ask for a return ended on %(date)s.") % {"date": _day(period[1])}
    offer = (
        _("a return, an exchange or a refund without return")
        if policy.get("refund_without_return")
        else _("a return or an exchange")
    )
    return _("You can ask the seller for %(offer)s until %(date)s.") % {"offer": offer, "date": _day(period[1])}


def postage_words(order: Order, reason: str) -> str:
    if postage_payer(order, reason) == SELLER:
        return _("The seller pays return postage for this reason: it is refunded with the item, up to %(cap)s.") % {
            "cap": format_money(postage_cap(order), order.currency)
        }
    return _("You pay the return postage for this reason.")


# --- inside a dispute ----------------------------------------------------------------------------


def covers_return(dispute) -> bool:
    """The store's policy covers sending this dispute's items back for a refund: returns accepted,
    the reason covered, the item received, and the dispute opened within the return period. The
    seller cannot simply refuse such a return: a rejection takes the dispute to the team."""
    order = dispute.order
    return bool(
        accepts_returns(order)
        and dispute.item_received
        and dispute.reason in covered_reasons(order)
        and order.returns_close_at is not None
        and dispute.opened_at <= order.returns_close_at
    )


def dispute_terms(dispute) -> dict:
    """What the order's policy means for this dispute, for the API and the pages."""
    order = dispute.order
    return {
        "covers_return": covers_return(dispute),
        "refund_without_return": bool(terms(order).get("refund_without_return")),
        "return_postage_payer": postage_payer(order, dispute.reason),
        "postage_cap": postage_cap(order),
        "return_period_ends": order.returns_close_at,
    }


def dispute_words(dispute, *, viewer: str | None = None) -> str:
    """In a sentence or two: what the store's policy means for this dispute."""
    order = dispute.order
    if not accepts_returns(order):
        return _("The store's policy takes no returns: the dispute team decides if nobody agrees.")
    parts = []
    if covers_return(dispute):
        parts.append(
            _("The store's policy covers a return for this reason: the seller cannot refuse it without the dispute "
              "going to the dispute team.")
        )  # fmt: skip
    if terms(order).get("refund_without_return"):
        parts.append(_("The policy also offers a refund without sending the item back."))
    if postage_payer(order, dispute.reason) == SELLER:
        parts.append(
            _("If the item goes back, the seller pays the return postage: it is refunded with the item, up to "
              "%(cap)s, on a photo of the receipt.") % {"cap": format_money(postage_cap(order), order.currency)}
        )  # fmt: skip
    elif dispute.item_received:
        parts.append(
            _("If the item goes back, you pay the return postage.")
            if viewer == "buyer"
            else _("If the item goes back, the buyer pays the return postage.")
        )
    return " ".join(str(part) for part in parts)
