"""Pauses and more time on the pages: the parties' dispute page, and the team's review screen in admin."""

from datetime import timedelta

import pytest
import time_machine

from disputes.models import Dispute, MoreTime
from disputes.pauses import dispute_pause, more_time_ask
from tests.disputes.helpers import OPEN_AT, dispute_in

pytestmark = pytest.mark.django_db
REVIEW = "/admin/disputes/reviewqueueitem/{}/review/"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def test_the_team_pauses_and_resumes_from_the_review_screen_after_confirming(client, world):
    dispute = dispute_in(world, "awaiting_seller")
    client.force_login(world.erin)
    url = REVIEW.format(dispute.pk)
    assert b"Pause" in client.get(url).content
    form = {"step": "pause", "pause-reason": "carrier_investigation", "pause-days": "4", "pause-note": "Traced."}
    asked = client.post(url, form)
    assert asked.status_code == 200 and b"Yes, pause the clocks" in asked.content
    assert Dispute.objects.get(pk=dispute.pk).paused_at is None  # nothing happens before the confirmation
    too_long = client.post(url, {**form, "pause-days": "15"})
    assert b"Yes, pause the clocks" not in too_long.content and b"14" in too_long.content
    client.post(url, {**form, "confirmed": "1"})
    paused = Dispute.objects.get(pk=dispute.pk)
    assert paused.paused_until == OPEN_AT + timedelta(days=4) and paused.pause_note == "Traced."
    assert b"Yes, resume the clocks" in client.post(url, {"step": "resume"}).content
    assert Dispute.objects.get(pk=dispute.pk).paused_at is not None
    client.post(url, {"step": "resume", "confirmed": "1"})
    assert Dispute.objects.get(pk=dispute.pk).paused_at is None


def test_a_party_cannot_reach_the_review_screen_to_pause(client, world):
    dispute = dispute_in(world, "awaiting_seller")
    client.force_login(world.carol)
    form = {"step": "pause", "pause-reason": "public_holiday", "pause-days": "2", "confirmed": "1"}
    assert client.post(REVIEW.format(dispute.pk), form).status_code in (302, 403)
    assert Dispute.objects.get(pk=dispute.pk).paused_at is None


def test_both_parties_see_the_pause_on_the_dispute_page(client, world):
    dispute = dispute_in(world, "awaiting_seller")
    dispute_pause(staff=world.erin, dispute=dispute, reason="public_holiday", note="Closed for the holiday.", days=3)
    for party in (world.alice, world.carol):
        client.force_login(party)
        page = client.get(f"/disputes/{dispute.pk}/").content.decode()
        assert "paused this dispute&#x27;s deadlines" in page or "paused this dispute's deadlines" in page
        assert "Closed for the holiday." in page and "A public holiday" in page


def test_a_party_asks_for_more_time_on_the_page_and_the_other_side_accepts(client, world):
    dispute = dispute_in(world, "awaiting_seller")
    before = Dispute.objects.get(pk=dispute.pk).respond_by
    client.force_login(world.carol)
    assert b"Ask for more time" in client.get(f"/disputes/{dispute.pk}/").content
    refused = client.post(f"/disputes/{dispute.pk}/more-time/", {"more-days": "9"})
    assert refused.status_code == 400 and not MoreTime.objects.exists()
    client.post(f"/disputes/{dispute.pk}/more-time/", {"more-days": "2", "more-note": "Supplier is away."})
    assert b"Ask for more time" not in client.get(f"/disputes/{dispute.pk}/").content  # once per side
    client.force_login(world.alice)
    page = client.get(f"/disputes/{dispute.pk}/").content.decode()
    assert "Supplier is away." in page and "Accept" in page
    client.post(f"/disputes/{dispute.pk}/more-time/answer/", {"accept": "1"})
    assert Dispute.objects.get(pk=dispute.pk).respond_by == before + timedelta(days=2)
    assert MoreTime.objects.get().status == MoreTime.Status.ACCEPTED


def test_the_asking_side_sees_no_answer_buttons(client, world):
    dispute = dispute_in(world, "awaiting_seller")
    more_time_ask(user=world.alice, dispute=dispute, days=1)
    client.force_login(world.alice)
    assert b"more-time/answer/" not in client.get(f"/disputes/{dispute.pk}/").content
