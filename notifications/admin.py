from django.contrib import admin

from core.admin import ReadOnlyAdmin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "read_at", "delivered_at")
    list_filter = ("kind",)
    search_fields = ("recipient__username", "title")
    list_select_related = ("recipient",)
    # Newest first by id, which the primary key serves: the table grows by three rows for every
    # dispute a clock closes, and keeps no index on created_at (each one would slow those inserts).
    ordering = ("-pk",)
