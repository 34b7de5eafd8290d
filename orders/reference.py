"""Reference rows every installation has: the eight carriers of the rules and the role groups.

Used by the data migration (with the migration's historical models) and by the test suite,
whose transactional tests flush tables and must put these rows back.
"""

from django.contrib.auth.management import create_permissions

CARRIERS = [
    ("dhl", "DHL", 23),
    ("tnt", "TNT", 23),
    ("ups", "UPS", 23),
    ("fedex", "FedEx", 23),
    ("japan_post_ems", "Japan Post EMS", 27),
    ("sf_express", "SF Express", 27),
    ("china_post", "China Post", 39),
    ("hongkong_post", "Hong Kong Post", 39),
]

PLATFORM_PERMISSIONS = ["add_order", "change_order", "view_order"]


def seed_reference_data(apps) -> None:
    Carrier = apps.get_model("orders", "Carrier")
    for code, name, days in CARRIERS:
        Carrier.objects.get_or_create(code=code, defaults={"name": name, "dispute_window_days": days})

    app_config = apps.get_app_config("orders")
    had_module = getattr(app_config, "models_module", None)
    # A migration's app registry has stub configs without models_module; create_permissions needs one.
    app_config.models_module = had_module or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = had_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    platform, _ = Group.objects.get_or_create(name="Platform")
    platform.permissions.add(
        *Permission.objects.filter(content_type__app_label="orders", codename__in=PLATFORM_PERMISSIONS)
    )
    Group.objects.get_or_create(name="Dispute team")
