"""Return and exchange requests: the buyer asks the seller directly, under the order's policy
snapshot (disputes/policy.py), before any dispute. The workflow is a table like the dispute's:

    awaiting_seller --approve--> awaiting_return (return_refund) --return_shipment--> return_in_transit
                                 approved (exchange) --replacement_shipment--> replacement_in_transit
                                 completed (refund_only: refunded at once)
    awaiting_seller --decline (not when fully covered)--> declined --to_dispute--> (a dispute)
    return_in_transit --return_received ok--> completed (refunded: the items, plus postage the seller pays)
    return_in_transit --return_received not ok--> (a dispute, escalated to the team)
    replacement_in_transit --confirm--> completed (exchanged)
    approved | awaiting_return | replacement_in_transit --to_dispute--> (a dispute)
    awaiting_seller | approved | awaiting_return --cancel--> cancelled (withdrawn)

Every live state runs one clock (`respond_by`); when it runs out the system acts:

    awaiting_seller         SELLER_RESPONSE_DAYS     fully covered: approved; in part: a dispute
    approved                REPLACEMENT_SHIP_DAYS    a dispute (the seller never shipped the replacement)
    awaiting_return         RETURN_SHIP_DAYS         cancelled (lapsed): nothing refunded
    return_in_transit       RETURN_CONFIRM_DAYS      refunded, as if the seller had confirmed it
    replacement_in_transit  REPLACEMENT_DELIVERY_DAYS + BUYER_RESPONSE_DAYS   completed (exchanged)

A request that becomes a dispute ends (`outcome` disputed, `dispute` set) and its items pass to the
dispute in the same transaction. A declined request may be turned into one until `dispute_by`:
the dispute window's end, or BUYER_RESPONSE_DAYS after the decline if that is later (the buyer
asked in time and keeps the right to a dispute). It keeps its state and `outcome` declined, the
seller's answer, and gains its `dispute`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles
from accounts.models import User
from core.audit import audit
from core.errors import RuleViolation
from core.money import format_money, money_str, parse_amount
from disputes import policy
from disputes.claims import (
    Pick,
    claim_refusal,
    claims_set_live,
    picks_amount,
    picks_from,
    picks_payload,
    picks_rows,
)
from disputes.engine import dispute_start, dispute_transition
from disputes.models import (
    ClaimItem,
    Dispute,
    Evidence,
    Party,
    Proposal,
    Reason,
    RefundType,
    RequestEvent,
    RequestKind,
    RequestOutcome,
    RequestState,
    ReturnCondition,
    ReturnRequest,
)
from disputes.payments import refund_request, refunded_so_far
from messaging.models import Photo
from messaging.photos import clean_uploads
from messaging.services import delete_photo_files, store_photos
from orders.models import Carrier, Order
from sellers.models import ReturnReason

R = RequestState

# The reasons a request may give: a dispute's, plus a change of mind.
REASONS = [*Reason.values, ReturnReason.CHANGED_MIND.value]


@dataclass(frozen=True)
class RequestClock:
    state: RequestState
    days: Callable[[], int]
    waits_for: str
    expiry: str
    what_happens: str


CLOCKS: dict[str, RequestClock] = {
    clock.state: clock
    for clock in (
        RequestClock(R.AWAITING_SELLER, lambda: settings.SELLER_RESPONSE_DAYS, "seller", "seller_silence",
                     gettext_lazy("the request is approved if the policy covers it in full; otherwise it becomes a "
                                  "dispute")),
        RequestClock(R.APPROVED, lambda: settings.REPLACEMENT_SHIP_DAYS, "seller", "replacement_not_shipped",
                     gettext_lazy("the request becomes a dispute, since the replacement was not shipped")),
        RequestClock(R.AWAITING_RETURN, lambda: settings.RETURN_SHIP_DAYS, "buyer", "return_not_shipped",
                     gettext_lazy("the request lapses and nothing is refunded")),
        RequestClock(R.RETURN_IN_TRANSIT, lambda: settings.RETURN_CONFIRM_DAYS, "seller", "return_not_confirmed",
                     gettext_lazy("the buyer is refunded as if the seller had confirmed the item")),
        RequestClock(R.REPLACEMENT_IN_TRANSIT,
                     lambda: settings.REPLACEMENT_DELIVERY_DAYS + settings.BUYER_RESPONSE_DAYS, "buyer",
                     "replacement_not_confirmed", gettext_lazy("the exchange is complete")),
    )
}  # fmt: skip


@dataclass
class Step:
    request: ReturnRequest
    party: Party
    actor: User | None
    now: datetime
    note: str = ""


@dataclass(frozen=True)
class Move:
    action: str
    sources: tuple[str, ...]
    party: Party
    effect: Callable[..., str]
    label: str = ""
    guard: Callable[[Step], str | None] | None = None


# --- effects -------------------------------------------------------------------------------------


def _approve(step: Step) -> str:
    request = step.request
    request.decided_at = step.now
    if request.kind == RequestKind.REFUND_ONLY:
        return _refund(step, postage=Decimal("0"))
    if request.kind == RequestKind.EXCHANGE:
        return R.APPROVED
    return R.AWAITING_RETURN


def _decline(step: Step, *, reason: str = "") -> str:
    request = step.request
    reason = (reason or step.note or "").strip()
    if not reason:
        raise RuleViolation(
            "invalid", _("Say why you decline the request."), status=400, fields={"reason": [_("Required.")]}
        )
    request.decline_reason = reason[:2000]
    request.decided_at = step.now
    request.outcome = RequestOutcome.DECLINED
    request.closed_at = step.now
    request.dispute_by = max(request.order.window_closes_at, step.now + timedelta(days=settings.BUYER_RESPONSE_DAYS))
    return R.DECLINED


def _cancel(step: Step) -> str:
    step.request.outcome = RequestOutcome.WITHDRAWN
    step.request.closed_at = step.now
    return R.CANCELLED


def _lapse(step: Step) -> str:
    step.request.outcome = RequestOutcome.LAPSED
    step.request.closed_at = step.now
    return R.CANCELLED


def _ship_return(step: Step, *, carrier: Carrier | None = None, tracking_number: str = "", postage=None,
                 uploads=None) -> str:  # fmt: skip
    request = step.request
    if carrier is None or not (tracking_number or "").strip():
        raise RuleViolation("invalid", _("Give the return's carrier and tracking number."), status=400)
    request.return_carrier = carrier
    request.return_tracking_number = tracking_number.strip()[:80]
    request.return_shipped_at = step.now
    if postage not in (None, ""):
        amount = parse_amount(postage, request.order.currency, field="postage")
        if amount < 0:
            raise RuleViolation("invalid_amount", _("Postage cannot be negative."), status=400)
        if amount > 0 and request.postage_payer == policy.SELLER and not uploads:
            raise RuleViolation(
                "photos_required",
                _("Add a photo of the postage receipt: the seller refunds the postage on its evidence."),
                status=400,
                fields={"images": [_("Add a photo of the receipt.")]},
            )
        request.postage = amount
    return R.RETURN_IN_TRANSIT


def _refund(step: Step, *, postage: Decimal) -> str:
    request = step.request
    order = Order.objects.select_for_update().get(pk=request.order_id)
    already = refunded_so_far(order)
    items = max(Decimal("0"), min(request.amount, order.total - already))
    refund = refund_request(request=request, order=order, amount=items + postage, postage=postage, already=already)
    request.refunded_amount = refund.amount if refund else Decimal("0")
    request.outcome = RequestOutcome.REFUNDED
    request.closed_at = step.now
    step.refund = refund
    return R.COMPLETED


def _receive_return(step: Step, *, condition: str | None = None) -> str:
    request = step.request
    if condition not in ReturnCondition.values:
        raise RuleViolation("invalid", _("Give the condition: ok, damaged, empty or different."), status=400)
    request.return_condition = condition
    if condition != ReturnCondition.OK:
        # The seller disputes what came back: the team looks at it, as for a dispute's return.
        return _to_dispute(step, escalate=True)
    return _refund(step, postage=_postage(request))


def _postage(request: ReturnRequest) -> Decimal:
    return policy.postage_refunded(request.order, payer=request.postage_payer, postage=request.postage)


def _return_not_confirmed(step: Step) -> str:
    return _refund(step, postage=_postage(step.request))


def _ship_replacement(step: Step, *, carrier: Carrier | None = None, tracking_number: str = "") -> str:
    request = step.request
    if carrier is None or not (tracking_number or "").strip():
        raise RuleViolation("invalid", _("Give the replacement's carrier and tracking number."), status=400)
    request.replacement_carrier = carrier
    request.replacement_tracking_number = tracking_number.strip()[:80]
    request.replacement_shipped_at = step.now
    return R.REPLACEMENT_IN_TRANSIT


def _confirm(step: Step) -> str:
    step.request.outcome = RequestOutcome.EXCHANGED
    step.request.closed_at = step.now
    return R.COMPLETED


def _seller_silence(step: Step) -> str:
    if step.request.fully_covered:
        return _approve(step)
    return _to_dispute(step)


def _to_dispute(step: Step, *, escalate: bool = False) -> str:
    """Open a dispute that carries the request: its items, reason, what was asked, the seller's
    answer, its photos and timeline (linked as `from_request`). The request ends."""
    request = step.request
    order = Order.objects.select_for_update().select_related("store").get(pk=request.order_id)
    left = order.total - refunded_so_far(order)
    if left <= 0:
        if step.party != Party.SYSTEM:
            raise RuleViolation("invalid_state", _("Everything paid for this order was already refunded."))
        # A clock cannot turn it into a dispute over nothing: the request closes, so it never sticks.
        request.outcome = RequestOutcome.SETTLED
        request.closed_at = step.now
        return R.COMPLETED
    claims = list(request.claim_items.select_related("order_item"))
    claims_set_live(live=False, request=request)
    # Since a decline the items may have been claimed, or settled, by something else.
    refusal = claim_refusal(order, [Pick(c.order_item, c.quantity) for c in claims], code="dispute_exists")
    if refusal is not None:
        raise refusal
    reason = request.reason if request.reason in Reason.values else Reason.OTHER
    history = _history(request)
    shipped_back = request.return_shipped_at is not None
    dispute = Dispute(
        order=order,
        opened_by=request.opened_by,
        # A return already made under the request stays made: its tracking and postage carry over.
        return_carrier=request.return_carrier if shipped_back else None,
        return_tracking_number=request.return_tracking_number,
        return_shipped_at=request.return_shipped_at,
        return_postage=request.postage,
        return_condition=request.return_condition,
        reason=reason,
        item_received=True,
        description=history[:5000],
        why_unresolved=(request.decline_reason or step.note or "")[:2000],
        refund_type=RefundType.FULL,
        items_worth=request.amount,
        refund_amount=min(request.amount, left) if request.amount > 0 else left,
        return_item=request.kind != RequestKind.REFUND_ONLY and not shipped_back,
        opened_at=step.now,
    )
    dispute_start(
        dispute,
        actor=request.opened_by,
        now=step.now,
        payload={
            "reason": reason,
            "refund_amount": money_str(dispute.refund_amount, order.currency),
            "return_item": dispute.return_item,
            "from_request": request.pk,
        },
    )
    try:
        with transaction.atomic():
            ClaimItem.objects.bulk_create(
                ClaimItem(order_item_id=c.order_item_id, quantity=c.quantity, dispute=dispute, live=True)
                for c in claims
            )
    except IntegrityError:
        raise RuleViolation(
            "dispute_exists", _("One of these items is already in an open dispute or request.")
        ) from None
    Proposal.objects.create(dispute=dispute, party=Party.BUYER, kind=Proposal.Kind.REQUEST,
                            refund_amount=dispute.refund_amount, return_item=dispute.return_item,
                            note=history[:2000], author=request.opened_by, created_at=step.now)  # fmt: skip
    Evidence.objects.filter(request=request).update(request=None, dispute=dispute)
    request.dispute = dispute
    if escalate:
        # The seller reports the item came back not as expected: the team looks at it at once.
        request.save(update_fields=["dispute", "return_condition", "updated_at"])
        dispute_transition(dispute=dispute, action="return_disputed", party=Party.SYSTEM, actor=None)
    if request.state != R.DECLINED:
        request.outcome = RequestOutcome.DISPUTED
        request.closed_at = step.now
    step.dispute = dispute
    return R.DECLINED if request.state == R.DECLINED else R.COMPLETED


def _history(request: ReturnRequest) -> str:
    lines = [
        _("Turned into a dispute from return/exchange request #%(id)s (%(kind)s, %(reason)s).")
        % {"id": request.pk, "kind": RequestKind(request.kind).label, "reason": request.reason},
    ]
    if request.note:
        lines.append(_("The buyer wrote: %(note)s") % {"note": request.note})
    if request.decline_reason:
        lines.append(_("The seller declined: %(reason)s") % {"reason": request.decline_reason})
    if request.return_condition:
        lines.append(
            _("The seller reported the returned item as: %(condition)s")
            % {"condition": ReturnCondition(request.return_condition).label}
        )
    if request.replacement_tracking_number:
        lines.append(
            _("A replacement was shipped with tracking %(tracking)s.")
            % {"tracking": request.replacement_tracking_number}
        )
    return "\n".join(str(line) for line in lines)


# --- guards --------------------------------------------------------------------------------------


def _may_dispute(step: Step) -> str | None:
    request = step.request
    if request.dispute_id:
        return _("This request already became dispute #%(id)s.") % {"id": request.dispute_id}
    if request.state == R.DECLINED and request.dispute_by and step.now > request.dispute_by:
        return _("The time to turn this request into a dispute ended.")
    return None


def _is_exchange(step: Step) -> str | None:
    return None if step.request.kind == RequestKind.EXCHANGE else _("Only an exchange ships a replacement.")


# --- the table -----------------------------------------------------------------------------------

MOVES: list[Move] = [
    Move("approve", (R.AWAITING_SELLER,), Party.SELLER, _approve, gettext_lazy("Approve the request")),
    Move("decline", (R.AWAITING_SELLER,), Party.SELLER, _decline, gettext_lazy("Decline the request")),
    Move("cancel", (R.AWAITING_SELLER, R.APPROVED, R.AWAITING_RETURN), Party.BUYER, _cancel,
         gettext_lazy("Cancel the request")),
    Move("return_shipment", (R.AWAITING_RETURN,), Party.BUYER, _ship_return,
         gettext_lazy("Submit the return's tracking")),
    Move("return_received", (R.RETURN_IN_TRANSIT,), Party.SELLER, _receive_return,
         gettext_lazy("Confirm the returned item")),
    Move("replacement_shipment", (R.APPROVED,), Party.SELLER, _ship_replacement,
         gettext_lazy("Submit the replacement's tracking"), guard=_is_exchange),
    Move("confirm", (R.REPLACEMENT_IN_TRANSIT,), Party.BUYER, _confirm,
         gettext_lazy("Confirm the replacement arrived")),
    Move("to_dispute", (R.DECLINED, R.APPROVED, R.AWAITING_RETURN, R.REPLACEMENT_IN_TRANSIT), Party.BUYER,
         _to_dispute, gettext_lazy("Open a dispute"), guard=_may_dispute),
    # The clocks.
    Move("seller_silence", (R.AWAITING_SELLER,), Party.SYSTEM, _seller_silence),
    Move("replacement_not_shipped", (R.APPROVED,), Party.SYSTEM, _to_dispute),
    Move("return_not_shipped", (R.AWAITING_RETURN,), Party.SYSTEM, _lapse),
    Move("return_not_confirmed", (R.RETURN_IN_TRANSIT,), Party.SYSTEM, _return_not_confirmed),
    Move("replacement_not_confirmed", (R.REPLACEMENT_IN_TRANSIT,), Party.SYSTEM, _confirm),
]  # fmt: skip


def moves_for(request: ReturnRequest, party: Party, *, now: datetime | None = None) -> list[Move]:
    """What this party may do now (guards included), for buttons and refusals."""
    step = Step(request=request, party=party, actor=None, now=now or timezone.now())
    found = []
    for move in MOVES:
        if move.party != party or request.state not in move.sources:
            continue
        if move.guard is not None and move.guard(step) is not None:
            continue
        if move.action == "decline" and request.fully_covered:
            continue
        found.append(move)
    return found


# --- running it ----------------------------------------------------------------------------------


def _set_clock(request: ReturnRequest, *, now: datetime) -> None:
    clock = CLOCKS.get(request.state)
    if clock is None:
        request.respond_by = None
    elif request.state == R.REPLACEMENT_IN_TRANSIT:
        request.respond_by = (request.replacement_shipped_at or now) + timedelta(days=clock.days())
    else:
        request.respond_by = now + timedelta(days=clock.days())


def _apply(move: Move, step: Step, payload: dict) -> None:
    request = step.request
    from_state = request.state
    step.refund = None
    step.dispute = None
    new_state = move.effect(step, **payload)
    request.state = new_state
    if new_state != from_state:
        _set_clock(request, now=step.now)
    if not request.is_live and request.dispute_id is None:
        claims_set_live(live=False, request=request)
    request.save()
    event_payload = {
        key: (value.code if isinstance(value, Carrier) else str(value))
        for key, value in payload.items()
        if key not in ("uploads", "postage") and value not in (None, "")
    }
    if payload.get("postage") not in (None, "") and request.postage is not None:
        event_payload["postage_paid"] = money_str(request.postage, request.order.currency)
    if step.note:
        event_payload["note"] = step.note
    if step.refund is not None:
        currency = request.order.currency
        event_payload["refunded_now"] = money_str(step.refund.amount, currency)
        if step.refund.postage:
            event_payload["postage"] = money_str(step.refund.postage, currency)
    if step.dispute is not None:
        event_payload["dispute"] = step.dispute.pk
    event = RequestEvent.objects.create(
        request=request,
        actor=step.actor,
        actor_party=move.party,
        action=move.action,
        from_state=from_state,
        to_state=new_state,
        payload=event_payload,
        created_at=step.now,
    )
    from disputes.notices import tell_request

    tell_request(request, event)
    audit(
        "return_request.transition",
        return_request=request.pk,
        order=request.order.number,
        action=move.action,
        party=move.party,
        actor=step.actor.username if step.actor else "system",
        from_state=from_state,
        to_state=new_state,
    )


def party_in(user: User, request: ReturnRequest) -> Party:
    side = roles.order_party(user, request.order)
    if side is not None:
        return Party(side)
    if roles.is_dispute_team(user):
        return Party.TEAM
    raise RuleViolation("not_found", _("Not found."), status=404)


def _refused(request: ReturnRequest, party: Party, action: str, why: str | None = None) -> RuleViolation:
    audit(
        "return_request.refused",
        return_request=request.pk,
        action=action,
        party=party,
        state=request.state,
        why=why or "not_allowed",
    )
    if why:
        return RuleViolation("invalid_state", why)
    options = [str(m.label) for m in moves_for(request, party)]
    state = RequestState(request.state).label
    if options:
        detail = _("The request is now: %(state)s. You can: %(options)s.") % {
            "state": state,
            "options": ", ".join(options),
        }
    else:
        detail = _("The request is now: %(state)s. There is nothing for you to do at this point.") % {"state": state}
    return RuleViolation("invalid_state", detail)


def request_transition(
    *, request: ReturnRequest, action: str, party: Party, actor: User | None, note: str = "", **payload
) -> ReturnRequest:
    """One row of the table, on the locked request, in one transaction. A clock already run out is
    acted on first."""
    now = timezone.now()
    if party != Party.SYSTEM:
        request_catch_up(request.pk, now=now)
    uploads = payload.get("uploads") or []
    photos = clean_uploads(uploads) if uploads else []
    rows: list[Photo] = []
    try:
        with transaction.atomic():
            request = (
                ReturnRequest.objects.select_for_update(of=("self",))
                .select_related("order__store__owner", "order__buyer", "opened_by")
                .get(pk=request.pk)
            )
            move = next(
                (m for m in MOVES if m.action == action and m.party == party and request.state in m.sources), None
            )
            if move is None:
                raise _refused(request, party, action)
            step = Step(request=request, party=party, actor=actor, now=now, note=(note or "").strip())
            if move.guard is not None and (why := move.guard(step)) is not None:
                raise _refused(request, party, action, why)
            if action == "decline" and request.fully_covered:
                audit(
                    "return_request.refused",
                    return_request=request.pk,
                    action="decline",
                    party=party,
                    state=request.state,
                    why="covered_by_policy",
                )
                raise RuleViolation(
                    "covered_by_policy",
                    _("Your return policy covers this request in full, so it cannot be declined: approve it. "
                      "If the item comes back not as expected, say so when you confirm it."),
                )  # fmt: skip
            if photos:
                evidence = Evidence.objects.create(
                    request=request, party=party, author=actor, note=str(_("Postage receipt")), created_at=now
                )
                rows = store_photos(photos, uploaded_by=actor, prefix="evidence", evidence=evidence)
                Photo.objects.bulk_create(rows)
            _apply(move, step, payload)
    except BaseException:
        delete_photo_files(rows)
        raise
    return request


def request_act_by(*, user: User, request: ReturnRequest, action: str, **payload) -> ReturnRequest:
    return request_transition(request=request, action=action, party=party_in(user, request), actor=user, **payload)


def request_catch_up(request_id: int, *, now: datetime | None = None) -> None:
    """Act on this request's clock if it has run out (idempotent)."""
    now = now or timezone.now()
    with transaction.atomic():
        request = (
            ReturnRequest.objects.select_for_update(of=("self",))
            .select_related("order__store__owner", "order__buyer", "opened_by")
            .get(pk=request_id)
        )
        for _round in range(3):
            clock = CLOCKS.get(request.state)
            if clock is None or request.respond_by is None or request.respond_by > now:
                return
            move = next(m for m in MOVES if m.party == Party.SYSTEM and m.action == clock.expiry)
            _apply(move, Step(request=request, party=Party.SYSTEM, actor=None, now=request.respond_by), {})


