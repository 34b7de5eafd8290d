"""Cached reads are never stale (core/read_cache.py): after each kind of change, made the way it is made
in production (its own committed transaction: a service, a sweep, a bulk or admin edit), the next read shows
it. And the cache changes nobody's access: missing and forbidden are 404 alike, the team still sees what
only the team sees.

These tests commit (transaction=True): a change is seen through the transaction ids that wrote the rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.test import Client
from django.urls import reverse

from disputes.models import Dispute
from disputes.review import ruling_submit
from disputes.services import dispute_act_by, dispute_open, evidence_add
from disputes.sweeps import sweep_clocks
from messaging.models import Message
from messaging.services import message_post
from orders.models import Order
from orders.services import extension_request, order_record_delivery
from sellers.models import Store
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED, open_dispute
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def opened(world):
    with time_machine.travel(OPEN_AT, tick=False):
        return open_dispute(world)


def read(user, dispute_id, *, at=OPEN_AT):
    with time_machine.travel(at, tick=False):
        response = api_as(user).get(f"/api/disputes/{dispute_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def cached_keys() -> int:
    return len(list(cache._cache.get_client().scan_iter("*read:dispute*")))


def test_a_dispute_read_is_cached_and_shows_every_kind_of_change(world, opened):
    first = read(world.alice, opened.pk)
    assert (first["state"], [p["kind"] for p in first["proposals"]], first["evidence"]) == (
        "awaiting_seller",
        ["request"],
        [],
    )
    assert read(world.alice, opened.pk) == first
    assert cached_keys() == 1  # the second read came from the cache

    at = OPEN_AT + timedelta(hours=1)
    with time_machine.travel(at, tick=False):  # a proposal
        dispute_act_by(user=world.carol, dispute=opened, action="propose", refund_amount=Decimal("30.00"), note="Half?")
    after = read(world.alice, opened.pk, at=at)
    assert after["state"] == "awaiting_buyer"
    assert [p["refund_amount"] for p in after["proposals"]] == ["80.00", "30.00"]

    with time_machine.travel(at, tick=False):  # evidence with a photo
        evidence_add(author=world.alice, dispute=opened, note="The box.", uploads=[upload(jpeg_bytes())])
    assert [e["note"] for e in read(world.alice, opened.pk, at=at)["evidence"]] == ["The box."]

    with time_machine.travel(at, tick=False):  # escalation, then a ruling with a refund
        dispute_act_by(user=world.alice, dispute=opened, action="escalate", note="No.")
        ruling_submit(staff=world.erin, dispute=Dispute.objects.get(pk=opened.pk), outcome="partial_refund",
                      refund_amount=Decimal("25.00"), note="Half of the case.")  # fmt: skip
    ruled = read(world.alice, opened.pk, at=at)
    assert ruled["state"] == "resolved"
    assert ruled["resolution"]["refunded"] == "25.00" and ruled["money"]["refunded"] == "25.00"
    assert ruled["ruling"]["note"] == "Half of the case."

    # An edit that goes round every service (a bulk update, as admin actions and data fixes make).
    Dispute.objects.filter(pk=opened.pk).update(ruling_note="Half of the case, corrected.")
    assert read(world.alice, opened.pk, at=at)["ruling"]["note"] == "Half of the case, corrected."

    # A person renamed: the proposal names its author.
    world.carol.username = "carol-renamed"
    world.carol.save(update_fields=["username"])
    assert read(world.alice, opened.pk, at=at)["proposals"][1]["author"] == "carol-renamed"


def test_a_sweep_is_seen_by_the_next_read(world, opened):
    assert read(world.alice, opened.pk)["state"] == "awaiting_seller"
    late = Dispute.objects.get(pk=opened.pk).respond_by + timedelta(minutes=1)
    with time_machine.travel(late, tick=False):
        assert sweep_clocks(now=late) == 1
    assert read(world.alice, opened.pk, at=late)["state"] != "awaiting_seller"


def test_what_changes_with_time_alone_is_at_most_a_minute_old(world, opened):
    """The default outcome counts down to the seller's deadline: a read a minute later is built again."""
    first = read(world.alice, opened.pk)
    later = read(world.alice, opened.pk, at=OPEN_AT + timedelta(days=2))
    assert cached_keys() == 2
    assert first["default_outcome"] is not None and later["default_outcome"] is not None


