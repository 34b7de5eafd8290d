"""Dispute services that are not a plain transition: opening, evidence, who the caller is."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from core.audit import audit
from core.errors import RuleViolation
from core.money import format_money, money_str, parse_amount
from disputes.claims import (
    TRIES_PER_ITEM,
    Pick,
    claim_refusal,
    claimable_alone,
    picks_amount,
    picks_from,
    picks_payload,
    picks_rows,
)
from disputes.engine import dispute_start, dispute_transition
from disputes.models import (
    CONDITION_REASONS,
    ClaimItem,
    Dispute,
    Evidence,
    Party,
    Proposal,
    Reason,
    RefundType,
)
from disputes.payments import refunded_so_far
from disputes.terms import refuse_impossible_return
from messaging.models import Photo
from messaging.photos import clean_uploads
from messaging.services import delete_photo_files, store_photos
from orders.models import Order
from orders.window import WindowState


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "j M Y, H:i T")


def party_of(user: User, dispute: Dispute) -> Party:
    side = roles.order_party(user, dispute.order)
    if side is not None:
        return Party(side)
    if roles.is_dispute_team(user):
        return Party.TEAM
    raise RuleViolation("forbidden", _("You are not a party to this dispute."), status=403)


def refuse_unless_buyer(user: User, order: Order) -> None:
    """Only the order's buyer opens a dispute. Whoever may see the order but is not its buyer (its
    seller, a team member, the platform) is told so: 409 invalid_state, the answer for an action the
    caller's role does not allow (docs/rules.md §6), at every door: the API, the page, the service.
    A stranger is told the order does not exist (404), as the order's lookup tells them."""
    side = roles.order_party(user, order)
    if side == roles.BUYER:
        return
    audit("order.refused", order=order.number, action="open_dispute", actor=user.username, why="not_the_buyer")
    if side is None and not roles.sees_all_orders(user):
        raise RuleViolation("not_found", _("Not found."), status=404)  # a stranger: no such order, to them
    raise RuleViolation("invalid_state", _("Only the buyer of this order can open a dispute."))


# A cancelled claim, or one that paid a refund, uses up one of this many tries per item (the pages
# count them over the whole order when no items are named).
OPEN_TRIES_PER_ORDER = TRIES_PER_ITEM


def open_refusal(order: Order, *, now=None, picks: list[Pick] | None = None) -> RuleViolation | None:
    """Why the buyer cannot open a dispute over these items of the order now (all of them when
    none are named), or None when they can. The window is the order's; the claims are per item."""
    now = now or timezone.now()
    window = order.dispute_window(now)
    if window.state == WindowState.NOT_YET_OPEN:
        return RuleViolation(
            "window_not_open", _("A dispute can be opened from %(date)s.") % {"date": _when(window.opens_at)}
        )
    if window.state == WindowState.CLOSED:
        return RuleViolation(
            "window_closed",
            _("The window to open a dispute closed on %(date)s.") % {"date": _when(window.closes_at)},
        )
    if picks is None:
        picks = picks_from(order, None)
    return claim_refusal(order, picks, code="dispute_exists")


def free_items(order: Order) -> list[Pick]:
    """The items a new claim may still cover (none live in another claim, none settled)."""
    return claimable_alone(picks_from(order, None), code="dispute_exists")


def dispute_open_refusals(
    *,
    order: Order,
    reason: str,
    item_received: bool,
    refund_type: str,
    refund_amount: Decimal | None = None,
    return_item: bool = False,
    uploads: list | None = None,
    items: list[dict] | None = None,
) -> list[RuleViolation]:
    """Every reason the request as filled in cannot open a dispute, all at once (a page shows them
    together): the rules `dispute_open` applies before it locks the order."""
    refusals = []
    if reason not in Reason.values:
        refusals.append(RuleViolation("invalid", _("Choose a reason from the list."), status=400))
    if refund_type == RefundType.PARTIAL and (refund_amount is None or refund_amount <= 0):
        refusals.append(RuleViolation("invalid_amount", _("Give the amount of the partial refund."), status=400))
    elif refund_type == RefundType.PARTIAL:
        try:
            amount = parse_amount(refund_amount, order.currency)
            picks = picks_from(order, items)
        except RuleViolation as refusal:
            refusals.append(refusal)
        else:
            left = claimable(order, picks)
            if amount > left:
                refusals.append(too_much(order, left))
    if reason == Reason.NOT_RECEIVED and item_received:
        refusals.append(RuleViolation("invalid", _("'Not received' cannot go with an item you received."), status=400))
    try:
        refuse_impossible_return(reason=reason, item_received=item_received, return_item=return_item)
    except RuleViolation as refusal:
        refusals.append(refusal)
    if refund_type != RefundType.PARTIAL:
        try:
            picks_from(order, items)
        except RuleViolation as refusal:
            refusals.append(refusal)
    if item_received and reason in CONDITION_REASONS and not uploads:
        refusals.append(
            RuleViolation("photos_required", _("Add at least one photo that shows the problem."), status=400)
        )
    return refusals


def claimable(order: Order, picks: list[Pick]) -> Decimal:
    """The most a claim over these items may ask: what they are worth, and never more than is left
    to refund on the order."""
    return min(picks_amount(order, picks), order.total - refunded_so_far(order))


