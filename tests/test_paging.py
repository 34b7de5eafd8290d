"""Long lists on the pages come a page at a time, never cut off: every order, dispute, thread and
notification can be reached, and a bad page number still shows a list."""

import re
from datetime import timedelta

import pytest
import time_machine

from core import paging
from messaging.services import message_post
from notifications.models import Notification
from notifications.services import notify
from tests.disputes.helpers import OPEN_AT, open_dispute
from tests.factories import StoreFactory, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def three_a_page(monkeypatch):
    monkeypatch.setattr(paging, "PER_PAGE", 3)


def rows(html: str, attribute: str) -> list[str]:
    return re.findall(rf'{attribute}="([^"]+)"', html)


def test_my_orders_come_a_page_at_a_time_and_every_one_can_be_reached(client, world):
    numbers = [make_order(buyer=world.alice, store=world.carols, number=f"P-{i}").number for i in range(7)]
    client.force_login(world.alice)
    seen = []
    for page in (1, 2, 3):
        html = client.get(f"/orders/?page={page}").content.decode()
        assert f"Page {page} of 3 (7 in all)" in html
        seen += rows(html, "data-order")
    assert sorted(seen) == sorted(numbers)
    first = client.get("/orders/").content.decode()
    assert 'rel="next" href="?page=2"' in first and 'rel="prev"' not in first
    # A link someone typed or kept: not a number, or past the end, still shows a list.
    assert rows(client.get("/orders/?page=abc").content.decode(), "data-order") == rows(first, "data-order")
    assert "Page 3 of 3" in client.get("/orders/?page=99").content.decode()


def test_one_page_shows_no_pager(client, world):
    make_order(buyer=world.alice, store=world.carols, number="ONLY-1")
    client.force_login(world.alice)
    assert 'class="pager"' not in client.get("/orders/").content.decode()


def test_store_orders_pages_keep_the_chosen_store(client, world):
    second = StoreFactory(slug="carols-second", name="Carol's Second", owner=world.carol)
    for i in range(4):
        make_order(buyer=world.alice, store=second, number=f"S2-{i}")
    make_order(buyer=world.alice, store=world.carols, number="S1-0")
    client.force_login(world.carol)
    html = client.get("/seller/orders/?store=carols-second").content.decode()
    assert 'href="?store=carols-second&amp;page=2"' in html
    page_two = client.get("/seller/orders/?store=carols-second&page=2").content.decode()
    assert rows(page_two, "data-order") == ["S2-0"] and "Page 2 of 2 (4 in all)" in page_two


def test_disputes_list_pages_keep_the_ones_waiting_for_me_first(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        for i in range(4):
            open_dispute(world, number=f"DL-{i}")
    client.force_login(world.carol)
    first = client.get("/disputes/").content.decode()
    assert len(rows(first, "data-dispute")) == 3 and "Page 1 of 2 (4 in all)" in first
    assert len(rows(client.get("/disputes/?page=2").content.decode(), "data-dispute")) == 1


def test_the_inbox_puts_unread_threads_first_across_pages(client, world):
    orders = [make_order(buyer=world.alice, store=world.carols, number=f"IN-{i}") for i in range(5)]
    with time_machine.travel(OPEN_AT, tick=False) as clock:
        message_post(author=world.alice, order=orders[0], body="Hello?")  # the oldest, and unanswered
        for minutes, order in enumerate(orders[1:], start=1):
            clock.move_to(OPEN_AT + timedelta(minutes=minutes))
            message_post(author=world.alice, order=order, body="Hello?")
            message_post(author=world.carol, order=order, body="Hi!")
    client.force_login(world.carol)
    first = rows(client.get("/seller/inbox/").content.decode(), "data-order")
    second = rows(client.get("/seller/inbox/?page=2").content.decode(), "data-order")
    assert first == ["IN-0", "IN-4", "IN-3"]  # unread first, then the most recent
    assert second == ["IN-2", "IN-1"]


def test_notifications_page_marks_read_what_it_shows_and_offers_the_rest(client, world):
    for i in range(5):
        notify(recipient=world.alice, kind=Notification.Kind.YOUR_TURN, key=f"k-{i}", title=f"Note {i}")
    client.force_login(world.alice)
    html = client.get("/notifications/").content.decode()
    assert "Note 4" in html and "Note 1" not in html
    assert Notification.objects.filter(recipient=world.alice, read_at__isnull=True).count() == 2
    assert "2 more unread on other pages." in html
    client.post("/notifications/")
    assert not Notification.objects.filter(recipient=world.alice, read_at__isnull=True).exists()
    assert "more unread" not in client.get("/notifications/").content.decode()
