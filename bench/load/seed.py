"""Seed the load-test database: 200 accounts and the orders, threads and disputes they work on.

Run by `bench/load/loadtest.py` (not by hand) in a subprocess with the same environment as the
server (production settings, the `dispute_desk_load` database), after `migrate`:

    python bench/load/seed.py var/loadtest/cast.json

Everything goes through the project's own services (orders, messages, disputes, the team's claim),
so the data obeys the rules, as `manage.py seed_demo` does for the demo. The accounts:
  - 148 buyers (118 use the pages, 30 an app on the API), each with 2 orders whose dispute window
    is open and nothing opened on them yet, 1 whose window has not opened, 1 long settled, and
    2 with a dispute (the disputes spread over every state, with messages and photos);
  - 40 sellers, each owning a store (half with a 15-day policy that refunds without a return,
    half with 30-day free returns); 32 use the pages, 8 the API;
  - 10 dispute-team members, each with a confirmed TOTP device (two-step sign-in, as production
    requires) and 4 disputes under their review; 15 escalated disputes wait for routing;
  - 2 platform accounts that push new orders, shipments and deliveries over the API.

Every account has the same password, hashed once with the default hasher (checking it at sign-in
costs what it costs in production). The cast file tells the locustfile who is who: usernames,
TOTP keys, and each buyer's orders.
"""

import json
import os
import random
import secrets
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "load-test-password-7"
BUYERS_PAGES, BUYERS_APP = 118, 30
SELLERS_PAGES, SELLERS_APP = 32, 8
TEAM, PLATFORM = 10, 2
UNDER_REVIEW_PER_MEMBER = 4

ZONES = ["America/Los_Angeles", "America/New_York", "Europe/Berlin", "Europe/Dublin", "Asia/Shanghai", "UTC"]
PRODUCTS = [
    ("Wireless earbuds", Decimal("39.90")),
    ("USB-C hub, 7 ports", Decimal("24.50")),
    ("Phone case, clear", Decimal("8.99")),
    ("Smart watch band", Decimal("12.00")),
    ("Bluetooth speaker", Decimal("54.00")),
    ("LED desk lamp", Decimal("31.25")),
    ("Mechanical keyboard", Decimal("89.00")),
    ("Travel adapter", Decimal("17.80")),
]
# How the 296 seeded disputes (2 per buyer) are spread over the workflow's states.
DISPUTE_MIX = (
    ["awaiting_seller"] * 90
    + ["awaiting_buyer_offer"] * 60
    + ["awaiting_buyer_rejected"] * 15
    + ["escalated"] * 15
    + ["under_review"] * (TEAM * UNDER_REVIEW_PER_MEMBER)
    + ["awaiting_return"] * 25
    + ["return_in_transit"] * 20
    + ["resolved"] * 20
    + ["cancelled"] * 11
)


def setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    django.setup()