def remind_requests(*, now: datetime, limit: int = 500) -> int:
    """A day before a live request's deadline, whoever it waits for hears it (once per deadline)."""
    from disputes.notices import tell_request_day_left

    sent = 0
    while True:
        with transaction.atomic():
            due = list(
                ReturnRequest.objects.filter(
                    state__in=list(CLOCKS), respond_by__gt=now, respond_by__lte=now + timedelta(days=1)
                )
                .exclude(reminded_for=F("respond_by"))
                .select_related("order__store__owner", "order__buyer")
                .select_for_update(skip_locked=True, of=("self",))[:limit]
            )
            for request in due:
                tell_request_day_left(request, waits_for=CLOCKS[request.state].waits_for)
                request.reminded_for = request.respond_by
            ReturnRequest.objects.bulk_update(due, ["reminded_for"])
        sent += len(due)
        if len(due) < limit:
            return sent


def sweep_requests(*, now: datetime | None = None, limit: int = 500) -> int:
    """Every request whose clock has run out, acted on as the system, oldest deadline first; then
    the reminders of the deadlines a day away."""
    now = now or timezone.now()
    remind_requests(now=now)
    done = 0
    failed: set[int] = set()  # tried again on the next run, not again in this one
    while True:
        ids = list(
            ReturnRequest.objects.filter(state__in=list(CLOCKS), respond_by__lte=now)
            .exclude(pk__in=failed)
            .order_by("respond_by")
            .values_list("pk", flat=True)[:limit]
        )
        for request_id in ids:
            try:
                request_catch_up(request_id, now=now)
                done += 1
            except Exception:
                failed.add(request_id)
                logging.getLogger("dispute_desk.sweeps").exception(
                    "return request clock failed", extra={"return_request": request_id}
                )
        if len(ids) < limit:
            return done


