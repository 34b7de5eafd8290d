"""The dispute team's pages for linked cases in admin: the list of cases and one case's page (its members and
totals, suggestions to confirm, the ruling with its confirm step and second approval). Every change goes
through disputes/cases.py; a refusal is a message on the page, never an error page."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import admin, messages
from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles
from core.errors import RuleViolation
from core.money import format_money
from disputes import cases
from disputes.admin_views import _team_only, with_why
from disputes.forms import CASE_OUTCOMES, CaseAddForm, CaseRulingForm
from disputes.models import Case, CaseRuling, Dispute, Proposal
from disputes.states import WITH_TEAM
from disputes.terms import approval_threshold, buyer_request

OUTCOME_LABELS = dict(CASE_OUTCOMES)


@dataclass
class CurrencyTotal:
    currency: str
    at_stake: Decimal
    threshold: Decimal

    @property
    def over(self) -> bool:
        return self.currency in cases.needs_approval({self.currency: self.at_stake})


@dataclass
class PreviewRow:
    dispute: Dispute
    amount: Decimal  # what the buyer gets in all from this dispute under the ruling

    @property
    def currency(self) -> str:
        return self.dispute.order.currency


# --- the list ---------------------------------------------------------------------------------------


class CaseAdmin(admin.ModelAdmin):
    """The list of cases for the team; each row opens the case's page (below). Cases are made from a
    dispute's review screen and change only through disputes/cases.py: no add, edit or delete form."""

    list_display = ("case_link", "reason", "status", "member_count", "at_stake_total", "created_at")
    list_display_links = None
    list_filter = ("status",)
    search_fields = ("=id", "public_reason", "disputes__order__number")
    list_per_page = 50
    change_list_template = "admin/disputes/case_list.html"

    def get_urls(self):
        site = self.admin_site
        return [
            path("<int:pk>/", site.admin_view(lambda r, pk: case_page_view(r, site, pk)), name="disputes_case_page"),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        # The members with their requests in two queries, whatever the number of rows.
        members = Dispute.objects.select_related("order").prefetch_related(
            Prefetch("proposals", queryset=Proposal.objects.order_by("created_at", "id"))
        )
        return (
            super()
            .get_queryset(request)
            .annotate(members=Count("disputes", distinct=True))
            .prefetch_related(Prefetch("disputes", queryset=members))
        )

    def changelist_view(self, request, extra_context=None):
        _team_only(request)
        return super().changelist_view(request, extra_context={"title": _("Linked cases"), **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect("admin:disputes_case_page", pk=object_id)

    def has_view_permission(self, request, obj=None):
        return roles.is_dispute_team(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("case"), ordering="id")
    def case_link(self, obj):
        url = reverse("admin:disputes_case_page", args=[obj.pk])
        return format_html('<a class="case-link" href="{}">{}</a>', url, _("Case %(id)s") % {"id": obj.pk})

    @admin.display(description=gettext_lazy("reason shown to the parties"))
    def reason(self, obj):
        if obj.public_reason:
            return obj.public_reason
        return format_html('<span class="quiet">{}</span>', _("(the default text)"))

    @admin.display(description=gettext_lazy("disputes"), ordering="members")
    def member_count(self, obj):
        return obj.members

    @admin.display(description=gettext_lazy("at stake"))
    def at_stake_total(self, obj):
        live = [d for d in obj.disputes.all() if d.is_live]
        by_currency = cases.totals((d.order.currency, buyer_request(d).refund_amount) for d in live)
        return cases.describe_totals(by_currency)


# --- one case's page ---------------------------------------------------------------------------------


def case_page_view(request, admin_site, pk: int) -> HttpResponse:
    _team_only(request)
    case = get_object_or_404(Case.objects.select_related("created_by"), pk=pk)
    members = cases.case_members(case)
    # The members a ruling applies to, in id order (as disputes/cases.py rules them).
    live = [m.dispute for m in members if m.dispute.is_live]
    ruling_form = CaseRulingForm(prefix="rule", disputes=live)
    add_form = CaseAddForm(prefix="add")
    preview = None
    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step == "take_out":
                dispute = cases.case_remove(staff=request.user, case=case, dispute_id=_posted_id(request, "dispute"))
                messages.success(request, _("Took dispute #%(id)s out of case %(case)s: it is reviewed and ruled "
                                            "alone from now on.") % {"id": dispute.pk, "case": case.pk})  # fmt: skip
                return redirect(request.path)
            elif step == "add":
                add_form = CaseAddForm(request.POST, prefix="add")
                if add_form.is_valid():
                    dispute = cases.case_add(staff=request.user, case=case, dispute=add_form.cleaned_data["dispute"])
                    messages.success(request, _("Added dispute #%(id)s (%(order)s) to case %(case)s; both parties were "
                                                "told the case's reason.")
                                     % {"id": dispute.pk, "order": dispute.order.number, "case": case.pk})  # fmt: skip
                    if dispute.state not in WITH_TEAM:
                        messages.warning(request, _("Dispute #%(id)s is not with the team yet (%(state)s): the case "
                                                    "cannot be ruled until it is, or until it is taken out again.")
                                         % {"id": dispute.pk, "state": dispute.get_state_display()})  # fmt: skip
                    return redirect(request.path)
                messages.error(request, _("The dispute was not added: see the form under “Add a dispute”."))
            elif step == "rule":
                # A plain post that first shows what each dispute gets: the confirmation posts again with confirmed=1.
                ruling_form = CaseRulingForm(request.POST, prefix="rule", disputes=live)
                if request.POST.get("back"):
                    pass  # back from the summary: the form again, as it was filled in
                elif ruling_form.is_valid():
                    confirmed = request.POST.get("confirmed") == "1"
                    if confirmed and live and not case.is_ruled and request.POST.get("members") != _ids(live):
                        # A dispute joined or left since the summary was shown: show the new one. (A case ruled
                        # meanwhile goes on to case_rule, which says so.)
                        messages.error(request, _("The case changed since you saw what each dispute gets: check "
                                                  "again before you rule."))  # fmt: skip
                        confirmed = False
                    if not confirmed:
                        preview = _preview(live, ruling_form.ruling())
                    else:
                        result, ruling = cases.case_rule(staff=request.user, case=case, **ruling_form.ruling())
                        messages.success(request, _ruled_message(case, result, ruling))
                        return redirect(request.path)
            elif step == "approve":
                cases.case_ruling_approve(staff=request.user, case=case, ruling=request.POST.get("ruling"))
                messages.success(request, _("Approved: the ruling took effect on every dispute of case %(case)s.")
                                 % {"case": case.pk})  # fmt: skip
                return redirect(request.path)
            elif step == "withdraw":
                cases.case_ruling_withdraw(staff=request.user, case=case)
                messages.success(request, _("Withdrew the ruling waiting on case %(case)s: nothing was ruled.")
                                 % {"case": case.pk})  # fmt: skip
                return redirect(request.path)
        except RuleViolation as refusal:
            messages.error(request, refusal.detail)
            if step == "rule":
                ruling_form.add_error(None, refusal.detail)
            elif step == "add" and add_form.is_bound:
                add_form.add_error(None, refusal.detail)
    # Here nothing changed (a redirect follows every change): the members read above are current.
    context = _context(request, admin_site, case, members, ruling_form=ruling_form, add_form=add_form, preview=preview)
    return render(request, "admin/disputes/case_detail.html", context)


def _posted_id(request, name: str) -> int | None:
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None  # within the id column


def _ids(disputes: list[Dispute]) -> str:
    """The members a ruling's summary showed, carried by its confirmation."""
    return ",".join(str(d.pk) for d in disputes)


def _preview(disputes: list[Dispute], ruling: dict) -> dict:
    """What each live member would get, the totals, and whether a second approval is needed: the same
    arithmetic case_rule applies (it refuses with the dispute it is about)."""
    targets = cases.ruling_amounts(
        disputes, outcome=ruling["outcome"], percent=ruling["percent"], amounts=ruling["amounts"]
    )
    by_currency = cases.totals((d.order.currency, targets[d.pk]) for d in disputes)
    return {
        "outcome": OUTCOME_LABELS[ruling["outcome"]],
        "rows": [PreviewRow(dispute=d, amount=targets[d.pk]) for d in disputes],
        "totals": by_currency,
        "over": cases.needs_approval(by_currency),
        "not_with_team": [d.pk for d in disputes if d.state not in WITH_TEAM],
        "members": _ids(disputes),
    }


def _ruled_message(case: Case, result: str, ruling: CaseRuling) -> str:
    if result == "pending":
        over = cases.needs_approval({c: Decimal(v) for c, v in ruling.totals.items()})
        return _(
            "The ruling on case %(case)s waits for a second team member's approval: its total is above the "
            "threshold in %(currencies)s."
        ) % {"case": case.pk, "currencies": ", ".join(over)}
    return _("Ruled case %(case)s: %(outcome)s on every dispute (%(n)s), %(total)s to the buyers in all.") % {
        "case": case.pk,
        "outcome": OUTCOME_LABELS.get(ruling.outcome, ruling.outcome).lower(),
        "n": len(ruling.amounts),
        "total": ", ".join(format_money(Decimal(v), c) for c, v in ruling.totals.items()),
    }


def _context(request, admin_site, case: Case, members: list[cases.Member], *, ruling_form, add_form, preview) -> dict:
    rulings = list(case.rulings.select_related("proposed_by", "approved_by"))
    pending = next((r for r in rulings if r.status == CaseRuling.Status.PENDING), None)
    applied = next((r for r in rulings if r.status == CaseRuling.Status.APPLIED), None)
    at_stake = cases.at_stake(members)
    open_to_change = not case.is_ruled and pending is None
    return {
        **admin_site.each_context(request),
        "is_nav_sidebar_enabled": False,
        "title": _("Case %(id)s") % {"id": case.pk},
        "case": case,
        "public_reason": cases.public_reason(case),
        "members": members,
        "totals": [CurrencyTotal(c, total, approval_threshold(c)) for c, total in at_stake.items()],
        "pending": pending,
        "pending_rows": _ruling_rows(pending, members),
        "applied": applied,
        "pending_outcome": OUTCOME_LABELS.get(pending.outcome, pending.outcome) if pending else "",
        "applied_outcome": OUTCOME_LABELS.get(applied.outcome, applied.outcome) if applied else "",
        "open_to_change": open_to_change,
        "can_rule": open_to_change and any(m.dispute.is_live for m in members),
        "not_with_team": [m.dispute.pk for m in members if m.dispute.is_live and m.dispute.state not in WITH_TEAM],
        "suggestions": with_why(cases.case_suggestions(case=case)) if open_to_change else [],
        "ruling_form": ruling_form,
        "add_form": add_form,
        "preview": preview,
        "now": timezone.now(),
        "with_team": [state.value for state in WITH_TEAM],
        "opts": Case._meta,
    }


def _ruling_rows(ruling: CaseRuling | None, members: list[cases.Member]) -> list[PreviewRow]:
    if ruling is None:
        return []
    return [PreviewRow(dispute=m.dispute, amount=Decimal(ruling.amounts[str(m.dispute.pk)]))
            for m in members if str(m.dispute.pk) in ruling.amounts]  # fmt: skip
