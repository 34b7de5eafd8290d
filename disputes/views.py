from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import roles
from core.errors import RuleViolation
from core.pages import form_submit
from core.paging import paginate
from core.throttles import page_write_throttle
from disputes import forms, guide, page_cache
from disputes.api import dispute_detail
from disputes.cases import public_reason
from disputes.models import Party, State
from disputes.more_time_pages import more_time_context
from disputes.selectors import awaiting, default_outcome, dispute_get_for, disputes_visible_to, refund_position
from disputes.services import (
    dispute_act_by,
    dispute_open,
    dispute_open_refusals,
    evidence_add,
    free_items,
    open_refusal,
    party_of,
    refuse_unless_buyer,
)
from disputes.states import FINAL, LIVE_STATES
from disputes.workflow import allowed_actions
from messaging.forms import MessageForm
from messaging.photos import pending_photos
from messaging.selectors import thread_messages
from messaging.services import team_may_post, thread_mark_read
from orders.selectors import order_get_for

# Each action a party can take on the dispute page: its form and the service keyword it feeds.
ACTION_FORMS = {
    "accept": forms.NoteForm,
    "reject": forms.RejectForm,
    "propose": forms.ProposalForm,
    "escalate": forms.NoteForm,
    "cancel": forms.NoteForm,
    "return_shipment": forms.ReturnShipmentForm,
    "return_received": forms.ReturnReceivedForm,
    "appeal": forms.NoteForm,
}


def _action_form(action: str, dispute, viewer, data=None):
    """An action's form for this reader: the amount with its currency and what is left to refund,
    and under a note who will read it."""
    return ACTION_FORMS[action](data, prefix=action, dispute=dispute, viewer=viewer)


@login_required
@page_write_throttle("dispute_open")
def dispute_open_view(request, number: str):
    order = order_get_for(request.user, number)
    try:
        refuse_unless_buyer(request.user, order)  # the order's seller, the team: 409 at every door
    except RuleViolation as not_the_buyer:
        return render(request, "disputes/open.html", {"order": order, "refusal": not_the_buyer}, status=409)
    # Per item: the page refuses only when no item is left to dispute (or the window is shut).
    refusal = open_refusal(order, picks=free_items(order) or None)
    form = forms.DisputeOpenForm(request.POST or None, request.FILES or None, order=order)

    def open_page(status: int):
        context = {
            "order": order,
            "form": form,
            "refusal": refusal,
            "answer_days": settings.SELLER_RESPONSE_DAYS,
            # Nothing said to the seller yet: suggest a message first (a suggestion; the form still sends).
            "suggest_message": refusal is None and not thread_messages(order).exists(),
        }
        return render(request, "disputes/open.html", context, status=status)

    if request.method != "POST":
        return open_page(200)
    if refusal is not None:  # the page says why no dispute can be opened; nothing is sent on
        return open_page(400)
    return form_submit(
        request,
        form,
        lambda data: dispute_open(
            buyer=request.user,
            order=order,
            reason=data["reason"],
            item_received=data["item_received"],
            refund_type=data["refund_type"],
            refund_amount=data.get("refund_amount"),
            return_item=data["return_item"],
            description=data["description"],
            why_unresolved=data["why_unresolved"],
            uploads=data["images"],
            items=data.get("items"),
        ),
        success=_("Your dispute is open. The seller has been asked to answer."),
        next_url=lambda dispute: reverse("disputes:detail", args=[dispute.pk]),
        page=lambda: open_page(400),
        upload_field="images",
        keeper=pending_photos,  # a refused dispute keeps its photos for the next try
        anchor=request.path + "#dispute-form",
        # Every rule the service applies before it acts, answered at once rather than one per try.
        checks=[
            lambda data: dispute_open_refusals(
                order=order,
                reason=data["reason"],
                item_received=data["item_received"],
                refund_type=data["refund_type"],
                refund_amount=data.get("refund_amount"),
                return_item=data["return_item"],
                uploads=data.get("images"),
                items=data.get("items"),
            )
        ],
        fields_by_code={
            "photos_required": "images",
            "dispute_exists": "items",
            "reopen_limit": "items",
            "invalid_amount": "refund_amount",
            "return_not_possible": "return_item",
        },
    )


