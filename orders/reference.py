"""Reference rows every installation has: the eight carriers of the rules and the role groups.

Used by the data migration (with the migration's historical models) and by the test suite,
whose transactional tests flush tables and must put these rows back.
"""

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


def seed_carriers(apps) -> None:
    Carrier = apps.get_model("orders", "Carrier")
    for code, name, days in CARRIERS:
        Carrier.objects.get_or_create(code=code, defaults={"name": name, "dispute_window_days": days})


def seed_reference_data(apps) -> None:
    """Carriers and the role groups (the groups come from accounts.groups)."""
    from accounts.groups import ensure_groups

    seed_carriers(apps)
    ensure_groups(apps)
