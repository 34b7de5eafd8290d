"""Who hears about each step of a dispute. Rows are written in the step's transaction.

Each notice is its kind and parameters: the amounts each side stands on, the reader's side, the
deadline, what caused it (codes and numbers, never text). `notifications.texts` puts them into
words when the notice is shown or sent. In a sweep this runs once per event of a chunk: it reads
only what the writer already holds (no query, no formatting), so a notice costs one small dict.
"""

from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from disputes.models import Dispute, DisputeEvent, Proposal, State
from disputes.states import AWAITING, clock_for
from notifications.models import Notification
from notifications.services import notify

if TYPE_CHECKING:
    from disputes.writes import Writes

K = Notification.Kind


def _url(dispute: Dispute) -> str:
    """The dispute's page: `reverse("disputes:detail")`, worked out once per URL configuration and
    script prefix (a sweep links thousands of notices; reversing each was a twentieth of it)."""
    return _detail_prefix(settings.ROOT_URLCONF, get_urlconf(), get_script_prefix()) + f"{dispute.pk}/"


@cache
def _detail_prefix(root_urlconf: str, urlconf, script_prefix: str) -> str:
    return reverse("disputes:detail", args=[0], urlconf=urlconf).removesuffix("0/")


def _deadline(dispute: Dispute, event: DisputeEvent) -> str | None:
    """When the answer clock of the state the event entered runs out, read from the event: a
    clock entered afresh started at the event (a sweep's gathering writer notifies after the whole
    chunk moved, when the dispute may already be past that state); a clock still running (moves
    within the team's states) is the dispute's own."""
    clock = clock_for(event.to_state, "respond_by")
    if clock is None:
        return None
    at = event.created_at + clock.length if event.from_state not in clock.states else dispute.respond_by
    return at.isoformat() if at else None


def _amount(value) -> str | None:
    return None if value is None else str(value)


def _positions(dispute: Dispute, writes: "Writes", state: str) -> dict:
    """What each side stands on: the buyer's latest request, the seller's standing offer, and
    whether the proposal the reader answers sends the item back."""
    request: Proposal | None = writes.buyer_request(dispute)
    offer: Proposal | None = writes.standing_offer(dispute)
    answered = offer if state == State.AWAITING_BUYER else request
    return {
        "request": _amount(request.refund_amount) if request else _amount(dispute.refund_amount),
        "offer": _amount(offer.refund_amount) if offer else None,
        "return_item": bool(answered and answered.return_item),
    }