class Seeder:
    def __init__(self) -> None:
        from django.contrib.auth.hashers import make_password
        from django.utils import timezone

        from orders.models import Carrier

        self.rng = random.Random(16)
        self.now = timezone.now().replace(microsecond=0)
        self.password_hash = make_password(PASSWORD)  # once: the default hasher, its full cost at sign-in
        self.carriers = {c.code: c for c in Carrier.objects.all()}
        self.serial = 0
        self.photo_serial = 0

    # --- people --------------------------------------------------------------------------------

    def person(self, username: str, *, first_name: str, staff: bool = False, group: str | None = None):
        from django.contrib.auth.models import Group

        from accounts.models import User

        user = User.objects.create(
            username=username,
            password=self.password_hash,
            first_name=first_name,
            email=f"{username}@example.com",
            time_zone=self.rng.choice(ZONES),
            is_staff=staff,
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        return user

    def team_member(self, n: int):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from accounts.models import DISPUTE_TEAM_GROUP

        user = self.person(f"team{n:02d}", first_name=f"Team {n}", staff=True, group=DISPUTE_TEAM_GROUP)
        key = secrets.token_hex(20)
        TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True, key=key)
        return user, key

    def store(self, owner, n: int):
        from sellers.models import Payer, ReturnReason, Store
        from sellers.services import DEFAULT_COVERED_REASONS, return_policy_update

        store = Store.objects.create(slug=f"store-{n:02d}", name=f"Store {n:02d}", owner=owner, country="CN")
        if n % 2:  # like the demo's Carol: 15 days, no change of mind, refund without return
            fields = {
                "accepts_returns": True,
                "return_days": 15,
                "covered_reasons": DEFAULT_COVERED_REASONS,
                "change_of_mind_shipping_payer": Payer.BUYER,
                "defective_shipping_payer": Payer.SELLER,
                "wrong_item_shipping_payer": Payer.SELLER,
                "free_returns": False,
                "refund_without_return": True,
            }
        else:  # like the demo's Dave: 30 days, every reason, free returns
            fields = {
                "accepts_returns": True,
                "return_days": 30,
                "covered_reasons": [r.value for r in ReturnReason],
                "change_of_mind_shipping_payer": Payer.SELLER,
                "defective_shipping_payer": Payer.SELLER,
                "wrong_item_shipping_payer": Payer.SELLER,
                "free_returns": True,
                "refund_without_return": False,
            }
        return_policy_update(
            actor=owner,
            store=store,
            condition_rules="Unused, in the original box, with all accessories.",
            address_name=store.name,
            address_line1=f"{n} Canton Road",
            address_city="Hong Kong",
            address_postal_code="",
            address_country="HK",
            notes="",
            **fields,
        )
        return store

    # --- orders --------------------------------------------------------------------------------

    def order(self, *, buyer, store, platform, shipped_days_ago, delivered_days_ago, carrier="dhl"):
        """An order placed 3 days before it shipped, through the platform's own services."""
        from orders import services

        self.serial += 1
        number = f"LD-{self.serial:05d}"
        lines = self.rng.sample(PRODUCTS, self.rng.choice([1, 1, 2]))
        placed_at = self.now - timedelta(days=shipped_days_ago + 3, hours=self.rng.randint(0, 20))
        carrier_row = self.carriers[carrier]
        order, _ = services.order_create(
            actor=platform,
            number=number,
            buyer=buyer,
            store=store,
            carrier=carrier_row,
            placed_at=placed_at,
            ship_by=placed_at + timedelta(days=3),
            total=sum(price for _title, price in lines),
            currency="USD",
            items=[services.ItemLine(title=title, quantity=1, unit_price=price) for title, price in lines],
        )
        shipped_at = self.now - timedelta(days=shipped_days_ago, hours=self.rng.randint(0, 12))
        tracking = f"TRK{self.serial:07d}"
        order = services.order_record_shipment(
            actor=platform, order=order, carrier=carrier_row, tracking_number=tracking, shipped_at=shipped_at
        )
        if delivered_days_ago is not None:
            order = services.order_record_delivery(
                actor=platform, order=order, delivered_at=self.now - timedelta(days=delivered_days_ago)
            )
        return order

    def photo(self, colour: str):
        from messaging.demo import drawing

        self.photo_serial += 1
        return drawing(f"load-{self.photo_serial}", colour)

    def conversation(self, order, *, lines: int) -> None:
        from messaging.services import message_post

        texts = [
            ("buyer", "Hello, there is a problem with my order. Photo attached."),
            ("seller", "Sorry to hear that. Could you send a photo of the box as well?"),
            ("buyer", "Here is the box; it looks fine from outside."),
        ]
        for who, body in texts[:lines]:
            author = order.buyer if who == "buyer" else order.store.owner
            uploads = [self.photo("#7aa7d9" if who == "buyer" else "#d9a27a")] if self.rng.random() < 0.5 else []
            message_post(author=author, order=order, body=body, uploads=uploads)

    # --- disputes ------------------------------------------------------------------------------

    def dispute(self, order, kind: str, member=None) -> None:
        """Take a dispute on `order` to the state `kind` names, as the parties would."""
        from disputes.services import dispute_act_by, dispute_open

        buyer, seller = order.buyer, order.store.owner
        with_return = kind in ("awaiting_return", "return_in_transit")
        dispute = dispute_open(
            buyer=buyer,
            order=order,
            reason="wrong_item" if with_return else "damaged",
            item_received=True,
            refund_type="full",
            return_item=with_return,
            description="The item arrived in a state that does not match the listing.",
            why_unresolved="The seller has not answered my message in four days.",
            uploads=[self.photo("#c9a0dc")],
        )
        if kind == "awaiting_seller":
            return
        if kind == "awaiting_buyer_offer":
            offer = (order.total * Decimal("0.3")).quantize(Decimal("0.01"))
            dispute_act_by(
                user=seller,
                dispute=dispute,
                action="propose",
                refund_amount=offer,
                note="I can refund part of it; the item still works.",
            )
            return
        if kind in ("awaiting_return", "return_in_transit", "resolved"):
            dispute = dispute_act_by(user=seller, dispute=dispute, action="accept")
            if kind == "return_in_transit":
                dispute_act_by(
                    user=buyer,
                    dispute=dispute,
                    action="return_shipment",
                    carrier=self.carriers["dhl"],
                    tracking_number=f"RET{dispute.pk:06d}",
                )
            return
        if kind == "cancelled":
            dispute_act_by(user=buyer, dispute=dispute, action="cancel", note="The seller sent a replacement.")
            return
        dispute = dispute_act_by(user=seller, dispute=dispute, action="reject", note="The item was fine when it left.")
        if kind == "awaiting_buyer_rejected":
            return
        dispute = dispute_act_by(user=buyer, dispute=dispute, action="escalate", note="Please look at the photos.")
        if kind == "under_review":
            dispute_act_by(user=member, dispute=dispute, action="claim")

    # --- everything ----------------------------------------------------------------------------

    def run(self) -> dict:
        from accounts.models import PLATFORM_GROUP

        started = time.perf_counter()
        platforms = [self.person(f"platform{n}", first_name="Platform", group=PLATFORM_GROUP) for n in (1, 2)]
        team = [self.team_member(n) for n in range(1, TEAM + 1)]
        sellers = [self.person(f"seller{n:02d}", first_name=f"Seller {n}") for n in range(1, 41)]
        stores = [self.store(owner, n) for n, owner in enumerate(sellers, start=1)]
        buyers = [self.person(f"buyer{n:03d}", first_name=f"Buyer {n}") for n in range(1, 149)]
        print(f"[seed] accounts: {time.perf_counter() - started:.1f} s", flush=True)

        mix = list(DISPUTE_MIX)
        self.rng.shuffle(mix)
        members = [member for member, _key in team] * UNDER_REVIEW_PER_MEMBER
        cast_buyers = []
        for index, buyer in enumerate(buyers):
            platform = platforms[index % 2]
            picks = self.rng.sample(stores, 6)
            free = [
                self.order(
                    buyer=buyer,
                    store=picks[0],
                    platform=platform,
                    shipped_days_ago=self.rng.randint(8, 14),
                    delivered_days_ago=self.rng.randint(2, 6),
                ),
                self.order(
                    buyer=buyer,
                    store=picks[1],
                    platform=platform,
                    shipped_days_ago=self.rng.randint(8, 14),
                    delivered_days_ago=self.rng.randint(2, 6),
                    carrier="ups",
                ),
            ]
            if self.rng.random() < 0.4:
                self.conversation(free[0], lines=1)
            not_yet = self.order(
                buyer=buyer, store=picks[2], platform=platform, shipped_days_ago=2, delivered_days_ago=None
            )
            settled = self.order(
                buyer=buyer,
                store=picks[3],
                platform=platform,
                shipped_days_ago=60,
                delivered_days_ago=55,
                carrier="fedex",
            )
            disputed = []
            for store in picks[4:6]:
                shipped, delivered = self.rng.randint(9, 16), self.rng.randint(3, 8)
                order = self.order(
                    buyer=buyer, store=store, platform=platform, shipped_days_ago=shipped, delivered_days_ago=delivered
                )
                self.conversation(order, lines=self.rng.randint(1, 3))
                kind = mix.pop()
                self.dispute(order, kind, members.pop() if kind == "under_review" else None)
                disputed.append(order.number)
            cast_buyers.append(
                {
                    "username": buyer.username,
                    "free": [o.number for o in free],
                    "orders": [o.number for o in (*free, not_yet, settled)] + disputed,
                }
            )
            if (index + 1) % 25 == 0:
                print(f"[seed] buyers {index + 1}/148: {time.perf_counter() - started:.1f} s", flush=True)
        self.settle()
        return {
            "password": PASSWORD,
            "buyers_pages": cast_buyers[:BUYERS_PAGES],
            "buyers_app": cast_buyers[BUYERS_PAGES:],
            "sellers_pages": [{"username": s.username} for s in sellers[:SELLERS_PAGES]],
            "sellers_app": [{"username": s.username} for s in sellers[SELLERS_PAGES:]],
            "team": [{"username": member.username, "totp_key": key} for member, key in team],
            "platform": [{"username": p.username} for p in platforms],
            "buyer_usernames": [b.username for b in buyers],
            "store_slugs": [s.slug for s in stores],
            "seconds": round(time.perf_counter() - started, 1),
        }

    def settle(self) -> None:
        """Run every sweep once (window notices, completions of long-settled orders), then mark
        the seeded history's notifications as already emailed: the load run's mail is its own."""
        from django.db import connection

        from disputes.tasks import run_all_sweeps
        from orders.models import Order

        print(f"[seed] sweeps: {run_all_sweeps()}", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE messaging_notification SET delivered_at = now() WHERE delivered_at IS NULL")
        # Statistics for the planner, as a database that has been running would have them.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"[seed] orders: {Order.objects.count()}", flush=True)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: seed.py CAST_JSON")
    setup()
    cast = Seeder().run()
    Path(sys.argv[1]).write_text(json.dumps(cast, indent=1))
    print(f"[seed] seeded in {cast['seconds']} s", flush=True)


if __name__ == "__main__":
    main()
