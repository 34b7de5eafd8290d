from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Prefetch, Q, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import roles
from config.errors import RuleViolation
from config.paging import paginate
from config.throttles import page_write_throttle
from disputes import forms
from disputes.api import dispute_detail
from disputes.models import State
from disputes.selectors import awaiting, default_outcome, dispute_get_for, disputes_visible_to, refund_position
from disputes.services import dispute_action, dispute_open, evidence_add, open_refusal, party_of
from disputes.workflow import allowed_actions
from messaging.forms import MessageForm
from messaging.models import Message, Photo
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
    if order.buyer_id != request.user.pk:
        raise Http404
    refusal = open_refusal(order)
    form = forms.DisputeOpenForm(request.POST or None, request.FILES or None, order=order)
    if request.method == "POST" and refusal is None and form.is_valid():
        data = form.cleaned_data
        try:
            dispute = dispute_open(
                buyer=request.user,
                order=order,
                reason=data["reason"],
                item_received=data["item_received"],
                refund_type=data["refund_type"],
                refund_amount=data.get("refund_amount"),
                return_item=data["return_item"],
                description=data["description"],
                uploads=request.FILES.getlist("images"),
            )
        except RuleViolation as problem:
            field = {
                "photos_required": "images",
                "invalid_amount": "refund_amount",
                "return_not_possible": "return_item",
            }.get(problem.code)
            if problem.status in (413, 415):
                field = "images"
            form.add_error(field, problem.detail)
        else:
            messages.success(request, _("Your dispute is open. The seller has been asked to answer."))
            return redirect("disputes:detail", pk=dispute.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "disputes/open.html", {"order": order, "form": form, "refusal": refusal}, status=status)


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
    thread_messages = (
        Message.objects.filter(thread__order=dispute.order)
        .select_related("author")
        .prefetch_related(Prefetch("photos", queryset=Photo.objects.order_by("position")))
    )
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
        "thread_messages": thread_messages,
        "message_form": MessageForm(),
        "can_post": party in ("buyer", "seller")
        or (party == "team" and dispute.state in ("escalated", "under_review")),
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
    if form.is_valid():
        payload = dict(form.cleaned_data)
        try:
            dispute_action(user=request.user, dispute=dispute, action=action, **payload)
        except RuleViolation as refusal:
            form.add_error(None, refusal.detail)
        else:
            messages.success(request, _("Done. The dispute has been updated."))
            return redirect("disputes:detail", pk=dispute.pk)
    return _page(request, dispute, forms_with_errors={action: form}, status=400)


@login_required
@require_POST
@page_write_throttle("evidence")
def evidence_view(request, pk: int):
    dispute = dispute_get_for(request.user, pk)
    form = forms.EvidenceForm(request.POST, request.FILES, prefix="evidence")
    if form.is_valid():
        try:
            evidence_add(
                author=request.user,
                dispute=dispute,
                note=form.cleaned_data["note"],
                uploads=request.FILES.getlist("evidence-images"),
            )
        except RuleViolation as refusal:
            form.add_error("images" if refusal.status in (413, 415) else None, refusal.detail)
        else:
            messages.success(request, _("Evidence added."))
            return redirect(reverse("disputes:detail", args=[dispute.pk]) + "#evidence")
    return _page(request, dispute, forms_with_errors={"evidence": form}, status=400)


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
