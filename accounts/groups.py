"""The groups roles come from, with exactly the permissions each needs."""

from django.contrib.auth.management import create_permissions

PLATFORM_PERMISSIONS = {"orders": ["add_order", "change_order", "view_order"]}

# The dispute team reads everything about a dispute and works the review queue; changing a
# dispute goes through the queue's screens and services, never a raw edit form.
TEAM_PERMISSIONS = {
    "orders": ["view_order", "view_orderitem", "view_carrier", "view_extensionrequest", "view_orderevent"],
    "sellers": ["view_store", "view_returnpolicy"],
    "messaging": ["view_thread", "view_message"],
    "disputes": [
        "view_dispute",
        "view_proposal",
        "view_evidence",
        "view_disputeevent",
        "view_refund",
        "view_reviewqueueitem",
        "change_reviewqueueitem",
        "view_evidencerequest",
        "add_evidencerequest",
        "view_pendingruling",
    ],
}


def ensure_groups(apps) -> None:
    """Create both groups with their permissions (idempotent). Works with a migration's
    historical app registry as well as the real one."""
    for label in {*PLATFORM_PERMISSIONS, *TEAM_PERMISSIONS}:
        app_config = apps.get_app_config(label)
        had_module = getattr(app_config, "models_module", None)
        app_config.models_module = had_module or True  # a migration's stub config lacks it
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = had_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in (("Platform", PLATFORM_PERMISSIONS), ("Dispute team", TEAM_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        query = Permission.objects.none()
        for label, codenames in wanted.items():
            query = query | Permission.objects.filter(content_type__app_label=label, codename__in=codenames)
        group.permissions.set(query)
