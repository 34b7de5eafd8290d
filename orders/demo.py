"""Demo data (docs/rules.md §5): people, stores and orders across every carrier and window state.

Built through the same services the API uses, so the demo obeys the rules. Safe to run twice:
people and stores are updated in place, orders that already exist are left as they are.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import DISPUTE_TEAM_GROUP, PLATFORM_GROUP, DemoAccount, User
from orders import services
from orders.models import Carrier, Order
from sellers.models import Payer, ReturnReason, Store
from sellers.services import DEFAULT_COVERED_REASONS, return_policy_update

PASSWORD = "demo"

PEOPLE = [
    # username, first name, time zone, role
    ("alice", "Alice", "America/Los_Angeles", "buyer"),
    ("bob", "Bob", "Europe/Berlin", "buyer"),
    ("carol", "Carol", "Asia/Shanghai", "seller"),
    ("dave", "Dave", "Asia/Hong_Kong", "seller"),
    ("erin", "Erin", "Europe/Dublin", "team"),
    ("frank", "Frank", "Europe/Dublin", "team"),
    ("platform", "Platform", "UTC", "platform"),
]

STORES = [
    ("carols-gadgets", "Carol's Gadgets", "carol", "CN"),
    ("daves-outlet", "Dave's Outlet", "dave", "HK"),
]

PRODUCTS = [
    ("Wireless earbuds", Decimal("39.90")),
    ("USB-C hub, 7 ports", Decimal("24.50")),
    ("Phone case, clear", Decimal("8.99")),
    ("Smart watch band", Decimal("12.00")),
    ("Bluetooth speaker", Decimal("54.00")),
    ("LED desk lamp", Decimal("31.25")),
]


def _person(username: str, first_name: str, zone: str, role: str) -> User:
    """A demo person, created once with the demo password; run again, it changes nobody's password."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(
            username=username,
            password=PASSWORD,
            first_name=first_name,
            email=f"{username}@example.com",
            time_zone=zone,
            is_staff=role == "team",
        )
        DemoAccount.objects.create(user=user)
    if role == "team":
        user.groups.add(Group.objects.get(name=DISPUTE_TEAM_GROUP))
    if role == "platform":
        user.groups.add(Group.objects.get(name=PLATFORM_GROUP))
    return user


def refusal() -> str | None:
    """Why seed_demo must not run against this database, or None."""
    # Not DEBUG: `make run` is DEBUG off, and a production box may be debugged. An explicit
    # setting, on only in the local settings, and never the production settings module.
    settings_module = getattr(settings, "SETTINGS_MODULE", "") or ""
    if settings_module.endswith(".production"):
        return "seed_demo refuses to run under production settings: it creates known passwords."
    if not getattr(settings, "DEMO_DATA", False):
        return (
            "seed_demo refuses to run unless DEMO_DATA is on (the local settings turn it on; DEBUG no longer "
            "matters): it creates known passwords."
        )
    strangers = User.objects.filter(demo_account__isnull=True)
    if strangers.exists():
        return (
            f"seed_demo refuses this database: it holds {strangers.count()} user(s) that seed_demo did not create "
            "(real data). Use an empty database for the demo."
        )
    return None


def _policies(stores: dict[str, Store]) -> None:
    return_policy_update(
        actor=stores["carols-gadgets"].owner,
        store=stores["carols-gadgets"],
        accepts_returns=True,
        return_days=15,
        covered_reasons=DEFAULT_COVERED_REASONS,
        change_of_mind_shipping_payer=Payer.BUYER,
        defective_shipping_payer=Payer.SELLER,
        wrong_item_shipping_payer=Payer.SELLER,
        free_returns=False,
        refund_without_return=True,
        condition_rules="Unused, in the original box, with all accessories.",
        address_name="Carol's Gadgets Returns",
        address_line1="88 Huaqiang North Road, Unit 12",
        address_city="Shenzhen",
        address_postal_code="518000",
        address_country="CN",
        notes="We answer messages within one working day.",
    )
    return_policy_update(
        actor=stores["daves-outlet"].owner,
        store=stores["daves-outlet"],
        accepts_returns=True,
        return_days=30,
        covered_reasons=[r.value for r in ReturnReason],
        # Free returns: the store pays return shipping for every reason, a change of mind included.
        change_of_mind_shipping_payer=Payer.SELLER,
        defective_shipping_payer=Payer.SELLER,
        wrong_item_shipping_payer=Payer.SELLER,
        free_returns=True,
        refund_without_return=False,
        condition_rules="Any condition for defective items; unused, in the original box, for a change of mind.",
        address_name="Dave's Outlet",
        address_line1="5 Canton Road, Tower 2, 9/F",
        address_city="Hong Kong",
        address_postal_code="",
        address_country="HK",
        notes="",
    )


