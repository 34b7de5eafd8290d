"""The pages of return and exchange requests: the buyer's form to ask (reached from the order page),
the request's page for its buyer, its seller and the dispute team, and the actions on it as plain
form posts. Cancelling and turning a request into a dispute ask first, on a confirmation screen.

The words are for the reader, as on the dispute page (disputes/guide): a buyer or a seller reads
about their own request in the second person, the team reads neutral words, and every state,
deadline and default outcome comes from the workflow's table and clocks (disputes/requests.py)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles
from core.errors import RuleViolation
from core.pages import form_submit
from core.throttles import page_write_throttle
from disputes import forms, policy
from disputes.claims import TRIES_PER_ITEM, Pick, picks_amount
from disputes.guide import Stage, amount_text, when
from disputes.models import (
    ClaimItem,
    Party,
    Reason,
    RequestEvent,
    RequestKind,
    RequestOutcome,
    RequestState,
    ReturnCondition,
    ReturnRequest,
    State,
)
from disputes.request_api import request_detail, request_get_for
from disputes.requests import CLOCKS, default_outcome, moves_for, party_in, request_act_by, request_open
from messaging.photos import pending_photos
from orders.models import Carrier, Order
from orders.selectors import order_get_for
from sellers.models import ReturnReason

R = RequestState

# Each action on the request page: its form. The URL names it with hyphens (return-shipment).
ACTION_FORMS = {
    "approve": forms.RequestNoteForm,
    "decline": forms.RequestDeclineForm,
    "return_shipment": forms.RequestReturnShipmentForm,
    "return_received": forms.RequestReturnReceivedForm,
    "replacement_shipment": forms.RequestReplacementShipmentForm,
    "confirm": forms.RequestNoteForm,
    "to_dispute": forms.RequestNoteForm,
    "cancel": forms.RequestNoteForm,
}

# Irreversible for the buyer: asked first on a screen that says what will happen.
# Irreversible: these ask first. Confirming the returned item refunds the buyer at once (or opens a
# dispute for the team), as on a dispute.
CONFIRM_ACTIONS = ("cancel", "to_dispute", "return_received")

PRIMARY, SECONDARY, DESTRUCTIVE = "primary", "secondary", "destructive"
ACTION_WEIGHT = {
    "approve": PRIMARY,
    "return_shipment": PRIMARY,
    "return_received": PRIMARY,
    "replacement_shipment": PRIMARY,
    "confirm": PRIMARY,
    "decline": SECONDARY,
    "to_dispute": SECONDARY,
    "cancel": DESTRUCTIVE,
}


def slug_of(action: str) -> str:
    return action.replace("_", "-")


def _action_of(slug: str) -> str:
    action = slug.replace("-", "_")
    if action not in ACTION_FORMS or slug != slug_of(action):
        raise Http404
    return action


def viewer_of(party: str | None) -> str | None:
    """Whose eyes the page is written for: "buyer" or "seller"; None (neutral) for the team."""
    return party if party in (Party.BUYER, Party.SELLER) else None


def _money(amount, request: ReturnRequest) -> str:
    return amount_text(amount, request.order.currency)


# --- the request in words ------------------------------------------------------------------------


def kind_asked(kind: str) -> str:
    """What was asked for, to follow "asked for"."""
    return {
        RequestKind.RETURN_REFUND: _("a return for a refund"),
        RequestKind.EXCHANGE: _("an exchange"),
        RequestKind.REFUND_ONLY: _("a refund without returning the item"),
    }.get(kind, kind)


def reason_label(reason: str) -> str:
    return str(dict([*ReturnReason.choices, *Reason.choices]).get(reason, reason))


def state_text(request: ReturnRequest, viewer: str | None) -> str:
    """The state in a few words, in the reader's voice: for the page's heading, the order page and
    the seller's list alike."""
    state, outcome = request.state, request.outcome
    if request.dispute_id:
        return _("Turned into dispute #%(id)s") % {"id": request.dispute_id}
    if state == R.COMPLETED:
        if outcome == RequestOutcome.REFUNDED:
            if viewer == Party.BUYER:
                return _("Refunded: %(amount)s refunded to you") % {"amount": _money(request.refunded_amount, request)}
            return _("Refunded: %(amount)s refunded to the buyer") % {
                "amount": _money(request.refunded_amount, request)
            }
        if outcome == RequestOutcome.EXCHANGED:
            return _("Exchanged")
    if state == R.CANCELLED:
        if outcome == RequestOutcome.LAPSED:
            return _("Closed: the item was not sent back in time")
        return _("You cancelled it") if viewer == Party.BUYER else _("Cancelled by the buyer")
    if state == R.DECLINED:
        return _("You declined it") if viewer == Party.SELLER else _("Declined by the seller")
    mine = {
        (R.AWAITING_SELLER, Party.SELLER): _("Waiting for your answer"),
        (R.AWAITING_SELLER, Party.BUYER): _("Waiting for the seller's answer"),
        (R.APPROVED, Party.SELLER): _("Approved: ship the replacement"),
        (R.APPROVED, Party.BUYER): _("Approved: the seller ships your replacement"),
        (R.AWAITING_RETURN, Party.BUYER): _("Approved: send the item back"),
        (R.AWAITING_RETURN, Party.SELLER): _("Approved: waiting for the buyer to send the item back"),
        (R.RETURN_IN_TRANSIT, Party.SELLER): _("The return is on its way to you: confirm it when it arrives"),
        (R.RETURN_IN_TRANSIT, Party.BUYER): _("Your return is on its way to the seller"),
        (R.REPLACEMENT_IN_TRANSIT, Party.BUYER): _("Your replacement is on its way: confirm it when it arrives"),
        (R.REPLACEMENT_IN_TRANSIT, Party.SELLER): _("The replacement is on its way to the buyer"),
    }
    return str(mine.get((state, viewer)) or RequestState(state).label)