def test_the_cache_keeps_each_viewer_to_what_they_may_see(world, opened):
    # The team's read (with the assignee) and the buyer's (without) are kept apart.
    assert "assignee" in read(world.erin, opened.pk)
    assert "assignee" not in read(world.alice, opened.pk)
    assert "assignee" in read(world.erin, opened.pk)
    # A stranger gets 404 for a cached dispute as for a missing one, and the same body.
    with time_machine.travel(OPEN_AT, tick=False):
        stranger = api_as(world.bob).get(f"/api/disputes/{opened.pk}/")
        missing = api_as(world.bob).get(f"/api/disputes/{opened.pk + 1000}/")
        junk = api_as(world.alice).get("/api/disputes/99999999999999999999/")
    assert stranger.status_code == missing.status_code == junk.status_code == 404
    assert stranger.json() == missing.json()


def test_the_viewers_time_zone_and_language_are_part_of_the_key(world, opened):
    """The API writes times in UTC today, and English is the one language yet; the key still holds the zone
    and the language, so that nothing worded or dated for one viewer is served to another."""
    read(world.alice, opened.pk)
    world.alice.time_zone = "Asia/Tokyo"
    world.alice.save(update_fields=["time_zone"])
    read(world.alice, opened.pk)
    assert cached_keys() == 2


# --- an order's detail --------------------------------------------------------------------------------


