from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from messaging.models import Message, Notification, Photo, Thread, ThreadState


class ReadOnlyAdmin(admin.ModelAdmin):
    """Messages and photos are evidence: nobody edits or deletes them, in admin either."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PhotoInline(admin.TabularInline):
    model = Photo
    fields = ("preview", "width", "height", "sha256", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="photo")
    def preview(self, photo):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="" style="max-height:80px"></a>',
            reverse("photo", args=[photo.pk]),
            reverse("photo-thumbnail", args=[photo.pk]),
        )


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "thread", "author", "role", "body")
    list_filter = ("role",)
    search_fields = ("body", "thread__order__number", "author__username")
    list_select_related = ("thread__order", "author")
    inlines = [PhotoInline]


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ("order", "created_at", "last_message_at")
    search_fields = ("order__number",)
    list_select_related = ("order",)


@admin.register(ThreadState)
class ThreadStateAdmin(ReadOnlyAdmin):
    list_display = ("thread", "user", "last_read_at", "last_emailed_at")
    list_select_related = ("thread__order", "user")
    search_fields = ("thread__order__number", "user__username")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "kind", "title", "read_at", "delivered_at")
    list_filter = ("kind",)
    search_fields = ("recipient__username", "title")
    list_select_related = ("recipient",)
    # Newest first by id, which the primary key serves: the table grows by three rows for every
    # dispute a clock closes, and keeps no index on created_at (each one would slow those inserts).
    ordering = ("-pk",)
