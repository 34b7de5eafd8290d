"""Who hears about each step of a dispute. Rows are written in the step's transaction.

Each notice is its kind and parameters: the amounts each side stands on, the reader's side, the
deadline, what caused it (codes and numbers, never text). `notifications.texts` puts them into
words when the notice is shown or sent. In a sweep this runs once per event of a chunk: it reads
only what the writer already holds (no query, no formatting), so a notice costs one small dict.
"""

from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import F, Max, Q
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from core.money import money_str
from disputes.models import Dispute, DisputeEvent, Proposal, State
from disputes.states import AWAITING, FINAL, clock_for
from notifications.models import Notification
from notifications.services import notify

if TYPE_CHECKING:
    from disputes.writes import Writes

K = Notification.Kind


def _url(dispute: Dispute) -> str:
    """The dispute's page: `reverse("disputes:detail")`, worked out once per URL configuration and
    script prefix (a sweep links thousands of notices; reversing each was a twentieth of it)."""
    return _detail_prefix(settings.ROOT_URLCONF, get_urlconf(), get_script_prefix()) + f"{dispute.pk}/"


def _review_url(dispute_id: int) -> str:
    """The dispute's review screen in admin: where a team member acts on it."""
    return reverse("admin:disputes_reviewqueueitem_review", args=[dispute_id])


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


def _amount(value, currency: str) -> str | None:
    return None if value is None else money_str(value, currency)


def _positions(dispute: Dispute, writes: "Writes", state: str) -> dict:
    """What each side stands on: the buyer's latest request, the seller's standing offer, and
    whether the proposal the reader answers sends the item back."""
    request: Proposal | None = writes.buyer_request(dispute)
    offer: Proposal | None = writes.standing_offer(dispute)
    answered = offer if state == State.AWAITING_BUYER else request
    return {
        "request": _amount((request or dispute).refund_amount, dispute.order.currency),
        "offer": _amount(offer.refund_amount, dispute.order.currency) if offer else None,
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
        # When the step it is about was taken: a later step means the dispute moved on (moved_on).
        "at": event.created_at.isoformat(),
        "currency": order.currency,
    }

    def tell(user, kind: str, role: str, **params) -> None:
        key = f"dispute:{dispute.pk}:event:{event.pk}:{kind}:{user.pk if user else 0}"
        writes.notifications.notify(
            recipient=user,
            kind=kind,
            key=key,
            url=_review_url(dispute.pk) if role == "team" else url,
            params={**base, "role": role, **params},
        )

    if action in PAUSE_EVENTS:
        for user, role in ((buyer, "buyer"), (seller, "seller")):
            tell(user, PAUSE_EVENTS[action], role, **_pause_params(dispute, event))
        return
    if action in ("case_linked", "case_unlinked"):
        for user, role in ((buyer, "buyer"), (seller, "seller")):
            tell(user, K.CASE_LINKED, role, reason=event.payload.get("reason", ""))
        return
    if action in ("more_time", "more_time_answer"):
        # The ask goes to the other side; the answer to the side that asked.
        asker = event.actor_party if action == "more_time" else event.payload.get("asked_by")
        to = seller if (asker == "buyer") == (action == "more_time") else buyer
        role = "seller" if to is seller else "buyer"
        p = event.payload
        tell(to, K.MORE_TIME, role, days=p.get("days"), note=p.get("note", ""), accepted=p.get("accepted"),
             deadline=p.get("respond_by") or (dispute.respond_by.isoformat() if dispute.respond_by else None),
             escalate_at=p.get("escalate_at"), paused=dispute.paused_at is not None)  # fmt: skip
        return
    if action == "open":
        asked = _amount(dispute.refund_amount, dispute.order.currency)
        tell(seller, K.DISPUTE_OPENED, "seller", request=asked, offer=None,
             return_item=dispute.return_item, reason=dispute.reason, deadline=_deadline(dispute, event))  # fmt: skip
        return
    if action == "cancel":
        tell(seller, K.DISPUTE_CANCELLED, "seller", **_after_cancel(dispute))
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
        # One notice per party for a ruling: what was ruled, what was refunded now, what the buyer
        # must do for a refund that waits for the item, and until when it may be appealed (no
        # separate "resolved", "refunded" or "your turn" beside it).
        refund = getattr(event, "refund", None)
        ruled = {
            "outcome": "return" if state == State.AWAITING_RETURN else event.payload.get("outcome", ""),
            "amount": _amount(
                dispute.agreed_refund_amount if state == State.AWAITING_RETURN else dispute.resolved_refund_amount,
                dispute.order.currency,
            ),
            "note": event.payload.get("note", ""),
            "deadline": (event.created_at + timedelta(days=settings.APPEAL_DAYS)).isoformat(),
            "refunded": _amount(refund.amount, refund.currency) if refund is not None else None,
        }
        tell(buyer, K.RULED, "buyer", appeal=not dispute.buyer_appealed, return_by=_deadline(dispute, event), **ruled)
        tell(seller, K.RULED, "seller", appeal=not dispute.seller_appealed, **ruled)
        return
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
            tell(buyer, K.REFUNDED, "buyer", amount=_amount(event.refund.amount, event.refund.currency))


