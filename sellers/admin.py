from django.contrib import admin

from sellers.models import ReturnPolicy, Store


class ReturnPolicyInline(admin.StackedInline):
    model = ReturnPolicy
    can_delete = False


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "owner", "country", "created_at")
    search_fields = ("name", "slug", "owner__username")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ReturnPolicyInline]