def _order(*, number, buyer, store, carrier, platform, placed_days_ago, shipped_days_ago, delivered_days_ago, product):
    if Order.objects.filter(number=number).exists():
        return
    now = timezone.now().replace(second=0, microsecond=0)
    placed_at = now - timedelta(days=placed_days_ago)
    # One product, or several: an order of two items lets a dispute cover one of them.
    lines = product if isinstance(product, list) else [product]
    order, _ = services.order_create(
        actor=platform,
        number=number,
        buyer=buyer,
        store=store,
        carrier=carrier,
        placed_at=placed_at,
        ship_by=placed_at + timedelta(days=3),
        total=sum(price for _title, price in lines),
        currency="USD",
        items=[services.ItemLine(title=title, quantity=1, unit_price=price) for title, price in lines],
    )
    if shipped_days_ago is not None:
        order = services.order_record_shipment(
            actor=platform,
            order=order,
            carrier=carrier,
            tracking_number=f"{carrier.code[:2].upper()}{number[-4:]}0042",
            shipped_at=now - timedelta(days=shipped_days_ago),
        )
    if delivered_days_ago is not None:
        services.order_record_delivery(
            actor=platform, order=order, delivered_at=now - timedelta(days=delivered_days_ago)
        )


@transaction.atomic
def seed_orders() -> dict[str, int]:
    """The people, stores, policies and orders (messages and disputes: their own apps' demo)."""
    people = {username: _person(username, name, zone, role) for username, name, zone, role in PEOPLE}
    stores = {}
    for slug, name, owner, country in STORES:
        stores[slug], _ = Store.objects.update_or_create(
            slug=slug, defaults={"name": name, "owner": people[owner], "country": country}
        )
    _policies(stores)

    buyers = [people["alice"], people["bob"]]
    store_list = list(stores.values())
    platform = people["platform"]
    serial = 1000
    for index, carrier in enumerate(Carrier.objects.order_by("dispute_window_days", "code")):
        # Each carrier gets an order whose window has not opened, one that is open, one that closed.
        for state, (placed, shipped, delivered) in enumerate(
            [
                (4, 2, None),
                (14, 10, 5),
                (carrier.dispute_window_days + 12, carrier.dispute_window_days + 8, carrier.dispute_window_days),
            ]
        ):
            serial += 1
            _order(
                number=f"DD-{serial}",
                buyer=buyers[(index + state) % 2],
                store=store_list[(index + state + 1) % 2],
                carrier=carrier,
                platform=platform,
                placed_days_ago=placed,
                shipped_days_ago=shipped,
                delivered_days_ago=delivered,
                product=PRODUCTS[(index * 3 + state) % len(PRODUCTS)],
            )
    # Never shipped: one past its ship-by date (its window runs from ship-by), one still in time.
    dhl = Carrier.objects.get(code="dhl")
    china_post = Carrier.objects.get(code="china_post")
    for number, buyer, store, carrier, placed in [
        ("DD-2001", people["alice"], stores["carols-gadgets"], china_post, 12),
        ("DD-2002", people["bob"], stores["daves-outlet"], dhl, 10),
        ("DD-2003", people["alice"], stores["daves-outlet"], dhl, 1),
    ]:
        _order(
            number=number,
            buyer=buyer,
            store=store,
            carrier=carrier,
            platform=platform,
            placed_days_ago=placed,
            shipped_days_ago=None,
            delivered_days_ago=None,
            product=PRODUCTS[placed % len(PRODUCTS)],
        )
    # The orders the README's "Try it" names: for each buyer at each store, one whose window is open
    # with no dispute (to open one) and one whose window has not opened yet; then the orders the
    # demo disputes stand on (disputes/demo.py), each shipped or delivered as its dispute says.
    for number, buyer, store, carrier_code, placed, shipped, delivered, product in JOURNEY_ORDERS:
        _order(
            number=number,
            buyer=people[buyer],
            store=stores[store],
            carrier=Carrier.objects.get(code=carrier_code),
            platform=platform,
            placed_days_ago=placed,
            shipped_days_ago=shipped,
            delivered_days_ago=delivered,
            product=product,
        )
    _extension_requests()
    return {"users": len(people), "stores": len(stores), "orders": Order.objects.count()}


