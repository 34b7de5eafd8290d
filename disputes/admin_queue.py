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
from django.utils.translation import ngettext

from accounts import roles
from accounts.roles import team_members
from core.errors import RuleViolation
from core.money import format_money
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


def queue_items():
    """The queue: what is with the team, and any dispute set aside as needing a person."""
    return ReviewQueueItem.objects.filter(
        Q(state__in=QueueStateFilter.STATES) | Q(set_aside_at__isnull=False, state__in=LIVE_STATES)
    )


QUEUE_ORDER = (F("respond_by").asc(nulls_last=True), "id")


def next_for(user, *, after=None):
    """The next dispute `user` may work on (unassigned or theirs) in the queue's order, after
    `after` if given, else from the top; past the end it wraps round to the first."""
    candidates = queue_items().filter(Q(assignee__isnull=True) | Q(assignee=user)).order_by(*QUEUE_ORDER)
    if after is None:
        return candidates.first()
    candidates = candidates.exclude(pk=after.pk)
    if after.respond_by is None:
        later = candidates.filter(respond_by__isnull=True, id__gt=after.pk)
    else:
        later = candidates.filter(
            Q(respond_by__gt=after.respond_by)
            | Q(respond_by=after.respond_by, id__gt=after.pk)
            | Q(respond_by__isnull=True)
        )
    return later.first() or candidates.first()


# The team's moves that need no form: the row buttons, the review screen's buttons, the actions.
MOVES = ("claim", "release", "take_over", "assign_to_me")


def _numbers(disputes) -> str:
    return ", ".join(f"#{d.pk}" for d in disputes)


def result_message(action: str, disputes: list, *, member=None, you=None) -> str:
    """What happened, in words: "Claimed dispute #5 for you.", never "1 dispute(s) updated."."""
    n, ids = len(disputes), _numbers(disputes)
    if action == "claim":
        return ngettext("Claimed dispute %(ids)s for you.", "Claimed disputes %(ids)s for you.", n) % {"ids": ids}
    if action == "release":
        return ngettext(
            "Released dispute %(ids)s to the queue: anyone on the team may claim it.",
            "Released disputes %(ids)s to the queue: anyone on the team may claim them.",
            n,
        ) % {"ids": ids}
    if action == "take_over":
        return ngettext(
            "Took over dispute %(ids)s: it waits in the queue to be claimed.",
            "Took over disputes %(ids)s: they wait in the queue to be claimed.",
            n,
        ) % {"ids": ids}
    if member is not None and you is not None and member.pk == you.pk:
        return ngettext("Assigned dispute %(ids)s to you.", "Assigned disputes %(ids)s to you.", n) % {"ids": ids}
    name = member.username if member is not None else ""
    return ngettext("Assigned dispute %(ids)s to %(name)s.", "Assigned disputes %(ids)s to %(name)s.", n) % {
        "ids": ids,
        "name": name,
    }


def act(request, disputes, action: str, **payload) -> None:
    """Carry out one team move on each dispute through the workflow, and say what happened
    (one sentence for those done, one per refusal, each naming its dispute)."""
    if action == "assign_to_me":
        action, payload = "assign_to", {"member": request.user}
    done = []
    for dispute in disputes:
        try:
            done.append(dispute_act_by(user=request.user, dispute=dispute, action=action, **payload))
        except RuleViolation as refusal:
            messages.error(
                request,
                _("Dispute #%(id)s was not changed: %(why)s") % {"id": dispute.pk, "why": refusal.detail},
            )
    if done:
        messages.success(request, result_message(action, done, member=payload.get("member"), you=request.user))


def _act(model_admin, request, queryset, action, **payload):
    act(request, list(queryset), action, **payload)


QUEUE_LABELS = {State.ESCALATED: _("Escalated"), State.UNDER_REVIEW: _("Under review")}


