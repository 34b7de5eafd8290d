from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from messaging.models import Message, Photo, Thread, ThreadState


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
