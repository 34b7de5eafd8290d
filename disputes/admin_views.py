"""The dispute team's screens in admin: one screen per dispute, and the dashboard."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles
from accounts.roles import team_members
from core.errors import RuleViolation
from disputes.api import dispute_detail
from disputes.models import Dispute, Outcome, PendingRuling, State
from disputes.review import evidence_request_create, ruling_approve, ruling_submit
from disputes.selectors import default_outcome
from disputes.services import dispute_act_by
from messaging.forms import MessageForm
from messaging.models import Message
from messaging.services import message_post
from orders.models import Order
from sellers.models import Store

OPEN = [State.ESCALATED, State.UNDER_REVIEW]


class RulingForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[*Outcome.choices[:2], ("return_and_refund", gettext_lazy("Return and refund")), Outcome.choices[2]],
    )
    refund_amount = forms.DecimalField(
        label=gettext_lazy("Refund amount"), required=False, decimal_places=2, max_digits=12
    )
    note = forms.CharField(label=gettext_lazy("Note both parties see"), widget=forms.Textarea(attrs={"rows": 3}))


class EvidenceAskForm(forms.Form):
    party = forms.ChoiceField(
        label=gettext_lazy("Ask"),
        choices=[("buyer", gettext_lazy("the buyer")), ("seller", gettext_lazy("the seller"))],
    )
    note = forms.CharField(label=gettext_lazy("What is needed"), widget=forms.Textarea(attrs={"rows": 2}))


def _team_only(request):
    if not roles.is_dispute_team(request.user):
        raise PermissionDenied


def review_view(request, admin_site, pk: int):
    _team_only(request)
    dispute = get_object_or_404(Dispute, pk=pk)
    ruling_form = RulingForm(prefix="rule")
    ask_form = EvidenceAskForm(prefix="ask")
    message_form = MessageForm(prefix="msg")
    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step == "rule":
                ruling_form = RulingForm(request.POST, prefix="rule")
                if ruling_form.is_valid():
                    result, _subject = ruling_submit(staff=request.user, dispute=dispute, **ruling_form.cleaned_data)
                    messages.success(
                        request,
                        _("Ruled.")
                        if result == "ruled"
                        else _("The ruling waits for a second team member's approval."),
                    )
                    return redirect(request.path)
            elif step == "approve":
                pending = get_object_or_404(PendingRuling, pk=request.POST.get("pending"), dispute=dispute)
                ruling_approve(staff=request.user, pending=pending)
                messages.success(request, _("Approved: the ruling took effect."))
                return redirect(request.path)
            elif step == "ask":
                ask_form = EvidenceAskForm(request.POST, prefix="ask")
                if ask_form.is_valid():
                    evidence_request_create(staff=request.user, dispute=dispute, **ask_form.cleaned_data)
                    messages.success(request, _("Evidence requested."))
                    return redirect(request.path)
            elif step == "message":
                message_form = MessageForm(request.POST, request.FILES, prefix="msg")
                if message_form.is_valid():
                    message_post(author=request.user, order=dispute.order, body=message_form.cleaned_data["body"],
                                 uploads=request.FILES.getlist("msg-images"))  # fmt: skip
                    messages.success(request, _("Message sent to both parties."))
                    return redirect(request.path)
            elif step in ("claim", "release", "take_over"):
                dispute_act_by(user=request.user, dispute=dispute, action=step)
                messages.success(request, _("Done."))
                return redirect(request.path)
        except RuleViolation as refusal:
            messages.error(request, refusal.detail)
            if step == "rule":
                ruling_form.add_error(None, refusal.detail)
    dispute = dispute_detail(dispute.pk)
    context = {
        **admin_site.each_context(request),
        "title": _("Dispute #%(id)s on order %(n)s") % {"id": dispute.pk, "n": dispute.order.number},
        "dispute": dispute,
        "order": dispute.order,
        "policy": dispute.order.return_policy_snapshot,
        "default_outcome": default_outcome(dispute),
        "thread_messages": Message.objects.filter(thread__order=dispute.order)
        .select_related("author")
        .prefetch_related("photos"),
        "ruling_form": ruling_form,
        "ask_form": ask_form,
        "evidence_days": settings.EVIDENCE_REQUEST_DAYS,
        "message_form": message_form,
        "pending": dispute.pending_rulings.filter(status=PendingRuling.Status.PENDING)
        .select_related("proposed_by")
        .first(),
        "evidence_requests": dispute.evidence_requests.all(),
        "can_rule": dispute.state in OPEN,
        "can_take_over": dispute.set_aside_at is not None and dispute.state not in OPEN and dispute.is_live,
        "threshold": _threshold(),
        "now": timezone.now(),
        "opts": Dispute._meta,
    }
    return render(request, "admin/disputes/review.html", context)


def _threshold():
    return settings.RULING_APPROVAL_THRESHOLD


def dashboard_view(request, admin_site):
    _team_only(request)
    now = timezone.now()
    by_state = dict(Dispute.objects.values_list("state").annotate(n=Count("id")).order_by())
    states = [(State(s).label, by_state.get(s, 0)) for s in State]
    queue = Dispute.objects.filter(state__in=OPEN)
    oldest = queue.aggregate(oldest=Min("escalated_at"))["oldest"]
    load = (
        team_members()
        .annotate(open_work=Count("assigned_disputes", filter=Q(assigned_disputes__state__in=OPEN)))
        .order_by("-open_work", "username")
    )
    stores = (
        Store.objects.annotate(
            orders_count=Count("orders", distinct=True),
            disputes_count=Count("orders__disputes", distinct=True),
            rulings=Count("orders__disputes", filter=Q(orders__disputes__cause="ruling"), distinct=True),
        )
        .filter(orders_count__gt=0)
        .order_by("-disputes_count")[:50]
    )
    rows = [
        {"store": s, "orders": s.orders_count, "disputes": s.disputes_count, "rulings": s.rulings,
         "rate": round(100 * s.disputes_count / s.orders_count, 1) if s.orders_count else 0}
        for s in stores
    ]  # fmt: skip
    context = {
        **admin_site.each_context(request),
        "title": _("Dispute dashboard"),
        "states": states,
        "max_state": max([n for _label, n in states] or [1]) or 1,
        "queue_size": queue.count(),
        "unassigned": queue.filter(assignee__isnull=True).count(),
        "needs_person": Dispute.objects.filter(set_aside_at__isnull=False).count(),
        "breached": queue.filter(respond_by__lte=now).count(),
        "due_today": queue.filter(respond_by__gt=now, respond_by__lte=now + timedelta(days=1)).count(),
        "oldest_age": now - oldest if oldest else None,
        "load": load,
        "max_load": max([m.open_work for m in load] or [1]) or 1,
        "stores": rows,
        "orders_total": Order.objects.count(),
    }
    return render(request, "admin/disputes/dashboard.html", context)