def request_title(request: ReturnRequest) -> str:
    if request.kind == RequestKind.EXCHANGE:
        return _("Exchange request #%(id)s") % {"id": request.pk}
    return _("Return request #%(id)s") % {"id": request.pk}


def awaiting(request: ReturnRequest) -> str | None:
    clock = CLOCKS.get(request.state)
    return clock.waits_for if clock else None


def default_outcome_text(request: ReturnRequest) -> str:
    """The default outcome as a sentence: "If nobody acts by <the deadline, in the reader's zone>,
    <what the system does>." Empty when no clock runs."""
    what = default_outcome(request)
    if not what:
        return ""
    return _("If nobody acts by %(date)s, %(what)s.") % {"date": when(request.respond_by), "what": what}


def terms_lines(request: ReturnRequest, viewer: str | None) -> list[str]:
    """The policy terms that applied to this request, from the order's snapshot."""
    order = request.order
    lines = []
    if request.fully_covered:
        lines.append(
            {
                Party.BUYER: _(
                    "The store's policy covers your request in full: the seller cannot decline it, and if they "
                    "do not answer in time it is approved."
                ),
                Party.SELLER: _(
                    "Your policy covers this request in full: you cannot decline it, and if you do not answer in "
                    "time it is approved."
                ),
            }.get(
                viewer,
                _("The store's policy covers this request in full: the seller cannot decline it; silence approves it."),
            )
        )
    else:
        lines.append(
            {
                Party.BUYER: _(
                    "The store's policy covers your request only in part (an exchange, or the reason “Other”): the "
                    "seller may decline it, and you can then turn it into a dispute. If they do not answer in time, "
                    "it becomes a dispute."
                ),
                Party.SELLER: _(
                    "Your policy covers this request only in part (an exchange, or the reason “Other”): you may "
                    "approve or decline it. If you do not answer in time, it becomes a dispute."
                ),
            }.get(
                viewer,
                _(
                    "The store's policy covers this request only in part: the seller may decline it; silence turns "
                    "it into a dispute."
                ),
            )
        )
    if request.kind != RequestKind.REFUND_ONLY:
        if request.postage_payer == policy.SELLER:
            lines.append(
                _("The seller pays the return postage: it is refunded with the item, up to %(cap)s.")
                % {"cap": _money(policy.postage_cap(order), request)}
            )
        else:
            lines.append(
                _("You pay the return postage.") if viewer == Party.BUYER else _("The buyer pays the return postage.")
            )
    period = policy.return_period(order)
    if period is not None:
        lines.append(
            _("The policy gives %(days)s days to ask for a return or an exchange, until %(date)s.")
            % {"days": policy.terms(order).get("return_days"), "date": when(period[1])}
        )
    return lines


