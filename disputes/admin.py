"""Plain admin views of the dispute records. The review queue comes with its own issue; here
nothing changes a dispute's state by hand (only the workflow does), and events are read-only."""

from django.contrib import admin
from django.urls import path, reverse_lazy
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.money import format_money
from disputes.admin_queue import NeedsPersonFilter
from disputes.models import (
    Case,
    Dispute,
    DisputeEvent,
    Evidence,
    EvidenceRequest,
    IdempotencyRecord,
    PendingRuling,
    Proposal,
    ReconciliationRun,
    Refund,
)
from disputes.operator import operator_page


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ProposalInline(ReadOnlyInline):
    model = Proposal
    fields = ("created_at", "party", "kind", "refund_amount", "return_item", "note")
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = DisputeEvent
    fields = ("created_at", "actor", "actor_party", "action", "from_state", "to_state", "payload")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("created_at", "resolution_number", "amount", "currency", "gateway", "gateway_reference", "cause")
    readonly_fields = fields


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ("id", "order", "state", "reason", "refund_amount", "respond_by", "assignee", "opened_at")
    list_filter = ("state", "reason", NeedsPersonFilter)
    search_fields = ("order__number", "order__buyer__username", "order__store__name")
    list_select_related = ("order", "assignee")
    raw_id_fields = ("order",)
    inlines = [ProposalInline, RefundInline, EventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Dispute._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ("created_at", "dispute_number", "order", "money", "cause", "gateway_reference")
    list_select_related = ("dispute", "order")
    readonly_fields = [f.name for f in Refund._meta.fields]

    @admin.display(description=_("dispute"), ordering="dispute_id")
    def dispute_number(self, obj):
        return f"#{obj.dispute_id}" if obj.dispute_id else "—"

    @admin.display(description=_("amount"), ordering="amount")
    def money(self, obj):
        return format_money(obj.amount, obj.currency)  # in the currency's own decimals, with its sign

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "dispute", "party", "author", "note")
    list_filter = ("party",)
    search_fields = ("dispute__order__number", "note")
    list_select_related = ("dispute", "author")


@admin.register(DisputeEvent)
class DisputeEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "dispute", "actor", "actor_party", "action", "from_state", "to_state")
    list_filter = ("actor_party", "action", "to_state")
    search_fields = ("dispute__order__number", "action")
    list_select_related = ("dispute", "actor")
    date_hierarchy = "created_at"


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "dispute", "party", "kind", "refund_amount", "return_item")
    list_filter = ("party", "kind")
    search_fields = ("dispute__order__number",)
    list_select_related = ("dispute",)


@admin.register(EvidenceRequest)
class EvidenceRequestAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "dispute", "party", "requested_by", "due_at", "answered_at", "expired_at")
    list_filter = ("party",)
    list_select_related = ("dispute", "requested_by")


@admin.register(PendingRuling)
class PendingRulingAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "dispute", "outcome", "refund_amount", "proposed_by", "status", "approved_by")
    list_filter = ("status", "outcome")
    list_select_related = ("dispute", "proposed_by", "approved_by")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "user", "key", "response_status")
    search_fields = ("key", "user__username")
    list_select_related = ("user",)


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    """Each run of the money check (manage.py reconcile, daily by beat), newest first."""

    list_display = ("at", "ok", "mismatches")
    list_filter = ("ok",)
    fields = ("at", "ok", "mismatches", "counts", "report")


from disputes import admin_queue  # noqa: E402,F401  (registers the review queue)
from disputes.case_pages import CaseAdmin  # noqa: E402  (its admin_views import needs the queue's module first)

# Linked cases: the list, and each case's page at /admin/disputes/case/<id>/ (CaseAdmin.get_urls).
admin.site.register(Case, CaseAdmin)

# "View site" in admin's header: the dispute pages as the team sees them (the site's home
# sends the team straight back to admin).
admin.site.site_url = reverse_lazy("disputes:list")


def _with_operator_page(site_urls):
    """config/urls.py mounts the default site; its URLs gain /admin/operator/ (superusers only),
    behind admin's own door (sign-in, staff, no caching, CSRF)."""

    def get_urls():
        return [path("operator/", admin.site.admin_view(operator_page), name="operator"), *site_urls()]

    return get_urls


admin.site.get_urls = _with_operator_page(admin.site.get_urls)
# The admin index with a link to the operator's page for superusers.
admin.site.index_template = "admin/operator_index.html"
