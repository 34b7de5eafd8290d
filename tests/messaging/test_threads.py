"""Threads: who may read and post, unread state, and the email to the other party."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from messaging.models import Message
from tests.conftest import api_as
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def order(world):
    return make_order(buyer=world.alice, store=world.carols, number="M-1")


@pytest.fixture
def photo_url(world, order):
    response = api_as(world.alice).post(
        "/api/orders/M-1/messages/", {"body": "Cracked screen", "images": [upload(jpeg_bytes())]}, format="multipart"
    )
    assert response.status_code == 201
    return response.json()["images"][0]


def persona(world, name):
    return None if name == "anonymous" else getattr(world, name)


ACCESS = [("alice", 200), ("carol", 200), ("bob", 404), ("dave", 404), ("erin", 200), ("anonymous", 401)]


@pytest.mark.parametrize(("who", "expected"), ACCESS)
def test_photo_and_thumbnail_are_served_only_to_the_parties_and_the_team(world, photo_url, who, expected):
    client = api_as(persona(world, who))
    for url in (photo_url["url"], photo_url["thumbnail_url"]):
        response = client.get(url)
        assert response.status_code == expected
        if expected == 200:
            assert response["Content-Type"] == "image/jpeg"
            assert response["X-Content-Type-Options"] == "nosniff"
            assert "private" in response["Cache-Control"]


def test_an_unknown_or_malformed_photo_id_is_404(world):
    client = api_as(world.alice)
    assert client.get("/photos/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/photos/not-a-uuid/").status_code == 404


@pytest.mark.parametrize(("who", "expected"), ACCESS)
def test_thread_is_readable_by_the_parties_and_the_team(world, photo_url, who, expected):
    response = api_as(persona(world, who)).get("/api/orders/M-1/messages/")
    assert response.status_code == expected
    if expected == 200:
        messages = response.json()["results"]
        assert [m["body"] for m in messages] == ["Cracked screen"]
        assert messages[0]["author"] == "alice" and messages[0]["role"] == "buyer"


@pytest.mark.parametrize(
    ("who", "expected"),
    [("alice", 201), ("carol", 201), ("bob", 404), ("dave", 404), ("erin", 409), ("anonymous", 401)],
)
def test_only_the_parties_post_until_a_dispute_reaches_the_team(world, order, who, expected):
    response = api_as(persona(world, who)).post("/api/orders/M-1/messages/", {"body": "Hello"}, format="multipart")
    assert response.status_code == expected
    if who == "erin":
        assert response.json()["code"] == "invalid_state"
        assert "escalated" in response.json()["detail"]


def test_thread_is_oldest_first_and_keeps_line_breaks(world, order):
    with time_machine.travel(NOW, tick=False):
        api_as(world.alice).post("/api/orders/M-1/messages/", {"body": "first\nsecond line"}, format="multipart")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        api_as(world.carol).post("/api/orders/M-1/messages/", {"body": "reply"}, format="json")
    messages = api_as(world.alice).get("/api/orders/M-1/messages/").json()["results"]
    assert [m["body"] for m in messages] == ["first\nsecond line", "reply"]
    assert [m["role"] for m in messages] == ["buyer", "seller"]
    assert messages[0]["created_at"].endswith("Z") or messages[0]["created_at"].endswith("+00:00")


def test_empty_and_overlong_messages_are_400(world, order):
    client = api_as(world.alice)
    assert client.post("/api/orders/M-1/messages/", {"body": "   "}, format="multipart").status_code == 400
    too_long = client.post("/api/orders/M-1/messages/", {"body": "x" * 5001}, format="multipart")
    assert too_long.status_code == 400 and "body" in too_long.json()["fields"]
    assert not Message.objects.exists()


def test_message_body_is_escaped_on_the_page(client, world, order):
    api_as(world.alice).post(
        "/api/orders/M-1/messages/", {"body": "<script>alert(1)</script>\nline two"}, format="json"
    )
    client.force_login(world.carol)
    page = client.get("/orders/M-1/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>line two" in page


def _thread_box(client, user) -> str:
    """The conversation box of the order page, as `user` reads it."""
    client.force_login(user)
    page = client.get("/orders/M-1/").content.decode()
    box = page[page.index('id="thread"') : page.index("</section>", page.index('id="thread"'))]
    return re.sub(r"\s+", " ", box)


def test_the_conversation_says_who_is_in_it_from_the_readers_side(client, world, order):
    alice = world.alice.display_name
    team_note = "The dispute team can read this conversation, and may write here if a dispute is escalated."
    buyer_box = _thread_box(client, world.alice)
    assert "You and Carol&#x27;s Gadgets." in buyer_box and "Between the buyer" not in buyer_box
    seller_box = _thread_box(client, world.carol)
    assert f"You (Carol&#x27;s Gadgets) and the buyer, {alice}." in seller_box
    team_box = _thread_box(client, world.erin)
    assert f"The buyer, {alice}, and Carol&#x27;s Gadgets." in team_box and "You and" not in team_box
    for box in (buyer_box, seller_box, team_box):
        assert team_note in box


def test_the_readers_own_messages_are_labelled_you(client, world, order):
    api_as(world.alice).post("/api/orders/M-1/messages/", {"body": "Cracked screen"}, format="json")
    api_as(world.carol).post("/api/orders/M-1/messages/", {"body": "Sorry to hear"}, format="json")
    buyer_box = _thread_box(client, world.alice)
    assert "<strong>You</strong>" in buyer_box and "<strong>Carol&#x27;s Gadgets</strong>" in buyer_box
    assert buyer_box.count("message-mine") == 1
    seller_box = _thread_box(client, world.carol)
    assert f"<strong>{world.alice.display_name}</strong>" in seller_box and "<strong>You</strong>" in seller_box
    team_box = _thread_box(client, world.erin)
    assert "<strong>You</strong>" not in team_box and "message-mine" not in team_box


def test_messages_cannot_be_edited_or_deleted_over_the_api(world, photo_url):
    client = api_as(world.alice)
    assert client.put("/api/orders/M-1/messages/", {"body": "changed"}, format="json").status_code == 405
    assert client.delete("/api/orders/M-1/messages/").status_code == 405


def test_unread_counts_move_as_messages_are_sent_and_read(client, world, order):
    alice, carol = api_as(world.alice), api_as(world.carol)
    assert carol.get("/api/messages/unread/").json() == []
    alice.post("/api/orders/M-1/messages/", {"body": "one"}, format="json")
    alice.post("/api/orders/M-1/messages/", {"body": "two"}, format="json")
    assert carol.get("/api/messages/unread/").json() == [{"order": "M-1", "unread": 2}]
    assert alice.get("/api/messages/unread/").json() == []  # your own messages are never unread

    assert carol.post("/api/orders/M-1/messages/read/").status_code == 200
    assert carol.get("/api/messages/unread/").json() == []

    carol.post("/api/orders/M-1/messages/", {"body": "answer"}, format="json")
    assert alice.get("/api/messages/unread/").json() == [{"order": "M-1", "unread": 1}]

    # Pages: the count shows on the orders list and in the header, and opening the order reads it.
    client.force_login(world.alice)
    listing = client.get("/orders/").content.decode()
    assert "1 unread message" in listing
    client.get("/orders/M-1/")
    assert alice.get("/api/messages/unread/").json() == []


@pytest.mark.django_db(transaction=True)
def test_unread_counts_lose_nothing_when_messages_are_posted_at_once(world, order):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from messaging.selectors import unread_total
    from messaging.services import message_post

    if connection.vendor != "postgresql":
        pytest.skip("real concurrent transactions")

    def post(author):
        try:
            message_post(author=author, order=order, body="again")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:  # the thread's lock orders them; no increment is lost
        list(pool.map(post, [world.alice] * 10 + [world.carol] * 3))
    assert Message.objects.count() == 13
    # Whoever wrote last has read everything before; the other has what came after their last.
    last = Message.objects.order_by("-created_at", "-id").first().author
    other = world.carol if last == world.alice else world.alice
    assert unread_total(last) == 0
    assert (
        unread_total(other)
        == Message.objects.filter(
            author=last, created_at__gt=Message.objects.filter(author=other).order_by("-created_at").first().created_at
        ).count()
    )


def test_unread_counts_from_before_the_counters_are_rebuilt_by_the_migration(world, order):
    """messaging 0005 counts each party's unread messages from the messages themselves."""
    from importlib import import_module

    from django.apps import apps

    from messaging.models import ThreadState
    from messaging.selectors import unread_by_order

    other = make_order(buyer=world.alice, store=world.carols, number="M-2")
    alice, carol = api_as(world.alice), api_as(world.carol)
    with time_machine.travel(NOW, tick=False) as clock:
        for body in ("one", "two", "three"):
            alice.post("/api/orders/M-1/messages/", {"body": body}, format="json")
        carol.post("/api/orders/M-1/messages/read/")
        clock.shift(timedelta(minutes=1))
        alice.post("/api/orders/M-1/messages/", {"body": "four"}, format="json")
        carol.post("/api/orders/M-2/messages/", {"body": "hello"}, format="json")
    expected = {"alice": unread_by_order(world.alice), "carol": unread_by_order(world.carol)}
    assert expected == {"alice": {"M-2": 1}, "carol": {"M-1": 1}}
    ThreadState.objects.filter(user=world.alice).delete()  # never opened: no row yet
    ThreadState.objects.update(unread=0)
    import_module("messaging.migrations.0005_thread_state_unread").count_unread(apps, None)
    assert {"alice": unread_by_order(world.alice), "carol": unread_by_order(world.carol)} == expected
    assert other.thread.states.get(user=world.alice).unread == 1