def _stage_labels(viewer: str | None) -> dict[str, str]:
    return {
        "opened": _("You asked") if viewer == Party.BUYER else _("The buyer asked"),
        "seller": _("You answer") if viewer == Party.SELLER else _("The seller answers"),
        "return": {Party.BUYER: _("You send the item back"), Party.SELLER: _("The item comes back to you")}.get(
            viewer, _("The item goes back")
        ),
        "replacement": _("You ship the replacement")
        if viewer == Party.SELLER
        else _("The seller ships the replacement"),
        "confirm": _("You confirm it arrived") if viewer == Party.BUYER else _("The buyer confirms it arrived"),
    }


def _end_label(request: ReturnRequest) -> str:
    if request.dispute_id:
        return _("Became a dispute")
    if request.state == R.DECLINED:
        return _("Declined")
    if request.state == R.CANCELLED:
        return _("Closed") if request.outcome == RequestOutcome.LAPSED else _("Cancelled")
    if request.outcome == RequestOutcome.EXCHANGED:
        return _("Exchanged")
    if request.outcome == RequestOutcome.REFUNDED:
        return _("Refunded")
    return _("Exchange done") if request.kind == RequestKind.EXCHANGE else _("Refund")


# The events that show a step really happened.
_STEP_OF = {
    "approve": "seller",
    "decline": "seller",
    "seller_silence": "seller",
    "return_received": "return",
    "return_not_confirmed": "return",
    "replacement_shipment": "replacement",
    "confirm": "confirm",
    "replacement_not_confirmed": "confirm",
}


def stages(request: ReturnRequest, viewer: str | None, events: list[RequestEvent]) -> list[Stage]:
    """asked → the seller answers → (the item goes back | the replacement ships → it arrives) → end."""
    keys = ["opened", "seller"]
    if request.kind == RequestKind.RETURN_REFUND:
        keys.append("return")
    elif request.kind == RequestKind.EXCHANGE:
        keys += ["replacement", "confirm"]
    keys.append("end")
    current = {
        R.AWAITING_SELLER: "seller",
        R.APPROVED: "replacement",
        R.AWAITING_RETURN: "return",
        R.RETURN_IN_TRANSIT: "return",
        R.REPLACEMENT_IN_TRANSIT: "confirm",
    }.get(request.state, "end")
    at = keys.index(current) if current in keys else len(keys) - 1
    happened = {"opened"} | {_STEP_OF[e.action] for e in events if e.action in _STEP_OF}
    labels = {**_stage_labels(viewer), "end": _end_label(request)}

    def status(i: int, key: str) -> str:
        if i == at:
            return "done" if key == "end" else "current"
        if i > at:
            return "upcoming"
        return "done" if key in happened else "skipped"

    return [Stage(key, labels[key], status(i, key)) for i, key in enumerate(keys)]


@dataclass
class Entry:
    at: datetime
    text: str
    notes: list[str] = field(default_factory=list)
    by_me: bool = False