def too_much(order: Order, left: Decimal) -> RuleViolation:
    return RuleViolation(
        "invalid_amount",
        _("A partial refund must be more than 0 and at most the %(left)s left to refund for these items.")
        % {"left": format_money(left, order.currency)},
        status=400,
        fields={"refund_amount": [_("At most %(left)s.") % {"left": format_money(left, order.currency)}]},
    )


def dispute_open(
    *,
    buyer: User,
    order: Order,
    reason: str,
    item_received: bool,
    refund_type: str,
    refund_amount: Decimal | None = None,
    return_item: bool = False,
    description: str,
    why_unresolved: str = "",
    uploads: list | None = None,
    items: list[dict] | None = None,
) -> Dispute:
    """Open a dispute over some or all of the order's items: only the buyer, only inside the
    window, each item in at most one live claim, a cancelled claim reopened at most once per item.
    "Full" asks for what the items are worth (see disputes.claims). Photos are required when the
    item arrived and the reason is about its condition."""
    uploads = uploads or []
    refuse_unless_buyer(buyer, order)
    refusals = dispute_open_refusals(
        order=order,
        reason=reason,
        item_received=item_received,
        refund_type=refund_type,
        refund_amount=refund_amount,
        return_item=return_item,
        uploads=uploads,
        items=items,
    )
    if refusals:
        raise refusals[0]
    photos = clean_uploads(uploads)

    now = timezone.now()
    rows: list[Photo] = []
    try:
        with transaction.atomic():
            locked = Order.objects.select_for_update().select_related("carrier", "store", "buyer").get(pk=order.pk)
            picks = picks_from(locked, items)
            refusal = open_refusal(locked, now=now, picks=picks)
            if refusal is not None:
                audit(
                    "order.refused", order=locked.number, action="open_dispute", actor=buyer.username, code=refusal.code
                )
                raise refusal
            # After a refund, a request asks at most for what is left, and "full" means all of it.
            left = claimable(locked, picks)
            if left <= 0:
                raise RuleViolation("invalid_state", _("Everything paid for this order was already refunded."))
            if refund_type == RefundType.FULL:
                amount = left
            else:
                amount = parse_amount(refund_amount, locked.currency)
                if amount > left:
                    raise too_much(locked, left)
            dispute = Dispute(
                order=locked,
                opened_by=buyer,
                reason=reason,
                item_received=item_received,
                description=description.strip(),
                why_unresolved=(why_unresolved or "").strip(),
                items_worth=picks_amount(locked, picks),
                refund_type=refund_type,
                refund_amount=amount,
                return_item=return_item,
                opened_at=now,
            )
            dispute_start(
                dispute,
                actor=buyer,
                now=now,
                payload={
                    "reason": reason,
                    "refund_amount": money_str(amount, locked.currency),
                    "return_item": return_item,
                    "items": picks_payload(picks),
                },
            )
            ClaimItem.objects.bulk_create(picks_rows(picks, dispute=dispute))
            Proposal.objects.create(
                dispute=dispute,
                party=Party.BUYER,
                kind=Proposal.Kind.REQUEST,
                refund_amount=amount,
                return_item=return_item,
                note=description.strip(),
                author=buyer,
                created_at=now,
            )
            if photos:
                evidence = Evidence.objects.create(dispute=dispute, party=Party.BUYER, author=buyer, created_at=now)
                rows = store_photos(photos, uploaded_by=buyer, prefix="evidence", evidence=evidence)
                Photo.objects.bulk_create(rows)
    except IntegrityError:
        delete_photo_files(rows)
        # Two opens raced; the database's one-live-claim-per-item constraint let only one through.
        detail = _("One of these items is already in an open dispute or request.")
        raise RuleViolation("dispute_exists", detail) from None
    except BaseException:
        delete_photo_files(rows)
        raise
    return dispute


def evidence_add(*, author: User, dispute: Dispute, note: str, uploads: list) -> Evidence:
    """A party (or the team) adds photos and a note. Allowed while the dispute is live."""
    party = party_of(author, dispute)
    if not uploads and not (note or "").strip():
        raise RuleViolation("invalid", _("Add a photo or a note."), status=400)
    if len(note or "") > 2000:
        raise RuleViolation("invalid", _("Keep the note under 2000 characters."), status=400)
    photos = clean_uploads(uploads)
    rows: list[Photo] = []
    try:
        with transaction.atomic():
            locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
            if not locked.is_live:
                raise RuleViolation("invalid_state", _("This dispute is closed; evidence can no longer be added."))
            evidence = Evidence.objects.create(dispute=locked, party=party, author=author, note=(note or "").strip())
            rows = store_photos(photos, uploaded_by=author, prefix="evidence", evidence=evidence)
            Photo.objects.bulk_create(rows)
    except BaseException:
        delete_photo_files(rows)
        raise
    from disputes.review import evidence_requests_answer

    evidence_requests_answer(dispute=dispute, party=party)
    audit("dispute.evidence_added", dispute=dispute.pk, party=party, photos=len(rows))
    return evidence


def dispute_act_by(*, user: User, dispute: Dispute, action: str, **payload) -> Dispute:
    """A person's action: who `user` is (buyer, seller, team member) decides the party, and so which
    row of the workflow table applies. The door for pages, the API and the admin; the system acts
    through `dispute_transition` with its party given."""
    return dispute_transition(dispute=dispute, action=action, party=party_of(user, dispute), actor=user, **payload)