def notify_event(dispute: Dispute, event: DisputeEvent, *, writes: "Writes") -> None:
    """The notifications one event causes, handed to the writer's sink. Reads the state from the
    event, not the dispute: a sweep's gathering writer notifies after a chunk's transitions are done."""
    order = dispute.order
    buyer, seller = order.buyer, order.store.owner
    state, action = event.to_state, event.action
    url = event.url = _url(dispute)
    base = {
        "order": order.number,
        "dispute": dispute.pk,
        "event": action,
        "by": event.actor_party,
        "state": state,
        "currency": order.currency,
    }

    def tell(user, kind: str, role: str, **params) -> None:
        key = f"dispute:{dispute.pk}:event:{event.pk}:{kind}:{user.pk if user else 0}"
        writes.notifications.notify(
            recipient=user, kind=kind, key=key, url=url, params={**base, "role": role, **params}
        )

    if action == "open":
        tell(seller, K.DISPUTE_OPENED, "seller", request=_amount(dispute.refund_amount), offer=None,
             return_item=dispute.return_item, reason=dispute.reason, deadline=_deadline(dispute, event))  # fmt: skip
        return
    # A release puts the dispute back in the team's queue: the parties heard when it went to the
    # team, and the routing that follows is the team's business, not theirs.
    if state == State.ESCALATED and event.from_state != State.ESCALATED:
        if action != "release":
            ruling_by = _deadline(dispute, event)
            where = _positions(dispute, writes, state)
            condition = event.payload.get("condition", "")
            for user, role in ((buyer, "buyer"), (seller, "seller")):
                tell(user, K.ESCALATED, role, deadline=ruling_by, condition=condition, **where)
        writes.route_after_commit(dispute.pk)
    # The member the dispute was given to hears it; one who claimed it or ruled on it knows already.
    if (
        action in ("assign", "assign_to")
        and dispute.assignee_id
        and dispute.assignee_id != getattr(event.actor, "pk", None)
    ):
        tell(
            dispute.assignee,
            K.ASSIGNED,
            "team",
            deadline=_deadline(dispute, event),
            **_positions(dispute, writes, state),
        )
    if action == "ruling":
        ruled = {
            "outcome": "return" if state == State.AWAITING_RETURN else event.payload.get("outcome", ""),
            "amount": _amount(
                dispute.agreed_refund_amount if state == State.AWAITING_RETURN else dispute.resolved_refund_amount
            ),
            "note": event.payload.get("note", ""),
            "deadline": (event.created_at + timedelta(days=settings.APPEAL_DAYS)).isoformat(),
        }
        tell(buyer, K.RULED, "buyer", appeal=not dispute.buyer_appealed, **ruled)
        tell(seller, K.RULED, "seller", appeal=not dispute.seller_appealed, **ruled)
    # Whoever the new state's clock waits for (the clock table) hears it is their turn.
    whose = AWAITING.get(state)
    if whose in ("buyer", "seller"):
        reader = buyer if whose == "buyer" else seller
        tell(reader, K.YOUR_TURN, whose, deadline=_deadline(dispute, event), **_turn(dispute, event, writes))
    if state == State.RESOLVED and event.from_state != State.RESOLVED:
        closed = {
            "outcome": event.payload["outcome"],
            "amount": event.payload.get("refund_amount"),
            "cause": event.payload.get("cause", ""),
        }
        for user, role in ((buyer, "buyer"), (seller, "seller")):
            tell(user, K.RESOLVED, role, **closed)
        if getattr(event, "refund", None) is not None:
            tell(buyer, K.REFUNDED, "buyer", amount=_amount(event.refund.amount))


def _turn(dispute: Dispute, event: DisputeEvent, writes: "Writes") -> dict:
    """What the party whose turn it is needs to know to act: the amounts, and what was said."""
    payload, state = event.payload, event.to_state
    if state in (State.AWAITING_BUYER, State.AWAITING_SELLER):
        return {**_positions(dispute, writes, state), "note": payload.get("note", "")}
    if state in (State.AWAITING_RETURN, State.RETURN_IN_TRANSIT):
        return {
            "amount": _amount(dispute.agreed_refund_amount),
            "cause": dispute.agreed_cause,
            "carrier": payload.get("carrier", ""),
            "tracking": payload.get("tracking_number", ""),
        }
    return {}


def tell_ruling_withdrawn(dispute: Dispute, ruling, *, action: str) -> None:
    """The member who proposed a ruling hears that it was withdrawn because the dispute moved on."""
    notify(
        recipient=ruling.proposed_by,
        kind=K.RULING_WITHDRAWN,
        key=f"pending_ruling:{ruling.pk}:withdrawn",
        params={"dispute": dispute.pk, "order": dispute.order.number, "event": action, "role": "team"},
        url=reverse("admin:disputes_dispute_change", args=[dispute.pk]),
    )


def alert_needs_person(dispute: Dispute, *, reason: str) -> None:
    """Every active team member and every superuser hears that a dispute needs a person: once
    per setting aside (the key names when it was set aside)."""
    from django.db.models import Q

    from accounts.models import User
    from accounts.roles import team_members

    people = User.objects.filter(Q(pk__in=team_members().values("pk")) | Q(is_superuser=True, is_active=True))
    params = {"dispute": dispute.pk, "order": dispute.order.number, "note": reason[:500], "role": "team"}
    for person in people:
        notify(
            recipient=person,
            kind=K.NEEDS_PERSON,
            key=f"dispute:{dispute.pk}:needs_person:{dispute.set_aside_at.isoformat()}:{person.pk}",
            params=params,
            url=reverse("admin:disputes_reviewqueueitem_changelist") + "?needs_person=yes",
        )