def _event_text(event: RequestEvent, request: ReturnRequest, viewer: str | None, carriers: dict[str, str]) -> str:
    p, action = event.payload or {}, event.action
    mine = bool(viewer) and event.actor_party == viewer
    buyer_is_me, seller_is_me = viewer == Party.BUYER, viewer == Party.SELLER
    shipped = {
        "carrier": carriers.get(p.get("carrier", ""), p.get("carrier", "")),
        "tracking": p.get("tracking_number", ""),
    }
    dispute = {"id": p.get("dispute") or request.dispute_id or ""}
    if action == "open":
        values = {"kind": kind_asked(request.kind), "reason": reason_label(request.reason).lower()}
        if mine:
            return _("You asked for %(kind)s (%(reason)s).") % values
        return _("The buyer asked for %(kind)s (%(reason)s).") % values
    if action == "approve":
        if mine:
            return _("You approved the request.")
        return _("The seller approved your request.") if buyer_is_me else _("The seller approved the request.")
    if action == "decline":
        if mine:
            return _("You declined the request.")
        return _("The seller declined your request.") if buyer_is_me else _("The seller declined the request.")
    if action == "cancel":
        return _("You cancelled the request.") if mine else _("The buyer cancelled the request.")
    if action == "return_shipment":
        if mine:
            return _("You shipped the item back (%(carrier)s, tracking %(tracking)s).") % shipped
        return _("The buyer shipped the item back (%(carrier)s, tracking %(tracking)s).") % shipped
    if action == "return_received":
        condition = ReturnCondition(p["condition"]).label if p.get("condition") in ReturnCondition.values else ""
        if mine:
            return _("You confirmed the returned item: %(condition)s.") % {"condition": condition}
        return _("The seller confirmed the returned item: %(condition)s.") % {"condition": condition}
    if action == "replacement_shipment":
        if mine:
            return _("You shipped the replacement (%(carrier)s, tracking %(tracking)s).") % shipped
        return _("The seller shipped the replacement (%(carrier)s, tracking %(tracking)s).") % shipped
    if action == "confirm":
        return (
            _("You confirmed the replacement arrived.") if mine else _("The buyer confirmed the replacement arrived.")
        )
    if action == "to_dispute":
        if mine:
            return _("You turned the request into dispute #%(id)s.") % dispute
        return _("The buyer turned the request into dispute #%(id)s.") % dispute
    if action == "seller_silence":
        if event.to_state in (R.COMPLETED, R.DECLINED) and p.get("dispute"):
            if seller_is_me:
                return _("You did not answer in time, so the request became dispute #%(id)s.") % dispute
            return _("The seller did not answer in time, so the request became dispute #%(id)s.") % dispute
        if seller_is_me:
            return _("You did not answer in time, so the request was approved: your policy covers it in full.")
        return _("The seller did not answer in time, so the request was approved: the policy covers it in full.")
    if action == "replacement_not_shipped":
        return _("The replacement was not shipped in time, so the request became dispute #%(id)s.") % dispute
    if action == "return_not_shipped":
        if buyer_is_me:
            return _("You did not send the item back in time, so the request closed with nothing refunded.")
        return _("The buyer did not send the item back in time, so the request closed with nothing refunded.")
    if action == "return_not_confirmed":
        if seller_is_me:
            return _("You did not confirm the returned item in time, so the buyer was refunded.")
        if buyer_is_me:
            return _("The seller did not confirm the returned item in time, so you were refunded.")
        return _("The seller did not confirm the returned item in time, so the buyer was refunded.")
    if action == "replacement_not_confirmed":
        return _("The replacement was not confirmed in time, so the exchange is complete.")
    return action


def timeline(request: ReturnRequest, viewer: str | None, events: list[RequestEvent]) -> list[Entry]:
    """What happened, one sentence per step, with its note and what it refunded."""
    carriers = dict(Carrier.objects.values_list("code", "name"))
    entries = []
    for event in events:
        payload = event.payload or {}
        entry = Entry(at=event.created_at, text=_event_text(event, request, viewer, carriers))
        entry.by_me = bool(viewer) and event.actor_party == viewer
        for key in ("reason", "note"):
            if payload.get(key) and event.action != "open":
                entry.notes.append(payload[key])
        if event.action == "return_shipment" and payload.get("postage"):
            entry.notes.append(_("Postage paid: %(amount)s") % {"amount": _money(payload["postage"], request)})
        if payload.get("refunded_now"):
            amount = _money(payload["refunded_now"], request)
            entry.notes.append(
                _("%(amount)s refunded to you.") % {"amount": amount}
                if viewer == Party.BUYER
                else _("%(amount)s refunded to the buyer.") % {"amount": amount}
            )
        entries.append(entry)
    return entries


def item_lines(request: ReturnRequest) -> list[dict]:
    """The items the request covers, each with how many and what that is worth."""
    order = request.order
    return [
        {
            "title": claim.order_item.title,
            "quantity": claim.quantity,
            "amount": _money(picks_amount(order, [Pick(claim.order_item, claim.quantity)]), request),
        }
        for claim in request.claim_items.all()
    ]


def return_address(request: ReturnRequest) -> dict | None:
    """Where the buyer sends the item, from the order's policy snapshot, while it is to go back."""
    if request.kind == RequestKind.REFUND_ONLY or request.state not in (R.AWAITING_RETURN, R.RETURN_IN_TRANSIT):
        return None
    address = policy.terms(request.order).get("return_address") or {}
    return address if any(address.values()) else None


# --- the actions ---------------------------------------------------------------------------------


def _action_form(action: str, request: ReturnRequest, viewer: str | None, data=None, files=None):
    return ACTION_FORMS[action](data, files, prefix=action, return_request=request, viewer=viewer)


def _refund_on_return(request: ReturnRequest) -> str:
    postage = policy.postage_refunded(request.order, payer=request.postage_payer, postage=request.postage)
    return _money(min(request.amount, request.order.total) + postage, request)


