"""Reads about disputes: who sees which, and what happens next if nobody acts."""

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from core import read_cache
from disputes.models import LIVE_STATES, ClaimItem, Dispute, Party, State
from disputes.payments import refunded_so_far_shown
from disputes.policy import dispute_words
from disputes.states import AWAITING, clock_for
from disputes.terms import buyer_request, standing_offer
from orders.models import Order


def with_dispute(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Annotate each order with its latest dispute's id and state (live or not)."""
    latest = Dispute.objects.filter(order=OuterRef("pk")).order_by("-opened_at", "-id")
    live = latest.filter(state__in=[s.value for s in LIVE_STATES])
    return orders.annotate(
        live_dispute_id=Subquery(latest.values("pk")[:1]),
        dispute_state=Subquery(latest.values("state")[:1]),
        open_dispute_id=Subquery(live.values("pk")[:1]),
    )


def order_claims(order: Order) -> dict:
    """The order's disputes and return/exchange requests for its detail, newest first, and the
    latest live dispute (what `dispute` names)."""
    disputes = [
        {"id": pk, "state": state, "items": []}
        for pk, state in order.disputes.order_by("-opened_at", "-id").values_list("pk", "state")
    ]
    requests = [
        {"id": pk, "kind": kind, "state": state, "items": []}
        for pk, kind, state in order.return_requests.order_by("-opened_at", "-id").values_list("pk", "kind", "state")
    ]
    by_id = {("d", row["id"]): row for row in disputes} | {("r", row["id"]): row for row in requests}
    for dispute_id, request_id, item, quantity in ClaimItem.objects.filter(order_item__order=order).values_list(
        "dispute_id", "request_id", "order_item_id", "quantity"
    ):
        row = by_id.get(("d", dispute_id) if dispute_id else ("r", request_id))
        if row is not None:
            row["items"].append({"item": item, "quantity": quantity})
    live = next((row["id"] for row in disputes if row["state"] in LIVE_STATES), None)
    return {"dispute": live, "disputes": disputes, "requests": requests}


def dispute_is_with_team(order: Order) -> bool:
    """Whether the order's dispute is escalated to the dispute team (who may then post in its thread)."""
    return order.disputes.filter(state__in=[State.ESCALATED, State.UNDER_REVIEW]).exists()


def disputes_visible_to(user: User) -> QuerySet[Dispute]:
    disputes = Dispute.objects.select_related("order__store__owner", "order__buyer", "order__carrier", "assignee")
    if roles.is_dispute_team(user):
        return disputes
    return disputes.filter(Q(order__buyer=user) | Q(order__store__owner=user))


def dispute_get_for(user: User, dispute_id) -> Dispute:
    """A dispute the user may see; missing and forbidden look the same (404)."""
    try:
        return disputes_visible_to(user).get(pk=int(dispute_id))
    except (Dispute.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# Every row GET /api/disputes/{id}/ is built from (disputes.api.dispute_detail and its serializer), by
# table: the dispute `d`, its order `o` and store `s`, the order's items, claims, disputes, requests and
# refunds (the money position and the policy's terms look across the order), the dispute's proposals,
# evidence and photos, events, requests for more time, the people they name, and the return's carrier.
# (A pause is columns on the dispute's own row.)
_DISPUTE_ROWS = ", ".join(
    [
        read_cache.row_version("d"),
        read_cache.row_version("o"),
        read_cache.row_version("s"),
        read_cache.rows_version("orders_orderitem", "order_id = o.id"),
        read_cache.rows_version(
            "disputes_claimitem", "order_item_id IN (SELECT id FROM orders_orderitem WHERE order_id = o.id)"
        ),
        read_cache.rows_version("disputes_dispute", "order_id = o.id"),
        read_cache.rows_version("disputes_returnrequest", "order_id = o.id"),
        read_cache.rows_version("disputes_refund", "order_id = o.id"),
        read_cache.rows_version("disputes_proposal", "dispute_id = d.id"),
        read_cache.rows_version("disputes_evidence", "dispute_id = d.id"),
        read_cache.rows_version(
            "messaging_photo", "evidence_id IN (SELECT id FROM disputes_evidence WHERE dispute_id = d.id)"
        ),
        read_cache.rows_version("disputes_disputeevent", "dispute_id = d.id"),
        read_cache.rows_version("disputes_moretime", "dispute_id = d.id"),
        read_cache.rows_version(
            "accounts_user",
            "id IN (SELECT author_id FROM disputes_proposal WHERE dispute_id = d.id"
            " UNION SELECT actor_id FROM disputes_disputeevent WHERE dispute_id = d.id"
            " UNION SELECT d.assignee_id UNION SELECT o.buyer_id UNION SELECT s.owner_id)",
        ),
        read_cache.rows_version("orders_carrier", "id = d.return_carrier_id"),
    ]
)
# The version is worked out only for a party, or when asked (%s: the team), so that a stranger's 404 costs the
# same whether the dispute exists or not.
DISPUTE_READ_SQL = (
    "SELECT o.buyer_id, s.owner_id, CASE WHEN %s OR %s IN (o.buyer_id, s.owner_id)"  # noqa: S608
    f" THEN concat_ws(',', {_DISPUTE_ROWS}) END FROM disputes_dispute d"
    " JOIN orders_order o ON o.id = d.order_id JOIN sellers_store s ON s.id = o.store_id WHERE d.id = %s"
)


# What an order's detail shows of the disputes app (order_claims, with_dispute): its disputes, requests and
# the items they claim (orders.selectors.order_read_version).
ORDER_VERSION_PARTS = (
    read_cache.rows_version("disputes_dispute", "order_id = o.id"),
    read_cache.rows_version("disputes_returnrequest", "order_id = o.id"),
    read_cache.rows_version(
        "disputes_claimitem", "order_item_id IN (SELECT id FROM orders_orderitem WHERE order_id = o.id)"
    ),
)


def dispute_read_version(user: User, dispute_id) -> str:
    """The version of everything a dispute's representation shows (core/read_cache.py), in one query that is
    also the access check: missing and forbidden look the same (404), as in `dispute_get_for`."""
    try:
        pk = int(dispute_id)
    except (ValueError, TypeError):
        raise Http404 from None
    found = read_cache.fetch(DISPUTE_READ_SQL, [False, user.pk, pk])
    if found is not None and user.pk in found[:2]:
        return found[2]
    if not roles.is_dispute_team(user) or found is None:  # asked either way: a 404 costs the same
        raise Http404
    return read_cache.fetch(DISPUTE_READ_SQL, [True, user.pk, pk])[2]


def awaiting(dispute: Dispute) -> str | None:
    return AWAITING.get(dispute.state)


def _money(amount, dispute) -> str:
    from disputes.guide.status import amount_text

    return amount_text(amount, dispute.order.currency)


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "j M Y, H:i T")


def refund_position(dispute: Dispute) -> dict:
    """What the buyer paid, what was refunded on the order so far, and what is left to ask for."""
    order = dispute.order
    refunded = refunded_so_far_shown(order)
    return {"paid": order.total, "refunded": refunded, "left": order.total - refunded, "currency": order.currency}


def default_outcome(dispute: Dispute, *, viewer: str | None = None) -> str | None:
    """In words: what happens at the next deadline if nobody acts, and what the store's return
    policy means for this dispute (disputes.policy.dispute_words). `viewer` ("buyer" or "seller")
    words it in the second person for that party; without one (the API, the team) it is neutral."""
    text = _next_deadline(dispute, viewer=viewer)
    if text is None or dispute.state not in (State.AWAITING_SELLER, State.AWAITING_BUYER, State.AWAITING_RETURN):
        return text
    words = dispute_words(dispute, viewer=viewer)
    return f"{text} {words}" if words else text


def _next_deadline(dispute: Dispute, *, viewer: str | None = None) -> str | None:
    """What happens at the next deadline if nobody acts. The deadlines and what follows them come
    from the clock table (disputes/states.py CLOCKS)."""
    if dispute.set_aside_at is not None:
        return _("This dispute is waiting for the dispute team to look at it: a step could not be completed.")
    if dispute.paused_at is not None:
        return _(
            "The dispute team paused this dispute's deadlines until %(when)s at the latest (%(reason)s); then each "
            "deadline has the time it had left."
        ) % {"when": _when(dispute.paused_until), "reason": dispute.get_pause_reason_display()}
    answer = clock_for(dispute.state, "respond_by")
    settle = clock_for(dispute.state, "escalate_at")
    if answer is None or dispute.respond_by is None:
        return None
    when = _when(dispute.respond_by)
    buyer, seller = viewer == Party.BUYER, viewer == Party.SELLER
    if settle is not None and dispute.escalate_at and dispute.escalate_at <= dispute.respond_by:
        return _("If the dispute is not settled by %(when)s, it goes to the dispute team by itself.") % {
            "when": _when(dispute.escalate_at)
        }
    if answer.expiry == "seller_timeout":
        request = buyer_request(dispute)
        if buyer:
            text = (
                _(
                    "If the seller does not answer by %(when)s, your request is granted: you send the item back "
                    "and are refunded %(amount)s."
                )
                if request.return_item
                else _(
                    "If the seller does not answer by %(when)s, your request is granted: you are refunded %(amount)s."
                )
            )
        elif seller:
            text = (
                _(
                    "If you do not answer by %(when)s, the buyer's request is granted: the item comes back to you "
                    "and the buyer is refunded %(amount)s."
                )
                if request.return_item
                else _(
                    "If you do not answer by %(when)s, the buyer's request is granted: the buyer is refunded "
                    "%(amount)s."
                )
            )
        elif request.return_item:
            text = _(
                "If the seller does not answer by %(when)s, the buyer's request is granted: "
                "the item goes back and %(amount)s is refunded."
            )
        else:
            text = _(
                "If the seller does not answer by %(when)s, the buyer's request is granted: %(amount)s is refunded."
            )
        return text % {"when": when, "amount": _money(request.refund_amount, dispute)}
    if answer.expiry == "buyer_timeout":
        offer = standing_offer(dispute)
        if offer is None:
            if buyer:
                return _("If you do not answer by %(when)s, the dispute closes with no refund.") % {"when": when}
            return _("If the buyer does not answer by %(when)s, the dispute closes with no refund.") % {"when": when}
        values = {"when": when, "amount": _money(offer.refund_amount, dispute)}
        if buyer:
            text = (
                _(
                    "If you do not answer by %(when)s, the seller's offer is taken for you: you send the item back "
                    "and are refunded %(amount)s."
                )
                if offer.return_item
                else _(
                    "If you do not answer by %(when)s, the seller's offer is taken for you: you are refunded "
                    "%(amount)s."
                )
            )
            return text % values
        if seller:
            text = (
                _(
                    "If the buyer does not answer by %(when)s, your offer is accepted: the item comes back to you "
                    "and the buyer is refunded %(amount)s."
                )
                if offer.return_item
                else _(
                    "If the buyer does not answer by %(when)s, your offer is accepted: the buyer is refunded "
                    "%(amount)s."
                )
            )
            return text % values
        return _(
            "If the buyer does not answer by %(when)s, the seller's offer is accepted: %(amount)s refunded%(ret)s."
        ) % {**values, "ret": _(" after the item is returned") if offer.return_item else ""}
    if answer.expiry == "":
        return _("The dispute team is due to rule by %(when)s.") % {"when": when}
    if answer.expiry == "return_not_shipped":
        if buyer:
            return _("If you do not submit the return's tracking by %(when)s, the dispute closes with no refund.") % {
                "when": when
            }
        return _(
            "If the buyer does not submit the return's tracking by %(when)s, the dispute closes with no refund."
        ) % {"when": when}
    if answer.expiry == "return_not_confirmed":
        values = {"when": when, "amount": _money(dispute.agreed_refund_amount or 0, dispute)}
        if buyer:
            return _("If the seller does not confirm the returned item by %(when)s, you are refunded %(amount)s.") % (
                values
            )
        if seller:
            return _("If you do not confirm the returned item by %(when)s, the buyer is refunded %(amount)s.") % values
        return _("If the seller does not confirm the returned item by %(when)s, the buyer is refunded %(amount)s.") % (
            values
        )
    raise ValueError(f"no default-outcome text for the {answer.name} clock")
