"""The dispute team's review queue in Django admin: the list, its filters and actions."""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import F, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timeuntil
from django.utils.translation import gettext_lazy as _

from accounts import roles
from accounts.roles import team_members
from core.errors import RuleViolation
from disputes.models import LIVE_STATES, ReviewQueueItem, State
from disputes.services import dispute_act_by


class MineFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "who"

    def lookups(self, request, model_admin):
        return [("mine", _("Mine")), ("unassigned", _("Unassigned"))]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(assignee=request.user)
        if self.value() == "unassigned":
            return queryset.filter(assignee__isnull=True)
        return queryset


class NeedsPersonFilter(admin.SimpleListFilter):
    """Disputes set aside because a clock or routing step failed: a person must look."""

    title = _("needs a person")
    parameter_name = "needs_person"

    def lookups(self, request, model_admin):
        return [("yes", _("Needs a person"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(set_aside_at__isnull=False)
        return queryset


class QueueStateFilter(admin.SimpleListFilter):
    """Only the states a dispute can be in while it is in the queue."""

    title = _("state")
    parameter_name = "state"
    STATES = (State.ESCALATED, State.UNDER_REVIEW)

    def lookups(self, request, model_admin):
        return [(state.value, state.label) for state in self.STATES]

    def queryset(self, request, queryset):
        if self.value() in self.STATES:
            return queryset.filter(state=self.value())
        return queryset


class SlaFilter(admin.SimpleListFilter):
    title = _("ruling deadline")
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [("breached", _("SLA breached")), ("today", _("Due within 24 hours")), ("ok", _("On track"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "breached":
            return queryset.filter(respond_by__lte=now)
        if self.value() == "today":
            return queryset.filter(respond_by__gt=now, respond_by__lte=now + timedelta(days=1))
        if self.value() == "ok":
            return queryset.filter(respond_by__gt=now + timedelta(days=1))
        return queryset


class AmountBandFilter(admin.SimpleListFilter):
    title = _("amount asked")
    parameter_name = "amount"
    BANDS = {
        "lt50": (None, Decimal("50")),
        "50-200": (Decimal("50"), Decimal("200")),
        "200-500": (Decimal("200"), Decimal("500")),
        "gte500": (Decimal("500"), None),
    }

    def lookups(self, request, model_admin):
        return [("lt50", _("under 50")), ("50-200", "50–200"), ("200-500", "200–500"), ("gte500", _("500 and more"))]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value())
        if band is None:
            return queryset
        low, high = band
        if low is not None:
            queryset = queryset.filter(refund_amount__gte=low)
        if high is not None:
            queryset = queryset.filter(refund_amount__lt=high)
        return queryset


class AssignForm(forms.Form):
    member = forms.ModelChoiceField(label=_("Assign to"), queryset=team_members().order_by("username"))


def _act(model_admin, request, queryset, action, **payload):
    done, refused = 0, []
    for dispute in queryset:
        try:
            dispute_act_by(user=request.user, dispute=dispute, action=action, **payload)
            done += 1
        except RuleViolation as refusal:
            refused.append(f"#{dispute.pk}: {refusal.detail}")
    if done:
        model_admin.message_user(request, _("%(n)s dispute(s) updated.") % {"n": done}, messages.SUCCESS)
    for line in refused:
        model_admin.message_user(request, line, messages.ERROR)


@admin.register(ReviewQueueItem)
class ReviewQueueAdmin(admin.ModelAdmin):
    list_display = (
        "dispute_link", "time_left", "state", "needs_person", "amount", "buyer", "store", "carrier", "assignee",
    )  # fmt: skip
    list_filter = (
        NeedsPersonFilter,
        MineFilter,
        SlaFilter,
        QueueStateFilter,
        "reason",
        ("order__carrier", admin.RelatedOnlyFieldListFilter),
        ("order__store", admin.RelatedOnlyFieldListFilter),
        AmountBandFilter,
    )
    list_select_related = ("order__buyer", "order__store", "order__carrier", "assignee")
    search_fields = ("=id", "order__number", "order__buyer__username", "order__store__name")
    actions = ["claim", "assign", "release", "take_over"]
    list_per_page = 50
    # Our own link goes to the review screen; no link to a raw edit form (states change only
    # through the workflow).
    list_display_links = None
    # The changelist applies this, not the queryset's order: soonest ruling deadline first.
    ordering = (F("respond_by").asc(nulls_last=True), "id")

    def get_urls(self):
        from django.urls import path

        from disputes import admin_views

        site = self.admin_site
        return [
            path("<int:pk>/review/", site.admin_view(lambda r, pk: admin_views.review_view(r, site, pk)),
                 name="disputes_reviewqueueitem_review"),
            path("dashboard/", site.admin_view(lambda r: admin_views.dashboard_view(r, site)),
                 name="disputes_reviewqueueitem_dashboard"),
            *super().get_urls(),
        ]  # fmt: skip

    def changelist_view(self, request, extra_context=None):
        extra = {
            "title": _("Review queue"),
            "dashboard_url": reverse("admin:disputes_reviewqueueitem_dashboard"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=extra)

    def get_queryset(self, request):
        # The queue: what is with the team, and any dispute set aside as needing a person.
        return (
            super()
            .get_queryset(request)
            .filter(Q(state__in=QueueStateFilter.STATES) | Q(set_aside_at__isnull=False, state__in=LIVE_STATES))
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect("admin:disputes_reviewqueueitem_review", pk=object_id)

    def has_change_permission(self, request, obj=None):
        return roles.is_dispute_team(request.user)

    @admin.display(description=_("dispute"), ordering="id")
    def dispute_link(self, obj):
        url = reverse("admin:disputes_reviewqueueitem_review", args=[obj.pk])
        return format_html('<a href="{}">#{} · {}</a>', url, obj.pk, obj.order.number)

    @admin.display(description=_("time left"), ordering="respond_by")
    def time_left(self, obj):
        if obj.respond_by is None:
            return "—"
        now = timezone.now()
        if obj.respond_by <= now:
            return format_html(
                '<strong class="sla sla-breached">{} {}</strong>', _("overdue by"), timeuntil(now, obj.respond_by)
            )
        css = "sla-soon" if obj.respond_by - now <= timedelta(days=1) else "sla-ok"
        return format_html('<span class="sla {}">{}</span>', css, timeuntil(obj.respond_by, now))

    @admin.display(description=_("needs a person"), ordering="set_aside_at")
    def needs_person(self, obj):
        if obj.set_aside_at is None:
            return ""
        return format_html('<strong class="sla sla-breached" title="{}">{}</strong>', obj.set_aside_reason,
                           _("needs a person"))  # fmt: skip

    @admin.display(description=_("amount"), ordering="refund_amount")
    def amount(self, obj):
        return f"{obj.refund_amount} {obj.order.currency}"

    @admin.display(description=_("buyer"), ordering="order__buyer__username")
    def buyer(self, obj):
        return obj.order.buyer.username

    @admin.display(description=_("store"), ordering="order__store__name")
    def store(self, obj):
        return obj.order.store.name

    @admin.display(description=_("carrier"))
    def carrier(self, obj):
        return obj.order.carrier.name

    @admin.action(description=_("Claim the selected disputes"))
    def claim(self, request, queryset):
        _act(self, request, queryset, "claim")

    @admin.action(description=_("Release the selected disputes to the queue"))
    def release(self, request, queryset):
        _act(self, request, queryset, "release")

    @admin.action(description=_("Take over the selected set-aside disputes for review"))
    def take_over(self, request, queryset):
        _act(self, request, queryset, "take_over")

    @admin.action(description=_("Assign the selected disputes to a member…"))
    def assign(self, request, queryset):
        if "member" in request.POST:
            form = AssignForm(request.POST)
            if form.is_valid():
                _act(self, request, queryset, "assign_to", member=form.cleaned_data["member"])
                return None
        else:
            form = AssignForm()
        return render(
            request,
            "admin/disputes/assign.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "disputes": queryset,
                "title": _("Assign disputes"),
            },
        )