def read_order(user, number, *, at=OPEN_AT):
    with time_machine.travel(at, tick=False):
        response = api_as(user).get(f"/api/orders/{number}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_an_order_read_shows_every_kind_of_change(world):
    order = make_order(buyer=world.alice, store=world.carols, number="C-1", shipped_at=SHIPPED, total=Decimal("80.00"))
    first = read_order(world.alice, "C-1")
    assert (first["delivered_at"], first["dispute"], first["extension_requests"]) == (None, None, [])
    assert read_order(world.carol, "C-1") == first  # one representation for everyone who may see it

    with time_machine.travel(OPEN_AT, tick=False):  # the platform reports the delivery
        order_record_delivery(actor=world.platform, order=order, delivered_at=OPEN_AT - timedelta(days=1))
    assert read_order(world.alice, "C-1")["delivered_at"] is not None

    with time_machine.travel(OPEN_AT, tick=False):  # the buyer asks for more time
        extension_request(buyer=world.alice, order=order, days=5, note="Still waiting.")
    assert [r["days"] for r in read_order(world.alice, "C-1")["extension_requests"]] == [5]

    with time_machine.travel(OPEN_AT, tick=False):  # a dispute is opened on the order
        dispute = dispute_open(buyer=world.alice, order=order, reason="damaged", item_received=True,
                               refund_type="full", refund_amount=None, return_item=False,
                               description="Cracked.", uploads=[upload(jpeg_bytes())])  # fmt: skip
    shown = read_order(world.alice, "C-1")
    assert shown["dispute"] == dispute.pk and [d["state"] for d in shown["disputes"]] == ["awaiting_seller"]

    with time_machine.travel(OPEN_AT, tick=False):  # ... and settled
        dispute_act_by(user=world.carol, dispute=dispute, action="accept")
    assert [d["state"] for d in read_order(world.alice, "C-1")["disputes"]] == ["resolved"]

    Order.objects.filter(pk=order.pk).update(tracking_number="FIXED-1")  # an admin's or a data fix's edit
    assert read_order(world.alice, "C-1")["tracking_number"] == "FIXED-1"
    Store.objects.filter(pk=world.carols.pk).update(name="Carol's Gadgets Ltd")  # the store renamed
    assert read_order(world.alice, "C-1")["store"]["name"] == "Carol's Gadgets Ltd"


def test_an_order_read_keeps_its_access_rule(world):
    make_order(buyer=world.alice, store=world.carols, number="C-2", shipped_at=SHIPPED)
    read_order(world.alice, "C-2")  # cached now
    read_order(world.platform, "C-2")  # the platform reads every order
    with time_machine.travel(OPEN_AT, tick=False):
        stranger = api_as(world.bob).get("/api/orders/C-2/")
        missing = api_as(world.bob).get("/api/orders/C-404/")
    assert stranger.status_code == missing.status_code == 404
    assert stranger.json() == missing.json()


# --- an order's messages ------------------------------------------------------------------------------


def read_thread(user, number, *, at=OPEN_AT, status=200):
    with time_machine.travel(at, tick=False):
        response = api_as(user).get(f"/api/orders/{number}/messages/")
    assert response.status_code == status, response.content
    return response.json() if status == 200 else None


def bodies(page) -> list[str]:
    return [message["body"] for message in page["results"]]


def test_a_thread_read_shows_each_new_message_and_photo(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    order = make_order(buyer=world.alice, store=world.carols, number="T-1", shipped_at=SHIPPED)
    assert bodies(read_thread(world.alice, "T-1")) == []
    with time_machine.travel(OPEN_AT, tick=False):
        message_post(author=world.alice, order=order, body="Where is it?")
    assert bodies(read_thread(world.alice, "T-1")) == ["Where is it?"]
    with time_machine.travel(OPEN_AT, tick=False):
        message_post(author=world.carol, order=order, body="Here is the receipt.", uploads=[upload(jpeg_bytes())])
    page = read_thread(world.alice, "T-1")
    assert bodies(page) == ["Where is it?", "Here is the receipt."]
    assert len(page["results"][1]["images"]) == 1
    assert bodies(read_thread(world.carol, "T-1")) == bodies(page)
    Message.objects.filter(Q(thread__order=order)).update(body="(removed by the team)")  # a moderator's edit
    assert bodies(read_thread(world.alice, "T-1")) == ["(removed by the team)"] * 2


def test_a_thread_read_keeps_its_access_rule(world):
    make_order(buyer=world.alice, store=world.carols, number="T-2", shipped_at=SHIPPED)
    read_thread(world.alice, "T-2")  # cached now
    read_thread(world.platform, "T-2", status=404)  # the platform reads orders, never their conversation
    read_thread(world.bob, "T-2", status=404)
    read_thread(world.erin, "T-2")  # the team reads every conversation


# --- the order page and the dispute page (disputes/page_cache.py) --------------------------------------


def browser(user) -> Client:
    """A signed-in browser after its first visit: it holds the session and the CSRF cookie."""
    client = Client()
    client.force_login(user)
    with time_machine.travel(OPEN_AT, tick=False):
        client.get("/accounts/login/")
    client.cookies.load({settings.CSRF_COOKIE_NAME: "a" * 32})
    return client


def page(client, path, *, at=OPEN_AT) -> str:
    with time_machine.travel(at, tick=False):
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_pages_are_kept_and_show_every_kind_of_change(world, opened, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    alice, carol = browser(world.alice), browser(world.carol)
    dispute_page, order_page = f"/disputes/{opened.pk}/", f"/orders/{opened.order.number}/"
    first = page(alice, dispute_page)
    assert page(alice, dispute_page) == first  # kept: the same page again
    assert len(list(cache._cache.get_client().scan_iter("*read:page:dispute*"))) == 1

    at = OPEN_AT + timedelta(hours=1)
    with time_machine.travel(at, tick=False):  # a message in the conversation
        message_post(author=world.carol, order=opened.order, body="I can send another one.")
    assert "I can send another one." in page(alice, dispute_page, at=at)
    assert "I can send another one." in page(alice, order_page, at=at)

    with time_machine.travel(at, tick=False):  # a counter-offer
        dispute_act_by(user=world.carol, dispute=opened, action="propose", refund_amount=Decimal("31.50"), note="Half?")
    assert "31.50" in page(alice, dispute_page, at=at)
    assert "31.50" in page(carol, dispute_page, at=at)  # the seller's own page, kept apart

    with time_machine.travel(at, tick=False):  # escalated and ruled, with a refund
        dispute_act_by(user=world.alice, dispute=opened, action="escalate", note="No.")
        ruling_submit(staff=world.erin, dispute=Dispute.objects.get(pk=opened.pk), outcome="partial_refund",
                      refund_amount=Decimal("27.25"), note="The team's reasons.")  # fmt: skip
    ruled = page(alice, dispute_page, at=at)
    assert "The team&#x27;s reasons." in ruled or "The team's reasons." in ruled
    assert "27.25" in ruled

    Dispute.objects.filter(pk=opened.pk).update(ruling_note="Reasons, corrected by an admin.")
    assert "Reasons, corrected by an admin." in page(alice, dispute_page, at=at)


def test_a_page_shows_the_sweep_and_the_navigation_counts(world, opened):
    alice = browser(world.alice)
    dispute_page = f"/disputes/{opened.pk}/"
    before = page(alice, dispute_page)
    late = Dispute.objects.get(pk=opened.pk).respond_by + timedelta(minutes=1)
    with time_machine.travel(late, tick=False):
        assert sweep_clocks(now=late) == 1
    after = page(alice, dispute_page, at=late)
    assert after != before and Dispute.objects.get(pk=opened.pk).state != "awaiting_seller"
    # A message on another order shows in the navigation's unread count on this page.
    other = make_order(buyer=world.alice, store=world.carols, number="N-2", shipped_at=SHIPPED)
    with time_machine.travel(late, tick=False):
        message_post(author=world.carol, order=other, body="Hello about N-2.")
    assert page(alice, dispute_page, at=late) != after


def test_a_page_is_never_served_to_someone_else_or_with_a_message_to_show(world, opened):
    alice, bob = browser(world.alice), browser(world.bob)
    dispute_page = f"/disputes/{opened.pk}/"
    page(alice, dispute_page)
    with time_machine.travel(OPEN_AT, tick=False):
        assert bob.get(dispute_page).status_code == 404
        assert bob.get(f"/orders/{opened.order.number}/").status_code == 404
        assert bob.get(f"/disputes/{opened.pk + 1000}/").status_code == 404
        # A form posted: the page after it says what happened, once (not the kept page).
        done = alice.post(f"/orders/{opened.order.number}/messages/", {"body": "A question."}, follow=True)
    assert done.status_code == 200
    assert "A question." in done.content.decode()


def test_a_kept_page_follows_the_readers_navigation(world, opened):
    """What the navigation shows depends on the reader, not the order: a seller's "My orders" appears once
    they have bought something."""
    carol = browser(world.carol)
    dispute_page = f"/disputes/{opened.pk}/"
    before = page(carol, dispute_page)
    assert f'href="{reverse("orders:list")}"' not in before  # a seller who buys nothing
    make_order(buyer=world.carol, store=world.daves, number="B-1", shipped_at=SHIPPED)
    after = page(carol, dispute_page)
    assert f'href="{reverse("orders:list")}"' in after


def test_a_pause_and_more_time_are_seen_by_the_next_read(world, opened):
    from disputes.models import MoreTime
    from disputes.pauses import dispute_pause, dispute_resume, more_time_answer, more_time_ask

    assert read(world.alice, opened.pk)["pause"] is None
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_pause(staff=world.erin, dispute=opened, reason="public_holiday", note="New year.", days=3)
    paused = read(world.alice, opened.pk)
    assert paused["pause"]["note"] == "New year." and paused["respond_by"] is None
    assert paused["time_left_seconds"]["respond_by"] == 5 * 86400
    # A pause edited in place (admin, a bulk fix) is a change of the dispute's own row.
    Dispute.objects.filter(pk=opened.pk).update(pause_note="New year's day.")
    assert read(world.alice, opened.pk)["pause"]["note"] == "New year's day."
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_resume(staff=world.erin, dispute=opened)
        more_time_ask(user=world.carol, dispute=opened, days=2, note="Please.")
    asked = read(world.alice, opened.pk)
    assert asked["pause"] is None and [m["status"] for m in asked["more_time"]] == ["pending"]
    # A request for more time changed without an event (a bulk edit): its own table is part of the version.
    MoreTime.objects.filter(dispute=opened).update(note="Please, two days.")
    assert read(world.alice, opened.pk)["more_time"][0]["note"] == "Please, two days."
    with time_machine.travel(OPEN_AT, tick=False):
        more_time_answer(user=world.alice, dispute=opened, accept=True)
    assert read(world.carol, opened.pk)["more_time"][0]["status"] == "accepted"


def test_a_kept_page_shows_a_pause_and_a_request_for_more_time(world, opened):
    from disputes.models import MoreTime
    from disputes.pauses import dispute_pause, more_time_ask

    alice = browser(world.alice)
    dispute_page = f"/disputes/{opened.pk}/"
    first = page(alice, dispute_page)
    assert page(alice, dispute_page) == first
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_pause(staff=world.erin, dispute=opened, reason="carrier_investigation", note="Parcel traced.", days=3)
    assert "Parcel traced." in page(alice, dispute_page)
    with time_machine.travel(OPEN_AT, tick=False):
        more_time_ask(user=world.carol, dispute=opened, days=2, note="Out of office.")
    assert "Out of office." in page(alice, dispute_page)
    MoreTime.objects.filter(dispute=opened).update(note="Back on Monday.")
    assert "Back on Monday." in page(alice, dispute_page)
