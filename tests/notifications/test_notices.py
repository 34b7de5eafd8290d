"""Notices that stand alone: each says what happened (with the amounts and the other side's offer),
what the reader can do and by when (in their own time zone), what happens if they don't, and links
to the page with an absolute address. They are stored as kind and parameters and put into words
when shown, so a later time-zone or language choice applies to them."""

from decimal import Decimal

import pytest
import time_machine
from django.test import override_settings
from django.utils import translation

from disputes.services import dispute_act_by
from notifications import texts
from notifications.models import Notification
from notifications.render import render
from notifications.services import notify
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in, open_dispute

pytestmark = pytest.mark.django_db


def note_for(user, kind, **filters) -> Notification:
    return Notification.objects.filter(recipient=user, kind=kind, **filters).latest("pk")


def test_the_seller_hears_what_the_buyer_asks_by_when_to_answer_and_what_happens_if_not(world):
    world.carol.time_zone = "Asia/Shanghai"
    world.carol.save()
    with time_machine.travel(OPEN_AT, tick=False):
        open_dispute(world, return_item=True, refund_type="partial", amount=Decimal("60.00"))
    shown = render(note_for(world.carol, "dispute_opened"))
    assert shown.title == "Order D-1: the buyer opened a dispute asking for $60.00"
    assert "asks for a refund of $60.00 once the item is sent back" in shown.happened
    # Five days from 9 Mar 12:00 UTC, in Shanghai (UTC+8).
    assert shown.action.endswith("by Sat 14 Mar 2026 at 20:00 (Shanghai time).")
    assert shown.otherwise.startswith("If you do not answer by then, the buyer's request is granted")


def test_a_counter_offer_tells_the_buyer_the_offer_against_her_request_in_her_own_zone(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "awaiting_buyer")  # carol offers 30.00 of the 80.00 alice asked for
    shown = render(note_for(world.alice, "your_turn"))
    assert shown.title == "Order D-1: the seller offers $30.00"
    assert "The seller offered a refund of $30.00, instead of the $80.00 you asked for." in shown.happened
    assert "“Half?”" in shown.happened  # what the seller wrote with it
    assert "by Sat 14 Mar 2026 at 05:00 (Los Angeles time)" in shown.action  # PDT, UTC-7
    assert shown.otherwise == "If you do not answer by then, the seller's offer is accepted for you: $30.00."


def test_a_rejection_keeps_the_standing_offer_in_view(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        dispute = dispute_act_by(user=world.alice, dispute=dispute, action="propose", refund_amount=Decimal("60.00"))
        dispute_act_by(user=world.carol, dispute=dispute, action="reject", note="The parcel was signed for.")
    shown = render(note_for(world.alice, "your_turn"))
    assert shown.title == "Order D-1: the seller rejected your request"
    assert "rejected your request for $60.00" in shown.happened
    assert "Their earlier offer of $30.00 still stands." in shown.happened
    assert "the seller's offer is accepted for you: $30.00" in shown.otherwise


def test_a_ruling_says_the_outcome_and_the_appeal_deadline(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review")
        dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="partial_refund",
                       refund_amount=Decimal("50.00"), note="Half the parts were missing.")  # fmt: skip
        for_alice, for_carol = render(note_for(world.alice, "ruled")), render(note_for(world.carol, "ruled"))
    assert "ruled a partial refund ($50.00 in all) to you." in for_alice.happened
    assert "ruled a partial refund ($50.00 in all) to the buyer." in for_carol.happened
    assert "appeal once, within 7 days: by Mon 16 Mar 2026 at 05:00 (Los Angeles time)" in for_alice.action
    assert "by Mon 16 Mar 2026 at 12:00 (UTC)" in for_carol.action
    assert for_alice.otherwise == "If nobody appeals by then, the ruling is final."
    # Once the appeal window has passed, the notice no longer offers it.
    later = render(note_for(world.alice, "ruled"))
    assert later.action == "" and later.otherwise == "This ruling is final."


def test_links_are_absolute_and_follow_site_url_when_shown(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
    note = note_for(world.carol, "dispute_opened")
    assert note.url == f"/disputes/{dispute.pk}/"  # stored as a path
    assert render(note).url == f"http://127.0.0.1:8000/disputes/{dispute.pk}/"
    with override_settings(SITE_URL="https://disputes.example.com"):
        assert render(note).url == f"https://disputes.example.com/disputes/{dispute.pk}/"
        body = api_as(world.carol).get("/api/notifications/").json()
    assert body["results"][0]["url"] == f"https://disputes.example.com/disputes/{dispute.pk}/"
    assert "$80.00" in body["results"][0]["body"] and "by Sat 14 Mar 2026" in body["results"][0]["body"]


def test_a_notice_is_stored_as_parameters_and_worded_in_the_zone_the_reader_has_now(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "awaiting_seller")
    note = note_for(world.carol, "dispute_opened")
    assert note.title == "" and note.body == ""  # no finished text is stored
    assert note.params["request"] == "80.00" and note.params["deadline"] == "2026-03-14T12:00:00+00:00"
    assert "(UTC)" in render(note).action
    world.carol.time_zone = "Europe/Berlin"
    world.carol.save()
    assert "by Sat 14 Mar 2026 at 13:00 (Berlin time)" in render(Notification.objects.get(pk=note.pk)).action


def test_a_notice_is_worded_in_the_readers_language(world, monkeypatch):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "awaiting_seller")
    note = note_for(world.carol, "dispute_opened")
    spoken = []

    def words_noting_the_language(params):
        spoken.append(translation.get_language())
        return texts.dispute_opened(params)

    monkeypatch.setitem(texts.WORDS, "dispute_opened", words_noting_the_language)
    world.carol.language = "es"  # the person's choice is read when the notice is shown or sent
    with translation.override("en"):
        render(note, recipient=world.carol)
    assert spoken == ["es"]


def test_rows_written_before_parameters_show_as_they_were_written(world):
    notify(recipient=world.alice, kind=Notification.Kind.YOUR_TURN, key="old",
           title="Your turn in the dispute on order X", body="Please answer.", url="/disputes/9/")  # fmt: skip
    shown = render(Notification.objects.get(dedupe_key="old"))
    assert (shown.title, shown.body, shown.url) == (
        "Your turn in the dispute on order X",
        "Please answer.",
        "http://127.0.0.1:8000/disputes/9/",
    )


def test_a_notice_whose_parameters_cannot_be_read_still_shows_as_its_kind(world, caplog):
    notify(recipient=world.alice, kind=Notification.Kind.WINDOW_OPENS, key="odd", url="/orders/X/",
           params={"order": "X", "deadline": "not a time"})  # fmt: skip
    shown = render(Notification.objects.get(dedupe_key="odd"))
    assert (shown.title, shown.body) == ("Dispute window open", "")
    assert "could not be put into words" in caplog.text


def test_the_notifications_page_shows_each_notice_in_words(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "awaiting_buyer")
    client.force_login(world.alice)
    page = client.get("/notifications/").content.decode()
    assert "Order D-1: the seller offers $30.00" in page
    assert "by Sat 14 Mar 2026 at 05:00 (Los Angeles time)" in page
    assert "If you do not answer by then, the seller&#x27;s offer is accepted for you: $30.00." in page


def test_every_kind_has_words_of_its_own():
    assert set(texts.WORDS) == set(Notification.Kind.values)