PAUSE_EVENTS = {"pause": K.DISPUTE_PAUSED, "resume": K.DISPUTE_RESUMED}


def _pause_params(dispute: Dispute, event: DisputeEvent) -> dict:
    """A pause: why, the note, until when; a resumption: the deadlines the clocks run to again."""
    p = event.payload
    if event.action == "pause":
        return {"reason": p.get("reason", ""), "note": p.get("note", ""), "until": p.get("until")}
    return {"reason": p.get("reason", ""), "deadline": p.get("respond_by"), "escalate_at": p.get("escalate_at"),
            "by_hand": p.get("by_hand", False)}  # fmt: skip


def _turn(dispute: Dispute, event: DisputeEvent, writes: "Writes") -> dict:
    """What the party whose turn it is needs to know to act: the amounts, and what was said."""
    payload, state = event.payload, event.to_state
    if state in (State.AWAITING_BUYER, State.AWAITING_SELLER):
        return {**_positions(dispute, writes, state), "note": payload.get("note", "")}
    if state in (State.AWAITING_RETURN, State.RETURN_IN_TRANSIT):
        return {
            "amount": _amount(dispute.agreed_refund_amount, dispute.order.currency),
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
        url=_review_url(dispute.pk),
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
            url=_review_url(dispute.pk),
        )


def _after_cancel(dispute: Dispute) -> dict:
    """What a cancellation leaves the buyer: how many more disputes they may open on the order, and
    until when (the window's end), read once for the seller's notice."""
    from disputes.services import OPEN_TRIES_PER_ORDER

    order = dispute.order
    used = order.disputes.filter(Q(state=State.CANCELLED) | Q(refunded_amount__gt=0)).count()
    window_open = order.window_closes_at is not None and order.window_closes_at > timezone.now()
    return {
        "tries_left": max(OPEN_TRIES_PER_ORDER - used, 0) if window_open else 0,
        "window_closes": order.window_closes_at.isoformat() if window_open else None,
    }


# --- extensions of buyer protection (orders.services calls this for each order event) ----------

EXTENSION_EVENTS = ("extension_requested", "extension_granted", "extension_declined")


def tell_extension(order, event) -> None:
    """The seller hears when the buyer asks for more days (and why); the buyer hears when the
    seller grants days (how many, and the new end) or declines (and why)."""
    if event.action not in EXTENSION_EVENTS:
        return
    payload = event.payload or {}
    asked = event.action == "extension_requested"
    reader, role = (order.store.owner, "seller") if asked else (order.buyer, "buyer")
    params = {
        "order": order.number,
        "event": event.action,
        "role": role,
        "days": payload.get("days"),
        "note": payload.get("note", ""),
        "reason": payload.get("reason", ""),
        "closes_at": order.window_closes_at.isoformat() if order.window_closes_at else None,
    }
    notify(
        recipient=reader,
        kind=K.EXTENSION,
        key=f"order_event:{event.pk}:{K.EXTENSION}",
        params=params,
        url=reverse("orders:detail", args=[order.number]),
    )


# --- whether a notice's call to action still applies (notifications.render asks) -------------

WITH_TEAM = (State.ESCALATED, State.UNDER_REVIEW)


def _phase(state: str | None) -> str | None:
    """Moves within the team's states (claimed, assigned, released) leave the parties where they were."""
    return "team" if state in WITH_TEAM else state