def _action_items(request, dispute, party, viewer, *, offer, forms_with_errors) -> dict[str, list[dict]]:
    """The actions this party may take now, by weight: the main moves, the other options, withdrawing.
    Irreversible ones are a button to their confirmation screen; the others open their form."""
    now = timezone.now()
    groups: dict[str, list[dict]] = {guide.PRIMARY: [], guide.SECONDARY: [], guide.DESTRUCTIVE: []}
    for transition in allowed_actions(dispute, party, actor=request.user, now=now):
        form_class = ACTION_FORMS.get(transition.action)
        if form_class is None:
            continue  # team actions live in admin
        form = (forms_with_errors or {}).get(transition.action)
        if transition.action == "accept" and viewer == "buyer" and offer is not None and form is None:
            continue  # "Accept this offer" sits in the offer's own box
        groups[guide.ACTION_WEIGHT[transition.action]].append(
            {
                "action": transition.action,
                "label": transition.label,
                "form": form or _action_form(transition.action, dispute, viewer),
                "confirm": transition.action in guide.CONFIRM_ACTIONS,
                "hint": guide.action_hint(dispute, transition.action, viewer, now),
                "weight": guide.ACTION_WEIGHT[transition.action],
            }
        )
    return groups


def _page(request, dispute, *, forms_with_errors=None, status=200, loaded=False):
    if not loaded:
        dispute = dispute_detail(dispute.pk)
    party = party_of(request.user, dispute)
    if party in (Party.BUYER, Party.SELLER) and request.method == "GET":
        thread_mark_read(user=request.user, order=dispute.order)  # the page shows the thread: reading it here reads it
    viewer = guide.viewer_of(party)
    events = list(dispute.events.all())
    offer = guide.offer_on_the_table(dispute)
    groups = _action_items(request, dispute, party, viewer, offer=offer, forms_with_errors=forms_with_errors)
    shown = {item["action"] for group in groups.values() for item in group}
    # A refused action that is no longer offered at all (the dispute moved on) still says why.
    refused = [
        form for action, form in (forms_with_errors or {}).items() if action not in shown and action in ACTION_FORMS
    ]
    conversation = thread_messages(dispute.order)
    current = list(dispute.proposals.all())
    money = refund_position(dispute)
    refunded = sum(r.amount for r in dispute.refunds.all())
    context = {
        "dispute": dispute,
        "order": dispute.order,
        "party": party,
        "viewer": viewer,
        "headline": guide.headline(dispute, viewer),
        "stages": guide.stages(dispute, viewer, events),
        "timeline": guide.timeline(dispute, viewer, events),
        "awaiting": awaiting(dispute),
        "my_turn": awaiting(dispute) == party,
        "default_outcome": default_outcome(dispute, viewer=viewer),
        "cause_text": guide.cause_text(dispute, viewer) if dispute.state == State.RESOLVED else "",
        "offer": offer,
        "offer_acceptable": viewer == "buyer" and any(t.action == "accept" for t in allowed_actions(dispute, party)),
        # The latest word, unless it is the offer already shown in its own box.
        "current_proposal": current[-1] if current and (offer is None or current[-1].pk != offer.pk) else None,
        "primary_actions": groups[guide.PRIMARY],
        "secondary_actions": groups[guide.SECONDARY],
        "destructive_actions": groups[guide.DESTRUCTIVE],
        "has_actions": any(groups.values()),
        "refused_forms": refused,
        "evidence_form": (forms_with_errors or {}).get("evidence") or forms.EvidenceForm(prefix="evidence"),
        "thread_messages": conversation,
        "message_form": MessageForm(),
        # The team posts once the order's dispute is with them: messaging's one rule (team_may_post).
        "can_post": party in ("buyer", "seller") or (party == "team" and team_may_post(dispute.order)),
        "refunded": refunded,
        "refunded_text": guide.refunded_text(refunded, dispute, viewer) if refunded else "",
        "money": money,
        "money_text": guide.money_text(money, viewer),
        # A linked case: its public reason only, never its number, its other disputes or their parties.
        "case_reason": public_reason(dispute.case) if dispute.case_id else "",
        "evidence_asked": dispute.evidence_requests.filter(
            party=party, answered_at__isnull=True, expired_at__isnull=True
        ),
        **more_time_context(dispute, party),
    }
    if (forms_with_errors or {}).get("more_time") is not None and context["more_time_form"] is not None:
        context["more_time_form"] = forms_with_errors["more_time"]
    return render(request, "disputes/detail.html", context, status=status)


