"""The dispute team finds orders in admin: an exact number straight away, anything else by search."""

import re

import pytest

from tests.factories import make_order

pytestmark = pytest.mark.django_db


def found(client, term: str) -> list[str]:
    html = client.get("/admin/orders/order/", {"q": term}).content.decode()
    return sorted(set(re.findall(r"/admin/orders/order/\d+/change/[^>]*>([^<]+)<", html)))


def test_order_search_by_exact_number_and_by_anything_else(client, world):
    make_order(buyer=world.alice, store=world.carols, number="X-100")
    make_order(buyer=world.alice, store=world.carols, number="X-1000")
    make_order(buyer=world.bob, store=world.daves, number="Y-7")
    client.force_login(world.erin)
    assert found(client, "X-100") == ["X-100"]  # exact: not X-1000 as well
    assert found(client, " Y-7 ") == ["Y-7"]
    assert found(client, "X-10") == ["X-100", "X-1000"]  # part of a number
    assert found(client, "bob") == ["Y-7"]  # the buyer