def moved_on(notes: list) -> set[int]:
    """The pks of the notices (each asks its reader to act on a dispute) whose dispute has moved on
    since: it left the state the notice was about, took a later step (rows that say when theirs was taken),
    left the team (the team's notices), or no longer needs a person. One query for all of them."""
    ids = {note.params["dispute"] for note in notes}
    changing = ~Q(events__from_state=F("events__to_state")) & ~Q(
        events__from_state__in=WITH_TEAM, events__to_state__in=WITH_TEAM
    )
    rows = {
        row["pk"]: row
        for row in Dispute.objects.filter(pk__in=ids)
        .annotate(last_step=Max("events__created_at", filter=changing))
        .values("pk", "state", "assignee_id", "set_aside_at", "last_step")
    }
    done = set()
    for note in notes:
        p, row = note.params, rows.get(note.params["dispute"])
        if row is None or (row["state"] in FINAL and note.kind != K.RULED) or _has_moved_on(note, p, row):
            done.add(note.pk)
    return done


def _has_moved_on(note, p: dict, row: dict) -> bool:
    if note.kind == K.NEEDS_PERSON:
        return row["set_aside_at"] is None
    if p.get("role") == "team":  # assigned, overdue, a day left to rule, a withdrawn proposal
        if row["state"] not in WITH_TEAM:
            return True
        return note.kind != K.RULING_WITHDRAWN and row["assignee_id"] != note.recipient_id
    if note.kind == K.ESCALATED or p.get("event") in ("evidence_request", "evidence"):
        return row["state"] not in WITH_TEAM
    if p.get("state") and _phase(row["state"]) != _phase(p["state"]):
        return True
    return bool(p.get("at") and row["last_step"] and row["last_step"] > datetime.fromisoformat(p["at"]))


# --- return and exchange requests (disputes/requests.py calls this for each step) --------------

# Who hears each step: the other side of whoever acted; both sides when a clock acted.
REQUEST_READERS = {
    "open": ("seller",),
    "approve": ("buyer",),
    "decline": ("buyer",),
    "cancel": ("seller",),
    "return_shipment": ("seller",),
    "return_received": ("buyer",),
    "replacement_shipment": ("buyer",),
    "confirm": ("seller",),
    "to_dispute": (),  # the dispute's own opening notice tells the seller
    "seller_silence": ("buyer", "seller"),
    "replacement_not_shipped": ("buyer", "seller"),
    "return_not_shipped": ("buyer", "seller"),
    "return_not_confirmed": ("buyer", "seller"),
    "replacement_not_confirmed": ("buyer", "seller"),
}


def tell_request(request, event) -> None:
    """Each step of a return or exchange request, to whoever must know or act next: what happened,
    the amounts, and the next deadline (worded by notifications.texts.return_request)."""
    order = request.order
    payload = event.payload or {}
    params = {
        "request": request.pk,
        "order": order.number,
        "event": event.action,
        "kind": request.kind,
        "reason": request.reason,
        "state": request.state,
        "amount": money_str(request.amount, order.currency),
        "currency": order.currency,
        "refunded": payload.get("refunded_now"),
        "postage": payload.get("postage"),
        "deadline": request.respond_by.isoformat() if request.respond_by else None,
        "dispute_by": request.dispute_by.isoformat() if request.dispute_by else None,
        "dispute": request.dispute_id,
        "note": payload.get("note") or payload.get("reason") or "",
        "condition": payload.get("condition"),
    }
    for role in REQUEST_READERS.get(event.action, ()):
        reader = order.buyer if role == "buyer" else order.store.owner
        notify(
            recipient=reader,
            kind=K.RETURN_REQUEST,
            key=f"request_event:{event.pk}:{role}",
            params={**params, "role": role},
            url=reverse("disputes:request", args=[request.pk]),
        )


def tell_request_day_left(request, *, waits_for: str) -> None:
    """A day before a request's deadline, the party it waits for hears what to do and what follows."""
    from disputes.requests import default_outcome

    order = request.order
    reader = order.buyer if waits_for == "buyer" else order.store.owner
    notify(
        recipient=reader,
        kind=K.RETURN_REQUEST,
        key=f"request:{request.pk}:day_left:{request.respond_by.isoformat()}",
        params={
            "request": request.pk,
            "order": order.number,
            "event": "day_left",
            "kind": request.kind,
            "state": request.state,
            "role": waits_for,
            "amount": money_str(request.amount, order.currency),
            "currency": order.currency,
            "deadline": request.respond_by.isoformat(),
            "what_happens": default_outcome(request),
        },
        url=reverse("disputes:request", args=[request.pk]),
    )