def action_hint(request: ReturnRequest, action: str) -> str:
    """One line beside an action: what it leads to, and by when."""
    if action == "approve":
        if request.kind == RequestKind.EXCHANGE:
            return _("You then have %(days)s days to ship the replacement.") % {"days": settings.REPLACEMENT_SHIP_DAYS}
        if request.kind == RequestKind.REFUND_ONLY:
            return _("The buyer is refunded %(amount)s now, and keeps the item.") % {
                "amount": _money(request.amount, request)
            }
        return _(
            "The buyer then has %(days)s days to send the item back; once you confirm it arrived, they are "
            "refunded %(amount)s."
        ) % {"days": settings.RETURN_SHIP_DAYS, "amount": _money(request.amount, request)}
    if action == "decline":
        return _("The buyer reads your reason and can then turn the request into a dispute.")
    if action == "return_shipment":
        by = (
            _("Send it by %(date)s, or the request closes with nothing refunded.") % {"date": when(request.respond_by)}
            if request.respond_by
            else ""
        )
        if request.postage_payer == policy.SELLER:
            return by  # the form's postage field says who pays and what to add
        return " ".join(filter(None, [_("You pay the return postage under this store's policy."), by]))
    if action == "return_received":
        return _(
            "“%(ok)s” refunds the buyer %(amount)s now. Any other answer turns the request into a dispute that "
            "the dispute team looks at."
        ) % {"ok": ReturnCondition.OK.label, "amount": _refund_on_return(request)}
    if action == "replacement_shipment" and request.respond_by:
        return _("Ship it by %(date)s, or the request becomes a dispute.") % {"date": when(request.respond_by)}
    if action == "confirm":
        return _("Confirm once the replacement has arrived as expected. If it has not, open a dispute instead.")
    if action == "cancel":
        return _("Nothing is refunded. A cancelled request over an item can be made again only once.")
    if action == "to_dispute":
        return _("The dispute team steps in if you and the seller do not settle the dispute.")
    return ""


def _moves(request: ReturnRequest, party: str) -> list:
    if party not in (Party.BUYER, Party.SELLER):
        return []  # the team reads the request; the parties act on it
    return moves_for(request, Party(party))


def _action_items(request: ReturnRequest, party: str, viewer: str | None, forms_with_errors) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {PRIMARY: [], SECONDARY: [], DESTRUCTIVE: []}
    for move in _moves(request, party):
        if move.action not in ACTION_FORMS:
            continue
        groups[ACTION_WEIGHT[move.action]].append(
            {
                "action": move.action,
                "slug": slug_of(move.action),
                "label": move.label,
                "form": (forms_with_errors or {}).get(move.action) or _action_form(move.action, request, viewer),
                "confirm": move.action in CONFIRM_ACTIONS,
                "hint": action_hint(request, move.action),
                "weight": ACTION_WEIGHT[move.action],
            }
        )
    return groups


def _why_not(request: ReturnRequest, action: str, now: datetime) -> str:
    """Why this action cannot be taken now, in the workflow's words."""
    if action == "to_dispute" and request.dispute_id:
        return _("This request already became dispute #%(id)s.") % {"id": request.dispute_id}
    if action == "to_dispute" and request.state == R.DECLINED and request.dispute_by and now > request.dispute_by:
        return _("The time to turn this request into a dispute ended.")
    return _("The request is now: %(state)s. You cannot do that at this point.") % {
        "state": RequestState(request.state).label
    }


# --- the request page ----------------------------------------------------------------------------


def _page(request, return_request: ReturnRequest, *, forms_with_errors=None, status=200):
    req = request_detail(return_request.pk)
    party = party_in(request.user, req)
    viewer = viewer_of(party)
    events = list(req.events.all())
    groups = _action_items(req, party, viewer, forms_with_errors)
    shown = {item["action"] for group in groups.values() for item in group}
    # A refused action no longer offered (the request moved on, or the policy forbids it) still says why.
    refused = [form for action, form in (forms_with_errors or {}).items() if action not in shown]
    waits_for = awaiting(req)
    covered_note = ""
    if viewer == Party.SELLER and req.state == R.AWAITING_SELLER and req.fully_covered:
        covered_note = _(
            "Your policy covers this request in full, so you cannot decline it: approve it. If the item comes back "
            "not as expected, say so when you confirm it."
        )
    context = {
        "req": req,
        "order": req.order,
        "party": party,
        "viewer": viewer,
        "title": request_title(req),
        "headline": state_text(req, viewer),
        "kind_text": RequestKind(req.kind).label,
        "reason_text": reason_label(req.reason),
        "stages": stages(req, viewer, events),
        "timeline": timeline(req, viewer, events),
        "awaiting": waits_for,
        "my_turn": bool(viewer) and waits_for == viewer,
        "default_outcome": default_outcome_text(req),
        "items": item_lines(req),
        "amount": _money(req.amount, req),
        "refunded": _money(req.refunded_amount, req) if req.refunded_amount else "",
        "postage": _money(req.postage, req) if req.postage else "",
        "terms": terms_lines(req, viewer),
        "condition_rules": policy.terms(req.order).get("condition_rules", ""),
        "return_address": return_address(req),
        "primary_actions": groups[PRIMARY],
        "secondary_actions": groups[SECONDARY],
        "destructive_actions": groups[DESTRUCTIVE],
        "has_actions": any(groups.values()),
        "refused_forms": refused,
        "covered_note": covered_note,
        "dispute_by": req.dispute_by if req.state == R.DECLINED and not req.dispute_id else None,
    }
    return render(request, "disputes/request_detail.html", context, status=status)