CAROL, DAVE = "carols-gadgets", "daves-outlet"
EARBUDS, HUB, CASE, BAND, SPEAKER, LAMP = PRODUCTS

# number, buyer, store, carrier, placed / shipped / delivered (days ago; None: not yet), product
JOURNEY_ORDERS = [
    # Open window, no dispute: open one.
    ("DD-3001", "alice", CAROL, "dhl", 14, 10, 5, SPEAKER),
    ("DD-3002", "alice", DAVE, "ups", 14, 10, 5, LAMP),
    ("DD-3003", "bob", CAROL, "fedex", 14, 10, 5, HUB),
    ("DD-3004", "bob", DAVE, "dhl", 14, 10, 5, EARBUDS),
    # Window not open yet (shipped 2 days ago): the page says when it opens and why.
    ("DD-3011", "alice", CAROL, "dhl", 4, 2, None, BAND),
    ("DD-3012", "alice", DAVE, "dhl", 4, 2, None, CASE),
    ("DD-3013", "bob", CAROL, "ups", 4, 2, None, LAMP),
    ("DD-3014", "bob", DAVE, "ups", 4, 2, None, SPEAKER),
    # Open, with the buyer's extension request waiting for the seller (grant or decline).
    ("DD-3021", "bob", CAROL, "dhl", 13, 9, 4, EARBUDS),
    ("DD-3022", "alice", DAVE, "dhl", 13, 9, 4, HUB),
    # The orders of the demo disputes, one per state (disputes/demo.py).
    ("DD-4001", "alice", CAROL, "dhl", 15, 12, None, EARBUDS),  # not received: shipped, never delivered
    ("DD-4002", "bob", DAVE, "dhl", 14, 11, 6, CASE),  # arrived cracked: delivered
    ("DD-4003", "alice", DAVE, "ups", 14, 11, 5, SPEAKER),  # marked delivered, not in the mailbox
    ("DD-4004", "bob", CAROL, "dhl", 14, 11, 6, BAND),  # not as described: delivered
    ("DD-4005", "alice", CAROL, "fedex", 14, 11, 6, HUB),  # defective: delivered
    ("DD-4006", "bob", CAROL, "dhl", 15, 12, 7, LAMP),  # wrong item: delivered
    ("DD-4007", "bob", DAVE, "fedex", 16, 13, 8, BAND),  # colour not as shown: delivered
    ("DD-4008", "alice", DAVE, "dhl", 14, 11, 1, EARBUDS),  # reported missing, then found: delivered
    # Returns and exchanges asked of the seller, no dispute (disputes/demo.py REQUESTS).
    ("DD-5001", "bob", DAVE, "dhl", 12, 8, 3, LAMP),  # changed mind: a return waiting for dave
    ("DD-5002", "alice", DAVE, "ups", 12, 8, 3, HUB),  # an exchange dave approved: the replacement to ship
    # Two items, a dispute over one of them (the other can still be disputed or returned).
    ("DD-5003", "alice", CAROL, "dhl", 12, 8, 3, [EARBUDS, CASE]),
]

# Buyers' requests for more days that wait for the seller: number, days, the buyer's reason.
EXTENSION_REQUESTS = [
    ("DD-3021", 10, "I am travelling until the 20th and can only try the earbuds when I am back."),
    ("DD-3022", 7, "The hub works with my laptop but not my monitor; the store asked me to try a new cable."),
]


def _extension_requests() -> None:
    for number, days, note in EXTENSION_REQUESTS:
        order = Order.objects.select_related("buyer").get(number=number)
        if not order.extension_requests.exists():
            services.extension_request(buyer=order.buyer, order=order, days=days, note=note)
