"""The dispute team's screens in admin: one screen per dispute, and the dashboard."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator
from django.db.models import Count, Min, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts import roles
from accounts.roles import team_members
from core.errors import RuleViolation
from core.money import DECIMAL_PLACES, MAX_DIGITS, format_money
from disputes import cases
from disputes.admin_queue import MOVES, act, next_for
from disputes.api import dispute_detail
from disputes.forms import CaseCreateForm, CaseJoinForm
from disputes.models import Case, Dispute, Outcome, Party, PauseReason, PendingRuling, State
from disputes.pauses import dispute_pause, dispute_resume
from disputes.review import evidence_request_create, ruling_approve, ruling_submit
from disputes.routing import is_available_reviewer
from disputes.selectors import default_outcome
from disputes.terms import approval_threshold
from disputes.workflow import allowed_actions
from messaging.forms import MessageForm
from messaging.models import Message
from messaging.services import message_post
from orders.models import Order
from sellers.models import Store

OPEN = [State.ESCALATED, State.UNDER_REVIEW]


class RulingForm(forms.Form):
    # No outcome chosen in advance: the member decides each one.
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[
            ("", gettext_lazy("Choose an outcome…")),
            *Outcome.choices[:2],
            ("return_and_refund", gettext_lazy("Return and refund")),
            Outcome.choices[2],
        ],
        error_messages={"required": gettext_lazy("Choose an outcome.")},
    )
    # Up to the columns' three decimals; the ruling then holds it to the order's currency (JPY 0, USD 2).
    refund_amount = forms.DecimalField(
        label=gettext_lazy("Refund amount"), required=False, decimal_places=DECIMAL_PLACES, max_digits=MAX_DIGITS
    )
    note = forms.CharField(label=gettext_lazy("Note both parties see"), widget=forms.Textarea(attrs={"rows": 3}))


class EvidenceAskForm(forms.Form):
    party = forms.ChoiceField(
        label=gettext_lazy("Ask"),
        choices=[("buyer", gettext_lazy("the buyer")), ("seller", gettext_lazy("the seller"))],
    )
    note = forms.CharField(label=gettext_lazy("What is needed"), widget=forms.Textarea(attrs={"rows": 2}))


class PauseForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Why"), choices=PauseReason.choices)
    days = forms.IntegerField(label=gettext_lazy("For how many days"), min_value=1)
    note = forms.CharField(
        label=gettext_lazy("Note on the pause (both parties see it)"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].validators.append(MaxValueValidator(settings.PAUSE_MAX_DAYS))
        self.fields["days"].widget.attrs["max"] = settings.PAUSE_MAX_DAYS
        self.fields["days"].help_text = _("At most %(n)s days.") % {"n": settings.PAUSE_MAX_DAYS}


def _team_only(request):
    if not roles.is_dispute_team(request.user):
        raise PermissionDenied


def with_why(suggestions: list[cases.Suggestion]) -> list[cases.Suggestion]:
    """Each suggested dispute with why it looks like sharing the cause, in words (`why_text`)."""
    for suggestion in suggestions:
        suggestion.why_text = "; ".join(str(cases.WHY[code]) for code in suggestion.why)
    return suggestions


def review_view(request, admin_site, pk: int):
    _team_only(request)
    dispute = get_object_or_404(Dispute.objects.select_related("order"), pk=pk)  # the order: for the suggestions
    # A case is suggested only for a dispute that may join one (live, never ruled, in none).
    may_join = dispute.case_id is None and dispute.is_live and dispute.ruled_at is None
    suggestions = with_why(cases.case_suggestions(dispute=dispute)) if may_join else []
    case_form = CaseCreateForm(prefix="case", suggestions=suggestions)
    join_form = CaseJoinForm(prefix="join")
    ruling_form = RulingForm(prefix="rule")
    ask_form = EvidenceAskForm(prefix="ask")
    message_form = MessageForm(prefix="msg")
    pause_form, confirming = PauseForm(prefix="pause"), ""
    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step in ("pause", "resume"):
                # A plain post that first asks to confirm: the confirmation posts again with confirmed=1.
                if step == "pause":
                    pause_form = PauseForm(request.POST, prefix="pause")
                if step == "resume" or pause_form.is_valid():
                    if request.POST.get("confirmed") != "1":
                        confirming = step
                    elif step == "pause":
                        paused = dispute_pause(staff=request.user, dispute=dispute, **pause_form.cleaned_data)
                        messages.success(request, _("Paused dispute #%(id)s until %(until)s; both parties were told.")
                                         % {"id": dispute.pk, "until": date_format(timezone.localtime(
                                             paused.paused_until), "j M Y, H:i T")})  # fmt: skip
                        return redirect(request.path)
                    else:
                        dispute_resume(staff=request.user, dispute=dispute)
                        messages.success(
                            request,
                            _("Resumed dispute #%(id)s: each clock has the time it had left.") % {"id": dispute.pk},
                        )
                        return redirect(request.path)
            elif step == "rule":
                ruling_form = RulingForm(request.POST, prefix="rule")
                if ruling_form.is_valid():
                    result, subject = ruling_submit(staff=request.user, dispute=dispute, **ruling_form.cleaned_data)
                    messages.success(request, _ruled_message(result, subject))
                    return redirect(request.path)
            elif step == "approve":
                pending = get_object_or_404(PendingRuling, pk=request.POST.get("pending"), dispute=dispute)
                ruling_approve(staff=request.user, pending=pending)
                messages.success(request, _("Approved: the ruling took effect."))
                return redirect(request.path)
            elif step == "ask":
                ask_form = EvidenceAskForm(request.POST, prefix="ask")
                if ask_form.is_valid():
                    asked = evidence_request_create(staff=request.user, dispute=dispute, **ask_form.cleaned_data)
                    messages.success(
                        request,
                        _("Asked the %(party)s for evidence on dispute #%(id)s, due %(due)s.")
                        % {"party": asked.get_party_display(), "id": dispute.pk,
                           "due": date_format(timezone.localtime(asked.due_at), "j M Y, H:i T")},
                    )  # fmt: skip
                    return redirect(request.path)
            elif step == "message":
                message_form = MessageForm(request.POST, request.FILES, prefix="msg")
                if message_form.is_valid():
                    message_post(author=request.user, order=dispute.order, body=message_form.cleaned_data["body"],
                                 uploads=request.FILES.getlist("msg-images"))  # fmt: skip
                    messages.success(request, _("Message sent to both parties."))
                    return redirect(request.path)
            elif step in MOVES:
                act(request, [dispute], step)
                return redirect(request.path)
            elif step == "case_create":
                case_form = CaseCreateForm(request.POST, prefix="case", suggestions=suggestions)
                if case_form.is_valid():
                    data = case_form.cleaned_data
                    case = cases.case_create(staff=request.user, public_reason=data["public_reason"], note=data["note"],
                                             disputes=[dispute.pk, *data["others"]])  # fmt: skip
                    n = 1 + len(data["others"])
                    messages.success(request, ngettext("Started case %(case)s with %(n)s dispute.",
                                                       "Started case %(case)s with %(n)s disputes.", n)
                                     % {"case": case.pk, "n": n})  # fmt: skip
                    return redirect("admin:disputes_case_page", pk=case.pk)
            elif step == "case_join":
                join_form = CaseJoinForm(request.POST, prefix="join")
                if join_form.is_valid():
                    case = Case.objects.filter(pk=join_form.cleaned_data["case"]).first()
                    if case is None:
                        join_form.add_error("case", _("There is no case with this number."))
                    else:
                        cases.case_add(staff=request.user, case=case, dispute=dispute.pk)
                        messages.success(request, _("Added dispute #%(id)s to case %(case)s.")
                                         % {"id": dispute.pk, "case": case.pk})  # fmt: skip
                        return redirect("admin:disputes_case_page", pk=case.pk)
        except RuleViolation as refusal:
            messages.error(request, refusal.detail)
            if step == "rule":
                ruling_form.add_error(None, refusal.detail)
            elif step == "case_create":
                case_form.add_error(None, refusal.detail)
            elif step == "case_join":
                join_form.add_error(None, refusal.detail)
    dispute = dispute_detail(dispute.pk)
    allowed = {t.action for t in allowed_actions(dispute, Party.TEAM, actor=request.user)}
    yours = dispute.assignee_id == request.user.pk
    pending = dispute.pending_rulings.filter(status=PendingRuling.Status.PENDING).select_related("proposed_by").first()
    context = {
        **admin_site.each_context(request),
        "is_nav_sidebar_enabled": False,
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
        "pending": pending,
        "pending_outcome": dict(RulingForm.base_fields["outcome"].choices).get(pending.outcome) if pending else None,
        "evidence_requests": dispute.evidence_requests.all(),
        "yours": yours,
        # Each form only while it applies: the ruling while the dispute is under review by you,
        # evidence requests while it is live, a message while it is with the team.
        # A dispute in a case is ruled with its case, on the case's page.
        "can_rule": "ruling" in allowed and dispute.state == State.UNDER_REVIEW and yours and not dispute.case_id,
        "can_claim": "claim" in allowed,
        "can_release": "release" in allowed,
        "can_assign_me": "assign_to" in allowed
        and dispute.state == State.UNDER_REVIEW
        and not yours
        and is_available_reviewer(request.user, dispute),
        "can_take_over": "take_over" in allowed,
        "can_ask": dispute.is_live,
        "pause_form": pause_form,
        "confirming": confirming,
        "pause_reason_label": dict(PauseReason.choices).get(pause_form.cleaned_data.get("reason"), "")
        if confirming == "pause"
        else "",
        "can_pause": dispute.is_live
        and dispute.paused_at is None
        and (dispute.respond_by is not None or dispute.escalate_at is not None),
        "can_message": dispute.state in OPEN,
        "threshold": _threshold(dispute.order.currency),
        "case": dispute.case,
        "case_reason": cases.public_reason(dispute.case) if dispute.case_id else "",
        "case_suggestions": suggestions,
        "case_form": case_form,
        "join_form": join_form,
        "may_join_case": may_join,
        "now": timezone.now(),
        "opts": Dispute._meta,
    }
    return render(request, "admin/disputes/review.html", context)


def _ruled_message(result: str, subject) -> str:
    if result != "ruled":
        return _("The ruling on dispute #%(id)s waits for a second team member's approval.") % {
            "id": subject.dispute_id
        }
    if subject.state == State.AWAITING_RETURN:
        return _("Ruled. Dispute #%(id)s: the buyer ships the item back, then is refunded.") % {"id": subject.pk}
    if not subject.resolved_refund_amount:
        return _("Ruled. Dispute #%(id)s: no refund.") % {"id": subject.pk}
    return _("Ruled. Dispute #%(id)s: %(outcome)s, %(amount)s to the buyer.") % {
        "id": subject.pk,
        "outcome": subject.get_outcome_display().lower(),
        "amount": format_money(subject.resolved_refund_amount, subject.order.currency),
    }


def move_view(request, pk: int):
    """A row's button in the queue (claim, release, take over): the move through the workflow,
    then back to the list the button was on."""
    _team_only(request)
    if request.method != "POST":
        return redirect("admin:disputes_reviewqueueitem_changelist")
    dispute = get_object_or_404(Dispute, pk=pk)
    step = request.POST.get("step")
    if step in MOVES:
        act(request, [dispute], step)
    back = request.META.get("HTTP_REFERER", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("admin:disputes_reviewqueueitem_changelist")


def next_view(request):
    """The next dispute to work on: unassigned or yours, by ruling deadline, after the one named
    in ?after= (wrapping round to the first)."""
    _team_only(request)
    after_id = request.GET.get("after", "")
    after = Dispute.objects.filter(pk=after_id).first() if after_id.isdigit() else None
    target = next_for(request.user, after=after)
    if target is None:
        messages.info(request, _("Nothing else waits for you: no other dispute is unassigned or yours."))
        return redirect("admin:disputes_reviewqueueitem_changelist")
    return redirect("admin:disputes_reviewqueueitem_review", pk=target.pk)


def _threshold(currency: str):
    return approval_threshold(currency)


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