@login_required
def request_detail_view(request, pk: int):
    """GET /disputes/requests/<pk>/: the request, for its buyer, its seller and the dispute team."""
    return _page(request, request_get_for(request.user, pk))


@dataclass(frozen=True)
class Confirmation:
    title: str
    consequences: list[str]
    button: str
    team: list[str] = field(default_factory=list)


def _tries_left_after_cancel(req: ReturnRequest) -> int:
    """How many more times the buyer may ask about this request's items once it is cancelled (the
    item that has used the most tries decides; see disputes.claims)."""
    ids = [claim.order_item_id for claim in req.claim_items.all()]
    used: dict[int, int] = {}
    others = ClaimItem.objects.filter(order_item_id__in=ids).exclude(request=req).select_related("dispute", "request")
    for claim in others:
        if claim.dispute_id:
            spent = claim.dispute.state == State.CANCELLED or claim.dispute.refunded_amount > 0
        else:
            spent = claim.request.outcome == RequestOutcome.WITHDRAWN
        if spent:
            used[claim.order_item_id] = used.get(claim.order_item_id, 0) + 1
    return TRIES_PER_ITEM - 1 - max(used.values(), default=0)


def confirmation(req: ReturnRequest, action: str, label: str) -> Confirmation:
    """What cancelling, turning the request into a dispute or confirming the returned item will do,
    said before it is done."""
    lines: list[str] = []
    team: list[str] = []
    if action == "return_received":
        lines += [
            _("If it arrived as expected, the buyer is refunded %(amount)s at once.")
            % {"amount": _refund_on_return(req)},
            _(
                "If it arrived damaged, empty or different, a dispute opens over these items and goes straight to the "
                "dispute team, who decide; the buyer's refund waits for their ruling."
            ),
        ]
        lines.append(_("This cannot be undone."))
        return Confirmation(
            title=_("%(action)s?") % {"action": label},
            consequences=lines,
            button=_("Yes, confirm how it arrived"),
            team=team,
        )
    if action == "cancel":
        lines.append(_("Your request is withdrawn: nothing is refunded by it."))
        if req.state == R.AWAITING_RETURN:
            lines.append(_("You no longer send the item back."))
        elif req.state == R.APPROVED:
            lines.append(_("The seller no longer ships a replacement."))
        if _tries_left_after_cancel(req) > 0:
            lines.append(_("You can ask about these items once more: a cancelled request can be made again only once."))
        else:
            lines.append(_("You cannot ask about these items again: a cancelled request can be made again only once."))
        button = _("Yes, cancel the request")
    else:
        lines += [
            _("Your request becomes a dispute over the same items, worth %(amount)s, and this request ends.")
            % {"amount": _money(req.amount, req)},
            _(
                "The dispute starts with everything here: what you asked for and why, the seller's answer, the "
                "photos and what happened so far."
            ),
            _("The seller has %(days)s days to answer the dispute.") % {"days": settings.SELLER_RESPONSE_DAYS},
        ]
        team = [
            _(
                "If you and the seller do not settle it, the dispute team reads both sides: the request, the "
                "seller's answer, your messages, the photos and the tracking."
            ),
            _("A team member then rules within %(days)s days, and can order a refund.")
            % {"days": settings.RULING_SLA_DAYS},
            _("Either side may appeal the ruling once, within %(days)s days.") % {"days": settings.APPEAL_DAYS},
        ]
        button = _("Yes, open a dispute")
    lines.append(_("This cannot be undone."))
    return Confirmation(title=_("%(action)s?") % {"action": label}, consequences=lines, button=button, team=team)