def _confirm_page(request, dispute, action: str, *, form=None):
    """The screen an irreversible action asks on: what will happen, the note, yes or go back.
    A plain page, so it works without JavaScript."""
    dispute = dispute_detail(dispute.pk)
    party = party_of(request.user, dispute)
    viewer = guide.viewer_of(party)
    now = timezone.now()
    refusal = guide.action_refusal(dispute, party, action, actor=request.user, now=now)
    label = next((t.label for t in allowed_actions(dispute, party, now=now) if t.action == action), "")
    context = {
        "dispute": dispute,
        "order": dispute.order,
        "action": action,
        "refusal": refusal,
        "confirmation": None if refusal else guide.confirmation(dispute, action, viewer, label, now),
        "destructive": guide.ACTION_WEIGHT.get(action) == guide.DESTRUCTIVE,
        "form": form or _action_form(action, dispute, viewer),
    }
    return render(request, "disputes/confirm.html", context, status=409 if refusal else 200)


@login_required
def dispute_detail_view(request, pk: int):
    def render():
        try:
            dispute = dispute_detail(int(pk), visible_to=request.user)  # the access check and the rows at once
        except (ValueError, OverflowError):
            raise Http404 from None
        return _page(request, dispute, loaded=True)

    return page_cache.party_page(request, "dispute", page_cache.BY_DISPUTE, int(pk), render) or render()


@login_required
@require_GET
def dispute_confirm_view(request, pk: int, action: str):
    """GET /disputes/<pk>/<action>/confirm/: what accepting, cancelling, escalating, appealing or
    confirming a returned item will do, before it is done."""
    dispute = dispute_get_for(request.user, pk)
    if action not in guide.CONFIRM_ACTIONS:
        raise Http404
    return _confirm_page(request, dispute, action)


@login_required
@require_POST
def dispute_act_view(request, pk: int, action: str):
    dispute = dispute_get_for(request.user, pk)
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404
    try:
        party = party_of(request.user, dispute)
    except RuleViolation:
        party = None  # the service says why
    form = _action_form(action, dispute, guide.viewer_of(party), request.POST)
    if action == "return_shipment":
        form = forms.ReturnShipmentForm(request.POST, request.FILES, prefix=action, dispute=dispute)
    # Irreversible: a post that has not been confirmed only shows what it would do. One the rules
    # refuse anyway goes on to the service, which says why.
    unconfirmed = action in guide.CONFIRM_ACTIONS and request.POST.get("confirmed") != "1"
    if unconfirmed and party is not None and guide.action_refusal(dispute, party, action, actor=request.user) is None:
        return _confirm_page(request, dispute, action, form=form)
    return form_submit(
        request,
        form,
        (lambda data: _ship_return(request, dispute, data))
        if action == "return_shipment"
        else (lambda data: dispute_act_by(user=request.user, dispute=dispute, action=action, **data)),
        success=_("Done. The dispute has been updated."),
        next_url=reverse("disputes:detail", args=[dispute.pk]),
        page=lambda: _page(request, dispute, forms_with_errors={action: form}, status=400),
        fields_by_code={
            "invalid_amount": "postage" if action == "return_shipment" else "refund_amount",
            "return_not_possible": "return_item",
            "photos_required": "images",
        },
        upload_field="images" if action == "return_shipment" else None,
        anchor=reverse("disputes:detail", args=[dispute.pk]) + "#actions",
    )


