from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User
from core import queue
from sellers.models import Store
from tests.factories import StoreFactory, UserFactory, platform_account, team_member


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # throttling counters live in the cache
    yield
    queue.resume()  # a test that took the broker down must not pause publishing for the next one


@dataclass
class World:
    """The demo personas: two buyers, two sellers with a store each, the team, the platform."""

    alice: User
    bob: User
    carol: User
    dave: User
    erin: User
    platform: User
    carols: Store
    daves: Store


@pytest.fixture
def reference_data(db):
    """Carriers and groups: seeded by migration, but flushed by transactional (browser) tests."""
    from django.apps import apps

    from orders.reference import seed_reference_data

    seed_reference_data(apps)


@pytest.fixture
def world(reference_data) -> World:
    carol = UserFactory(username="carol")
    dave = UserFactory(username="dave")
    return World(
        alice=UserFactory(username="alice", time_zone="America/Los_Angeles"),
        bob=UserFactory(username="bob"),
        carol=carol,
        dave=dave,
        erin=team_member("erin"),
        platform=platform_account(),
        carols=StoreFactory(slug="carols-gadgets", name="Carol's Gadgets", owner=carol),
        daves=StoreFactory(slug="daves-outlet", name="Dave's Outlet", owner=dave),
    )


def api_as(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api():
    return api_as
