from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from accounts.models import DISPUTE_TEAM_GROUP, PLATFORM_GROUP, User
from orders import services
from orders.models import Carrier, Order
from sellers.models import Store
from sellers.services import store_policy


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.LazyAttribute(lambda u: u.username.capitalize())
    password = factory.PostGenerationMethodCall("set_password", "demo")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def team_member(username: str) -> User:
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=DISPUTE_TEAM_GROUP)[0])
    return user


def platform_account(username: str = "platform") -> User:
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=PLATFORM_GROUP))
    return user


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"store-{n}")
    name = factory.LazyAttribute(lambda s: s.slug.replace("-", " ").title())
    owner = factory.SubFactory(UserFactory)
    country = "CN"

    @factory.post_generation
    def policy(obj, create, extracted, **kwargs):
        if create:
            store_policy(obj)


def carrier(code: str) -> Carrier:
    return Carrier.objects.get(code=code)


def make_order(
    *,
    buyer: User,
    store: Store,
    number: str | None = None,
    carrier_code: str = "dhl",
    placed_at: datetime | None = None,
    ship_by: datetime | None = None,
    shipped_at: datetime | None = None,
    total: Decimal = Decimal("40.00"),
    currency: str = "USD",
    items: list[tuple[str, int, Decimal | str]] | None = None,
) -> Order:
    """An order made through the same service the platform API uses. `items`: its lines as
    (title, quantity, unit_price); by default one Widget worth the total."""
    make_order.counter += 1
    placed_at = placed_at or datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    order, _ = services.order_create(
        actor=buyer,
        number=number or f"T-{make_order.counter}",
        buyer=buyer,
        store=store,
        carrier=carrier(carrier_code),
        placed_at=placed_at,
        ship_by=ship_by or placed_at + timedelta(days=3),
        total=total,
        currency=currency,
        items=[
            services.ItemLine(title=title, quantity=quantity, unit_price=Decimal(unit_price))
            for title, quantity, unit_price in (items or [("Widget", 1, total)])
        ],
    )
    if shipped_at is not None:
        order.shipped_at = shipped_at
        order.shipment_carrier = order.carrier
        order.status = "shipped"
        order.window_opens_at = order.window_closes_at = None  # as if shipped before anyone looked
        order.refresh_window()
        order.save()
    return order


make_order.counter = 0
