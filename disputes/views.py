from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import roles
from core.errors import RuleViolation
from core.pages import form_submit
from core.paging import paginate
from core.throttles import page_write_throttle
from disputes import forms
from disputes.api import dispute_detail
from disputes.models import State
from disputes.selectors import awaiting, default_outcome, dispute_get_for, disputes_visible_to, refund_position
from disputes.services import (
    dispute_act_by,
    dispute_open,
    evidence_add,
    open_refusal,
    party_of,
    refuse_unless_buyer,
)
from disputes.workflow import allowed_actions
from messaging.forms import MessageForm
from messaging.selectors import thread_messages
from messaging.services import team_may_post
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


@login_required
@page_write_throttle("dispute_open")
def dispute_open_view(request, number: str):
    order = order_get_for(request.user, number)
    try:
        refuse_unless_buyer(request.user, order)  # the order's seller, the team: 409 at every door
    except RuleViolation as not_the_buyer:
        return render(request, "disputes/open.html", {"order": order, "refusal": not_the_buyer}, status=409)
    refusal = open_refusal(order)
    form = forms.DisputeOpenForm(request.POST or None, request.FILES or None, order=order)

    def open_page(status: int):
        context = {"order": order, "form": form, "refusal": refusal, "answer_days": settings.SELLER_RESPONSE_DAYS}
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
            uploads=request.FILES.getlist("images"),
        ),
        success=_("Your dispute is open. The seller has been asked to answer."),
        next_url=lambda dispute: reverse("disputes:detail", args=[dispute.pk]),
        page=lambda: open_page(400),
        upload_field="images",
        fields_by_code={
            "photos_required": "images",
            "invalid_amount": "refund_amount",
            "return_not_possible": "return_item",
        },
    )


def _page(request, dispute, *, forms_with_errors=None, status=200):
    dispute = dispute_detail(dispute.pk)
    party = party_of(request.user, dispute)
    actions = allowed_actions(dispute, party, actor=request.user)
    action_forms = []
    for transition in actions:
        form_class = ACTION_FORMS.get(transition.action)
        if form_class is None:
            continue  # team actions live in admin
        form = (forms_with_errors or {}).get(transition.action) or form_class(prefix=transition.action)
        action_forms.append({"action": transition.action, "label": transition.label, "form": form})
    conversation = thread_messages(dispute.order)
    current = dispute.proposals.all()
    context = {
        "dispute": dispute,
        "order": dispute.order,
        "party": party,
        "awaiting": awaiting(dispute),
        "my_turn": awaiting(dispute) == party,
        "default_outcome": default_outcome(dispute),
        "current_proposal": list(current)[-1] if current else None,
        "action_forms": action_forms,
        "evidence_form": (forms_with_errors or {}).get("evidence") or forms.EvidenceForm(prefix="evidence"),
        "thread_messages": conversation,
        "message_form": MessageForm(),
        # The team posts once the order's dispute is with them: messaging's one rule (team_may_post).
        "can_post": party in ("buyer", "seller") or (party == "team" and team_may_post(dispute.order)),
        "refunded": sum(r.amount for r in dispute.refunds.all()),
        "money": refund_position(dispute),
        "evidence_asked": dispute.evidence_requests.filter(
            party=party, answered_at__isnull=True, expired_at__isnull=True
        ),
    }
    return render(request, "disputes/detail.html", context, status=status)


@login_required
def dispute_detail_view(request, pk: int):
    return _page(request, dispute_get_for(request.user, pk))


@login_required
@require_POST
def dispute_act_view(request, pk: int, action: str):
    dispute = dispute_get_for(request.user, pk)
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404
    form = form_class(request.POST, prefix=action)
    return form_submit(
        request,
        form,
        lambda data: dispute_act_by(user=request.user, dispute=dispute, action=action, **data),
        success=_("Done. The dispute has been updated."),
        next_url=reverse("disputes:detail", args=[dispute.pk]),
        page=lambda: _page(request, dispute, forms_with_errors={action: form}, status=400),
    )


@login_required
@require_POST
@page_write_throttle("evidence")
def evidence_view(request, pk: int):
    dispute = dispute_get_for(request.user, pk)
    form = forms.EvidenceForm(request.POST, request.FILES, prefix="evidence")
    return form_submit(
        request,
        form,
        lambda data: evidence_add(
            author=request.user, dispute=dispute, note=data["note"], uploads=request.FILES.getlist("evidence-images")
        ),
        success=_("Evidence added."),
        next_url=reverse("disputes:detail", args=[dispute.pk]) + "#evidence",
        page=lambda: _page(request, dispute, forms_with_errors={"evidence": form}, status=400),
        upload_field="images",
    )


@login_required
def dispute_list_view(request):
    """My disputes: those waiting for me first, soonest deadline first."""
    user = request.user
    disputes = disputes_visible_to(user)
    if roles.is_dispute_team(user) and not roles.is_seller(user):
        disputes = disputes.filter(Q(order__buyer=user) | Q(order__store__owner=user))
    mine_to_answer = (
        Q(state=State.AWAITING_SELLER, order__store__owner=user)
        | Q(state=State.RETURN_IN_TRANSIT, order__store__owner=user)
        | Q(state__in=[State.AWAITING_BUYER, State.AWAITING_RETURN], order__buyer=user)
    )
    disputes = disputes.annotate(
        needs_me=Case(When(mine_to_answer, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("needs_me", "respond_by", "-opened_at")
    page = paginate(request, disputes)
    return render(request, "disputes/list.html", {"disputes": page, "page": page})