def _ship_return(request, dispute, data: dict):
    """The buyer's return tracking, with the postage and its receipt when the seller pays it."""
    receipt = data.pop("images", None) or []
    updated = dispute_act_by(user=request.user, dispute=dispute, action="return_shipment", has_receipt=bool(receipt),
                             **data)  # fmt: skip
    if receipt:
        evidence_add(author=request.user, dispute=updated, note=_("Return postage receipt"), uploads=receipt)
    return updated


@login_required
@require_POST
@page_write_throttle("evidence")
def evidence_view(request, pk: int):
    dispute = dispute_get_for(request.user, pk)
    form = forms.EvidenceForm(request.POST, request.FILES, prefix="evidence")
    return form_submit(
        request,
        form,
        lambda data: evidence_add(author=request.user, dispute=dispute, note=data["note"], uploads=data["images"]),
        success=_("Evidence added."),
        next_url=reverse("disputes:detail", args=[dispute.pk]) + "#evidence",
        page=lambda: _page(request, dispute, forms_with_errors={"evidence": form}, status=400),
        upload_field="images",
        keeper=pending_photos,  # refused evidence keeps its photos for the next try
        anchor=reverse("disputes:detail", args=[dispute.pk]) + "#evidence",
    )


# The filters over the disputes list (?show=...), as on the order lists.
LIST_FILTERS = {"waiting": _lazy("Waiting for me"), "open": _lazy("Open disputes"), "closed": _lazy("Closed")}


@login_required
def dispute_list_view(request):
    """My disputes: those waiting for me first, soonest deadline first; ?show= narrows it to those
    waiting for me, the open ones or the closed ones."""
    user = request.user
    disputes = disputes_visible_to(user).prefetch_related("order__items")
    if roles.is_dispute_team(user) and not roles.is_seller(user):
        disputes = disputes.filter(Q(order__buyer=user) | Q(order__store__owner=user))
    mine_to_answer = (
        Q(state=State.AWAITING_SELLER, order__store__owner=user)
        | Q(state=State.RETURN_IN_TRANSIT, order__store__owner=user)
        | Q(state__in=[State.AWAITING_BUYER, State.AWAITING_RETURN], order__buyer=user)
    )
    show = request.GET.get("show", "")
    if show == "waiting":
        disputes = disputes.filter(mine_to_answer)
    elif show == "open":
        disputes = disputes.filter(state__in=LIVE_STATES)
    elif show == "closed":
        disputes = disputes.filter(state__in=FINAL)
    else:
        show = ""
    disputes = disputes.annotate(
        needs_me=Case(When(mine_to_answer, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("needs_me", F("respond_by").asc(nulls_last=True), "-opened_at")  # closed ones (no deadline) last
    page = paginate(request, disputes)
    for dispute in page:
        viewer = roles.BUYER if roles.is_order_buyer(user, dispute.order) else roles.SELLER
        dispute.state_text = guide.short_state(dispute, viewer)
        items = list(dispute.order.items.all())
        dispute.first_item, dispute.more_items = (items[0].title if items else ""), max(len(items) - 1, 0)
    filters = [{"key": "", "label": _("All disputes"), "current": not show}] + [
        {"key": key, "label": label, "current": key == show} for key, label in LIST_FILTERS.items()
    ]
    return render(request, "disputes/list.html", {"disputes": page, "page": page, "filters": filters, "show": show})
