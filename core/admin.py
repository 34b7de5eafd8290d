from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are evidence or audit (messages, photos, events, notifications): listed and
    searchable in admin, never added, changed or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