def test_marking_a_thread_read_needs_access_to_the_order(world, order):
    assert api_as(world.bob).post("/api/orders/M-1/messages/read/").status_code == 404
    assert api_as(None).post("/api/orders/M-1/messages/read/").status_code == 401


def test_unread_page_and_seller_inbox_list_unread_threads_first(client, world, order):
    make_order(buyer=world.bob, store=world.carols, number="M-2")
    api_as(world.bob).post("/api/orders/M-2/messages/", {"body": "older"}, format="json")
    api_as(world.carol).post("/api/orders/M-2/messages/", {"body": "answered"}, format="json")
    api_as(world.alice).post("/api/orders/M-1/messages/", {"body": "new"}, format="json")
    client.force_login(world.carol)
    inbox = client.get("/seller/inbox/").content.decode()
    assert inbox.index('data-order="M-1"') < inbox.index('data-order="M-2"')
    unread = client.get("/messages/unread/").content.decode()
    assert 'data-order="M-1"' in unread and 'data-order="M-2"' not in unread


def test_the_other_party_is_emailed_once_per_ten_minutes(world, order, django_capture_on_commit_callbacks):
    def send(user, body):
        with django_capture_on_commit_callbacks(execute=True):
            response = api_as(user).post("/api/orders/M-1/messages/", {"body": body}, format="json")
        assert response.status_code == 201

    with time_machine.travel(NOW, tick=False):
        send(world.alice, "first")
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        send(world.alice, "second")
    assert [m.to for m in mail.outbox] == [["carol@example.com"]]
    assert "M-1" in mail.outbox[0].subject and "first" in mail.outbox[0].body

    with time_machine.travel(NOW + timedelta(minutes=10, seconds=1), tick=False):
        send(world.alice, "third")
    assert len(mail.outbox) == 2

    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        send(world.carol, "reply")  # alice's own slot is separate
    assert [m.to for m in mail.outbox][-1] == ["alice@example.com"]


def test_a_broker_outage_does_not_fail_the_message(world, order, django_capture_on_commit_callbacks, monkeypatch):
    from messaging import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.email_new_message, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(world.alice).post("/api/orders/M-1/messages/", {"body": "still saved"}, format="json")
    assert response.status_code == 201
    assert Message.objects.filter(body="still saved").exists()


def test_page_form_shows_a_clear_error_for_a_bad_photo(client, world, order):
    client.force_login(world.alice)
    response = client.post("/orders/M-1/messages/", {"body": "see", "images": [upload(b"not an image", "x.jpg")]})
    assert response.status_code == 400
    assert "is not a JPEG, PNG, WebP or HEIC photo" in str(response.context["message_form"].errors["images"])
    assert not Message.objects.exists()
    ok = client.post("/orders/M-1/messages/", {"body": "see", "images": [upload(jpeg_bytes(), "x.jpg")]})
    assert ok.status_code == 302 and ok["Location"] == "/orders/M-1/#thread"
    assert "Message sent." in client.get(ok["Location"]).content.decode()