@admin.register(ReviewQueueItem)
class ReviewQueueAdmin(admin.ModelAdmin):
    # Narrow columns, short labels: the list fits 1280 px with the filters beside it.
    list_display = (
        "dispute_link", "time_left", "status", "reason", "amount", "parties", "carrier", "assignee_name", "row_moves",
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
    ordering = QUEUE_ORDER

    def get_urls(self):
        from django.urls import path

        from disputes import admin_views

        site = self.admin_site
        return [
            path("<int:pk>/review/", site.admin_view(lambda r, pk: admin_views.review_view(r, site, pk)),
                 name="disputes_reviewqueueitem_review"),
            path("<int:pk>/move/", site.admin_view(lambda r, pk: admin_views.move_view(r, pk)),
                 name="disputes_reviewqueueitem_move"),
            path("next/", site.admin_view(admin_views.next_view), name="disputes_reviewqueueitem_next"),
            path("dashboard/", site.admin_view(lambda r: admin_views.dashboard_view(r, site)),
                 name="disputes_reviewqueueitem_dashboard"),
            *super().get_urls(),
        ]  # fmt: skip

    def changelist_view(self, request, extra_context=None):
        extra = {
            "title": _("Review queue"),
            "dashboard_url": reverse("admin:disputes_reviewqueueitem_dashboard"),
            "next_url": reverse("admin:disputes_reviewqueueitem_next"),
            # The queue needs the width: the models' sidebar stays on the other admin pages.
            "is_nav_sidebar_enabled": False,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=extra)

    def get_queryset(self, request):
        # The queue: what is with the team, and any dispute set aside as needing a person.
        # `mine` lets each row offer the move that fits the reader (claim, or release their own).
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=queue_items().values("pk"))
            .annotate(mine=Q(assignee_id=request.user.pk))
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
        link = format_html('<a class="queue-link" href="{}">#{} · {}</a>', url, obj.pk, obj.order.number)
        if obj.case_id is None:
            return link
        # Ruled with its linked case, from the case's page: said in the row, not found on opening it.
        case_url = reverse("admin:disputes_case_page", args=[obj.case_id])
        return format_html('{}<br><a class="case-badge" href="{}">{}</a>', link, case_url,
                           _("in case %(case)s") % {"case": obj.case_id})  # fmt: skip

    @admin.display(description=_("time left"), ordering="respond_by")
    def time_left(self, obj):
        if obj.respond_by is None:
            return "—"
        now = timezone.now()
        # Days alone once it is a day or more away: the column stays one short line.
        depth = 1 if abs(obj.respond_by - now) >= timedelta(days=1) else 2
        if obj.respond_by <= now:
            overdue = timeuntil(now, obj.respond_by, depth=depth)
            return format_html('<strong class="sla sla-breached">{} {}</strong>', _("overdue by"), overdue)
        css = "sla-soon" if obj.respond_by - now <= timedelta(days=1) else "sla-ok"
        return format_html('<span class="sla {}">{}</span>', css, timeuntil(obj.respond_by, now, depth=depth))

    @admin.display(description=_("state"), ordering="state")
    def status(self, obj):
        label = QUEUE_LABELS.get(obj.state) or obj.get_state_display()
        if obj.set_aside_at is None:
            return label
        return format_html('{}<br><strong class="sla sla-breached" title="{}">{}</strong>', label,
                           obj.set_aside_reason, _("needs a person"))  # fmt: skip

    @admin.display(description=_("amount"), ordering="refund_amount")
    def amount(self, obj):
        return format_html('<span class="nowrap">{}</span>', format_money(obj.refund_amount, obj.order.currency))

    @admin.display(description=_("buyer · store"), ordering="order__store__name")
    def parties(self, obj):
        return format_html('{}<br><span class="quiet">{}</span>', obj.order.buyer.username, obj.order.store.name)

    @admin.display(description=_("carrier"))
    def carrier(self, obj):
        return obj.order.carrier.name

    @admin.display(description=_("assignee"), ordering="assignee__username")
    def assignee_name(self, obj):
        if obj.assignee_id is None:
            return format_html('<span class="quiet">{}</span>', _("nobody"))
        return _("you") if obj.mine else obj.assignee.username

    @admin.display(description=_("move"))
    def row_moves(self, obj):
        """One button per row, posting the changelist's form (and its CSRF token) to the move
        view: claim an escalated dispute, release your own, take over one set aside."""
        if obj.state == State.ESCALATED:
            step, label = "claim", _("Claim")
        elif obj.state == State.UNDER_REVIEW and obj.mine:
            step, label = "release", _("Release")
        elif obj.set_aside_at is not None and obj.state not in QueueStateFilter.STATES:
            step, label = "take_over", _("Take over")
        else:
            return ""
        url = reverse("admin:disputes_reviewqueueitem_move", args=[obj.pk])
        return format_html(
            '<button type="submit" class="button row-move" formaction="{}" name="step" value="{}" '
            'data-move="{}" aria-label="{} #{}">{}</button>',
            url, step, step, label, obj.pk, label,
        )  # fmt: skip

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
