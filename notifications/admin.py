from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from notifications.models import Notification
from notifications.render import render


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "shown_title", "read_at", "delivered_at")
    list_filter = ("kind",)
    search_fields = ("recipient__username", "dedupe_key", "title")
    list_select_related = ("recipient",)
    readonly_fields = ("shown_title", "shown_body")
    # Newest first by id, which the primary key serves: the table grows by three rows for every
    # dispute a clock closes, and keeps no index on created_at (each one would slow those inserts).
    ordering = ("-pk",)

    @admin.display(description=_("title, as the recipient reads it"))
    def shown_title(self, note: Notification) -> str:
        return render(note).title

    @admin.display(description=_("text, as the recipient reads it"))
    def shown_body(self, note: Notification) -> str:
        return render(note).body
