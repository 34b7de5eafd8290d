"""The seller's one inbox: every conversation, unread first, each with its last message."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from messaging.models import ThreadState
from messaging.services import message_post
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def rows(html: str) -> list[str]:
    return re.findall(r'data-order="([^"]+)"', html)


def row(html: str, number: str) -> str:
    start = html.index(f'data-order="{number}"')
    return html[start : html.index("</li>", start)]


def test_the_inbox_previews_each_last_message_and_who_wrote_it(client, world):
    first = make_order(buyer=world.alice, store=world.carols, number="I-1")
    second = make_order(buyer=world.bob, store=world.carols, number="I-2")
    with time_machine.travel(NOW, tick=False) as clock:
        message_post(author=world.alice, order=first, body="Where is my parcel? " + "Still waiting. " * 20)
        clock.shift(timedelta(minutes=1))
        message_post(author=world.bob, order=second, body="Hello")
        message_post(author=world.carol, order=second, body="It ships <b>today</b>.")
    client.force_login(world.carol)
    html = client.get("/seller/inbox/").content.decode()
    assert rows(html) == ["I-1", "I-2"]  # unread first, though older
    unread = row(html, "I-1")
    assert "Alice:" in unread and "Where is my parcel?" in unread and "1 unread" in unread
    assert "…" in unread and "Still waiting. " * 10 not in unread  # the preview is cut short
    answered = row(html, "I-2")
    assert "You:" in answered and "It ships &lt;b&gt;today&lt;/b&gt;." in answered


def test_a_photo_only_message_is_previewed_as_photos(client, world):
    order = make_order(buyer=world.alice, store=world.carols, number="I-3")
    message_post(author=world.alice, order=order, body="", uploads=[upload(jpeg_bytes()), upload(jpeg_bytes())])
    client.force_login(world.carol)
    assert "(2 photos)" in row(client.get("/seller/inbox/").content.decode(), "I-3")


def test_a_seller_who_also_buys_finds_those_conversations_in_the_same_inbox(client, world):
    sold = make_order(buyer=world.alice, store=world.carols, number="I-4")
    bought = make_order(buyer=world.carol, store=world.daves, number="I-5")
    with time_machine.travel(NOW, tick=False) as clock:
        message_post(author=world.alice, order=sold, body="Hi Carol")
        clock.shift(timedelta(minutes=1))
        message_post(author=world.dave, order=bought, body="Your order shipped.")
    client.force_login(world.carol)
    html = client.get("/seller/inbox/").content.decode()
    assert rows(html) == ["I-5", "I-4"]
    assert "Dave&#x27;s Outlet:" in row(html, "I-5")


def test_the_unread_page_previews_too(client, world):
    order = make_order(buyer=world.alice, store=world.carols, number="I-6")
    message_post(author=world.carol, order=order, body="Could you send a photo of the box?")
    client.force_login(world.alice)
    html = client.get("/messages/unread/").content.decode()
    assert "Carol&#x27;s Gadgets:" in row(html, "I-6") and "Could you send a photo of the box?" in html


def test_opening_the_order_from_the_inbox_marks_the_thread_read(client, world):
    order = make_order(buyer=world.alice, store=world.carols, number="I-7")
    message_post(author=world.alice, order=order, body="Hello?")
    client.force_login(world.carol)
    assert "1 unread" in row(client.get("/seller/inbox/").content.decode(), "I-7")
    client.get("/orders/I-7/")
    assert ThreadState.objects.get(user=world.carol, thread__order=order).unread == 0
    assert "unread" not in row(client.get("/seller/inbox/").content.decode(), "I-7")


def test_the_inbox_is_only_for_sellers(client, world):
    client.force_login(world.alice)
    assert client.get("/seller/inbox/").status_code == 404


def test_reading_the_thread_on_the_dispute_page_marks_it_read(client, world):
    from tests.disputes.helpers import OPEN_AT, dispute_in

    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        message_post(author=world.alice, order=dispute.order, body="Any news?")
        client.force_login(world.carol)
        assert client.get(f"/disputes/{dispute.pk}/").status_code == 200
    assert ThreadState.objects.get(user=world.carol, thread__order=dispute.order).unread == 0
