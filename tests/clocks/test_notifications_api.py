"""GET /api/notifications/ and POST /api/notifications/read/, and the page and header count."""

import pytest
import time_machine

from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in

pytestmark = pytest.mark.django_db


def test_notifications_are_the_callers_own_newest_first_with_an_unread_count(client, world):
    with time_machine.travel(OPEN_AT, tick=False) as clock:
        dispute_in(world, "awaiting_seller")  # carol: dispute opened
        clock.shift(60)
        dispute_in(world, "awaiting_buyer", number="N-2")  # carol: another; alice: your turn
    carol = api_as(world.carol)
    body = carol.get("/api/notifications/").json()
    assert body["unread"] == body["count"] >= 2
    kinds = [n["kind"] for n in body["results"]]
    assert kinds[0] == "dispute_opened" and all(not n["read"] for n in body["results"])
    times = [n["created_at"] for n in body["results"]]
    assert times == sorted(times, reverse=True)
    assert all("alice" not in n["title"] for n in body["results"])  # nothing of anyone else's
    assert api_as(world.bob).get("/api/notifications/").json()["count"] == 0

    client.force_login(world.carol)
    header = client.get("/orders/").content.decode()
    assert f'<span class="count" aria-label="{body["unread"]} new">' in header

    assert carol.post("/api/notifications/read/").json() == {"unread": 0}
    assert carol.get("/api/notifications/").json()["unread"] == 0
    assert api_as(None).get("/api/notifications/").status_code == 401


def test_the_notifications_page_lists_them_and_marks_them_read(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "awaiting_seller")
    client.force_login(world.carol)
    page = client.get("/notifications/").content.decode()
    # What happened, with the amount; what carol can do and by when, in her zone; what happens if not.
    assert "Order D-1: the buyer opened a dispute asking for $80.00" in page
    assert "by Sat 14 Mar 2026 at 12:00 (UTC)." in page
    assert "If you do not answer by then, the buyer&#x27;s request is granted" in page
    assert 'href="/disputes/' in page
    assert api_as(world.carol).get("/api/notifications/").json()["unread"] == 0