def _confirm_page(request, return_request: ReturnRequest, action: str, *, form=None):
    req = request_detail(return_request.pk)
    party = party_in(request.user, req)
    viewer = viewer_of(party)
    now = timezone.now()
    move = next((m for m in _moves(req, party) if m.action == action), None)
    refusal = _why_not(req, action, now) if move is None else None
    context = {
        "req": req,
        "order": req.order,
        "title": request_title(req),
        "action": action,
        "slug": slug_of(action),
        "refusal": refusal,
        "confirmation": None if refusal else confirmation(req, action, move.label),
        "destructive": ACTION_WEIGHT[action] == DESTRUCTIVE,
        "form": form or _action_form(action, req, viewer),
    }
    return render(request, "disputes/request_confirm.html", context, status=409 if refusal else 200)


SUCCESS = {
    "approve": gettext_lazy("You approved the request. The buyer has been told what happens next."),
    "decline": gettext_lazy("You declined the request. The buyer can read your reason."),
    "return_shipment": gettext_lazy("Thank you: the seller has been told your return is on its way."),
    "return_received": gettext_lazy("Done: you said how the returned item arrived."),
    "replacement_shipment": gettext_lazy("The buyer has been told the replacement is on its way."),
    "confirm": gettext_lazy("Thank you: the exchange is complete."),
    "to_dispute": gettext_lazy("Your dispute is open. The seller has been asked to answer."),
    "cancel": gettext_lazy("Your request was cancelled."),
}


def _payload(data: dict) -> dict:
    """What the form gathered, as the service's keywords (the photos are `uploads`)."""
    payload = dict(data)
    if "images" in payload:
        payload["uploads"] = payload.pop("images") or []
    if payload.get("postage") in (None, ""):
        payload.pop("postage", None)
    return payload


def _next_url(updated: ReturnRequest, action: str) -> str:
    if action == "to_dispute" and updated.dispute_id:
        return reverse("disputes:detail", args=[updated.dispute_id])
    return reverse("disputes:request", args=[updated.pk])


@login_required
def request_act_view(request, pk: int, action: str):
    """POST /disputes/requests/<pk>/<action>/: one action, as a plain form post; its errors come back
    on the request page. Cancelling and opening a dispute ask first: GET (or a post not yet
    confirmed) shows what will happen."""
    return_request = request_get_for(request.user, pk)
    action = _action_of(action)
    page_url = reverse("disputes:request", args=[return_request.pk])
    if request.method == "GET":
        if action in CONFIRM_ACTIONS:
            return _confirm_page(request, return_request, action)
        return redirect(page_url + "#actions")
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    party = party_in(request.user, return_request)
    viewer = viewer_of(party)
    form = _action_form(action, return_request, viewer, request.POST, request.FILES)
    unconfirmed = action in CONFIRM_ACTIONS and request.POST.get("confirmed") != "1"
    if unconfirmed and any(m.action == action for m in _moves(return_request, party)):
        return _confirm_page(request, return_request, action, form=form)
    uploads = "images" in form.fields
    return form_submit(
        request,
        form,
        lambda data: request_act_by(user=request.user, request=return_request, action=action, **_payload(data)),
        success=str(SUCCESS[action]),
        next_url=lambda updated: _next_url(updated, action),
        page=lambda: _page(request, return_request, forms_with_errors={action: form}, status=400),
        upload_field="images" if uploads else None,
        keeper=pending_photos if uploads else None,  # a refused return keeps its receipt for the next try
        fields_by_code={"invalid_amount": "postage", "photos_required": "images"},
        anchor=page_url + "#actions",
    )


# --- asking: the buyer's form --------------------------------------------------------------------


def general_refusal(order: Order, *, now: datetime | None = None) -> RuleViolation | None:
    """Why the buyer cannot ask for anything on this order now, whatever they would ask (the policy
    takes no returns, or not now; or every item is held or settled by another claim); None when
    they can ask for something."""
    now = now or timezone.now()
    covered = policy.covered_reasons(order)
    refusal = policy.request_refusal(
        order, kind=RequestKind.RETURN_REFUND, reason=covered[0] if covered else "", now=now
    )
    if refusal is not None:
        return refusal
    rows = forms.item_rows(order)
    if rows and not any(row.free for row in rows):
        return RuleViolation("request_exists", rows[0].why_not)
    return None