# --- opening -------------------------------------------------------------------------------------


def refuse_unless_order_buyer(user: User, order: Order) -> None:
    """Only the order's buyer asks for a return or an exchange; whoever else sees the order is told so (409)."""
    if roles.order_party(user, order) != roles.BUYER:
        audit("order.refused", order=order.number, action="open_request", actor=user.username, why="not_the_buyer")
        raise RuleViolation("invalid_state", _("Only the buyer of this order can ask for a return or an exchange."))


def request_open(
    *,
    buyer: User,
    order: Order,
    kind: str,
    reason: str,
    items: list[dict] | None = None,
    note: str = "",
    variant: str = "",
    uploads: list | None = None,
) -> ReturnRequest:
    """The buyer asks the seller for a return, an exchange or a refund without return, under the
    order's policy snapshot, for the items named (all of the order when none)."""
    refuse_unless_order_buyer(buyer, order)
    if kind not in RequestKind.values:
        raise RuleViolation("invalid", _("Choose what you ask for."), status=400, fields={"kind": [_("Invalid.")]})
    if reason not in REASONS:
        raise RuleViolation(
            "invalid", _("Choose a reason from the list."), status=400, fields={"reason": [_("Invalid.")]}
        )
    photos = clean_uploads(uploads or [])
    now = timezone.now()
    rows: list[Photo] = []
    try:
        with transaction.atomic():
            locked = Order.objects.select_for_update().select_related("store", "buyer").get(pk=order.pk)
            refusal = policy.request_refusal(locked, kind=kind, reason=reason, now=now)
            if refusal is None:
                picks = picks_from(locked, items)
                refusal = claim_refusal(locked, picks, code="request_exists")
            if refusal is not None:
                audit(
                    "order.refused", order=locked.number, action="open_request", actor=buyer.username, code=refusal.code
                )
                raise refusal
            worth = min(picks_amount(locked, picks), locked.total - refunded_so_far(locked))
            if worth <= 0:
                raise RuleViolation("invalid_state", _("Everything paid for this order was already refunded."))
            request = ReturnRequest.objects.create(
                order=locked,
                opened_by=buyer,
                kind=kind,
                reason=reason,
                note=(note or "").strip()[:2000],
                variant=(variant or "").strip()[:200] if kind == RequestKind.EXCHANGE else "",
                fully_covered=policy.fully_covered(kind=kind, reason=reason),
                postage_payer=policy.postage_payer(locked, reason),
                amount=worth,
                state=R.AWAITING_SELLER,
                opened_at=now,
                respond_by=now + timedelta(days=settings.SELLER_RESPONSE_DAYS),
            )
            ClaimItem.objects.bulk_create(picks_rows(picks, request=request))
            if photos:
                evidence = Evidence.objects.create(request=request, party=Party.BUYER, author=buyer, created_at=now)
                rows = store_photos(photos, uploaded_by=buyer, prefix="evidence", evidence=evidence)
                Photo.objects.bulk_create(rows)
            event = RequestEvent.objects.create(
                request=request,
                actor=buyer,
                actor_party=Party.BUYER,
                action="open",
                from_state="",
                to_state=R.AWAITING_SELLER,
                payload={
                    "kind": kind,
                    "reason": reason,
                    "items": picks_payload(picks),
                    "amount": money_str(worth, locked.currency),
                },
                created_at=now,
            )
            from disputes.notices import tell_request

            tell_request(request, event)
    except IntegrityError:
        delete_photo_files(rows)
        detail = _("One of these items is already in an open request or dispute.")
        raise RuleViolation("request_exists", detail) from None
    except BaseException:
        delete_photo_files(rows)
        raise
    audit(
        "return_request.transition",
        return_request=request.pk,
        order=order.number,
        action="open",
        party=Party.BUYER,
        actor=buyer.username,
        from_state="new",
        to_state=R.AWAITING_SELLER,
        kind=kind,
        reason=reason,
        amount=money_str(worth, locked.currency),
        currency=locked.currency,
    )
    return request


def default_outcome(request: ReturnRequest) -> str | None:
    """What happens at `respond_by` if nobody acts, in words."""
    clock = CLOCKS.get(request.state)
    if clock is None or request.respond_by is None:
        return None
    what = clock.what_happens
    if request.state == R.AWAITING_SELLER:
        what = (
            _("the request is approved, as the store's policy covers it in full")
            if request.fully_covered
            else _("the request becomes a dispute, as the store's policy covers it only in part")
        )
    if request.state == R.RETURN_IN_TRANSIT:
        postage = _postage(request)
        total = min(request.amount, request.order.total) + postage
        what = _("the buyer is refunded %(amount)s, as if the seller had confirmed the item") % {
            "amount": format_money(total, request.order.currency)
        }
    return str(what)