def covered_words(order: Order) -> list[str]:
    """Whether the seller may decline: what the policy covers in full, and what only in part."""
    days = settings.SELLER_RESPONSE_DAYS
    return [
        _(
            "A refund, after you return the item or without returning it where offered, is covered in full for "
            "every reason listed except “Other”: the seller cannot decline it, and if they do not answer within "
            "%(days)s days it is approved."
        )
        % {"days": days},
        _(
            "An exchange, or a request for “Other”, is covered only in part: the seller may decline it (you can "
            "then open a dispute), and if they do not answer within %(days)s days it becomes a dispute."
        )
        % {"days": days},
    ]


def postage_lines(order: Order) -> list[dict]:
    """Who pays return postage, for each reason the policy covers."""
    return [
        {"reason": reason_label(reason), "words": policy.postage_words(order, reason)}
        for reason in policy.covered_reasons(order)
    ]


@login_required
@page_write_throttle("dispute_open")
def request_open_view(request, number: str):
    """GET/POST /orders/<number>/request/new/: the buyer asks the seller for a return, an exchange
    or a refund without return, under the order's policy. A refusal comes back on the form, in the
    policy's words, with what was filled in (photos included)."""
    order = order_get_for(request.user, number)
    if roles.order_party(request.user, order) != roles.BUYER:
        refusal = RuleViolation("invalid_state", _("Only the buyer of this order can ask for a return or an exchange."))
        return render(request, "disputes/request_open.html", {"order": order, "refusal": refusal}, status=409)
    form = forms.RequestOpenForm(request.POST or None, request.FILES or None, order=order)
    terms = policy.terms(order)

    def open_page(status: int, *, refusal=None):
        context = {
            "order": order,
            "form": form,
            "refusal": refusal,
            "allows_now": policy.allows_now(order),
            "postage_lines": postage_lines(order) if terms.get("accepts_returns") else [],
            "condition_rules": terms.get("condition_rules", ""),
            "covered_words": covered_words(order) if terms.get("accepts_returns") else [],
            "answer_days": settings.SELLER_RESPONSE_DAYS,
        }
        return render(request, "disputes/request_open.html", context, status=status)

    if request.method != "POST":
        return open_page(200, refusal=general_refusal(order))
    return form_submit(
        request,
        form,
        lambda data: request_open(
            buyer=request.user,
            order=order,
            kind=data["kind"],
            reason=data["reason"],
            items=data.get("items"),
            note=data["note"],
            variant=data["variant"],
            uploads=data["images"],
        ),
        success=_("Your request was sent to %(store)s. They have %(days)s days to answer.")
        % {"store": order.store.name, "days": settings.SELLER_RESPONSE_DAYS},
        next_url=lambda created: reverse("disputes:request", args=[created.pk]),
        page=lambda: open_page(400),
        upload_field="images",
        keeper=pending_photos,  # a refused request keeps its photos for the next try
        anchor=request.path + "#request-form",
        # The policy's answer for what was chosen, with any other error, at once.
        checks=[
            lambda data: [
                refusal
                for refusal in [
                    policy.request_refusal(order, kind=data["kind"], reason=data["reason"], now=timezone.now())
                ]
                if refusal is not None
            ]
        ],
        fields_by_code={
            "reason_not_covered": "reason",
            "refund_only_not_offered": "kind",
            "request_exists": "items",
            "reopen_limit": "items",
            "photos_required": "images",
        },
    )


# --- for the order page and the seller's list ----------------------------------------------------


# What waits for the seller: an answer, a replacement to ship, a return to confirm.
SELLER_WAITING = (R.AWAITING_SELLER, R.APPROVED, R.RETURN_IN_TRANSIT)


def seller_rows(requests) -> list[dict]:
    """Each request waiting for the seller, as the store's list shows it: what, from whom, the
    clock and what happens when it runs out."""
    rows = []
    for req in requests:
        rows.append(
            {
                "req": req,
                "title": request_title(req),
                "url": reverse("disputes:request", args=[req.pk]),
                "state": state_text(req, Party.SELLER),
                "kind": RequestKind(req.kind).label,
                "reason": reason_label(req.reason),
                "items": item_lines(req),
                "amount": _money(req.amount, req),
                "respond_by": req.respond_by,
                "default_outcome": default_outcome_text(req),
            }
        )
    return rows
