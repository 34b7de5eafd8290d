"""The seed's form, complete (issue #15, item 4): the dispute form asks what happened and why it
could not be settled with the seller, suggests a message first when nothing has been said to the
seller (never blocking), and escalating asks on a screen that says what the team looks at, when it
rules and what the two sides can still do meanwhile."""

import re

import pytest
import time_machine

from disputes.forms import DisputeOpenForm
from disputes.models import Dispute
from disputes.services import dispute_act_by
from messaging.services import message_post, thread_for
from orders.models import Carrier
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in
from tests.factories import make_order

pytestmark = pytest.mark.django_db

BODY = {
    "item_received": "no",
    "reason": "not_received",
    "refund_type": "full",
    "return_item": "no",
    "description": "The parcel never came; tracking stopped on 3 March.",
    "why_unresolved": "I wrote twice and the seller never answered.",
}


def text_of(html: str) -> str:
    """The page's words, without tags, on one line each run of spaces."""
    html = html.replace("&#x27;", "'")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def order(world):
    return make_order(buyer=world.alice, store=world.carols, number="W-1", shipped_at=SHIPPED)


def open_page(client, user, number="W-1"):
    client.force_login(user)
    with time_machine.travel(OPEN_AT, tick=False):
        return client.get(f"/orders/{number}/dispute/new/")


def post_open(client, user, body, number="W-1"):
    client.force_login(user)
    with time_machine.travel(OPEN_AT, tick=False):
        return client.post(f"/orders/{number}/dispute/new/", body)


# --- two questions, both required ------------------------------------------------------------------


def test_the_form_asks_what_happened_and_why_the_seller_could_not_resolve_it(client, world, order):
    response = open_page(client, world.alice)
    html = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 200
    # Each question is a labelled text box, its help read with it.
    assert '<label for="id_description">What happened?</label>' in html
    assert '<label for="id_why_unresolved">Why couldn\'t you resolve it with the seller?</label>' in html
    assert re.search(r'<textarea[^>]*name="why_unresolved"[^>]*aria-describedby="id_why_unresolved_helptext"', html)
    assert re.search(r'<textarea[^>]*name="why_unresolved"[^>]*maxlength="2000"', html)
    assert re.search(r'<textarea[^>]*name="why_unresolved"[^>]*required', html)
    assert 'id="id_why_unresolved_helptext"' in html and "What you asked the seller and what they answered" in html
    # The old single question is gone; what happened comes first, then why it was not settled.
    assert "Describe the problem" not in html
    assert html.index('name="description"') < html.index('name="why_unresolved"')


@pytest.mark.parametrize("missing", ["description", "why_unresolved"])
def test_each_question_is_required_and_nothing_opens_without_it(client, world, order, missing):
    response = post_open(client, world.alice, {**BODY, missing: "  "})
    assert response.status_code == 400
    assert missing in response.context["form"].errors
    assert f'id="id_{missing}_error"' in response.content.decode()
    assert not Dispute.objects.exists()


def test_why_unresolved_holds_at_most_2000_characters(client, world, order):
    form = DisputeOpenForm({**BODY, "why_unresolved": "x" * 2001}, order=order)
    assert not form.is_valid() and "why_unresolved" in form.errors
    assert DisputeOpenForm({**BODY, "why_unresolved": "x" * 2000}, order=order).is_valid()
    assert not Dispute.objects.exists()


def test_both_answers_are_stored_on_the_dispute(client, world, order):
    response = post_open(client, world.alice, BODY)
    dispute = Dispute.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/disputes/{dispute.pk}/"
    assert dispute.description == BODY["description"]
    assert dispute.why_unresolved == BODY["why_unresolved"]


# --- a message first: a suggestion, never a gate ---------------------------------------------------


def test_an_empty_thread_suggests_messaging_the_seller_first_with_a_link_to_the_message_box(client, world, order):
    thread_for(order)  # a thread with nothing in it is still an empty conversation
    html = open_page(client, world.alice).content.decode().replace("&#x27;", "'")
    words = text_of(html)
    assert "Have you written to the seller?" in words
    assert "You have not sent Carol's Gadgets a message about this order yet." in words
    assert 'href="/orders/W-1/#thread"' in html and "Message the seller first" in words
    assert "you can still open a dispute below" in words
    # Above the form, and the form is still there to send.
    assert html.index('id="message-first"') < html.index('id="dispute-form"')


def test_no_suggestion_once_the_buyer_and_seller_have_talked(client, world, order):
    message_post(author=world.alice, order=order, body="Where is my parcel?")
    html = open_page(client, world.alice).content.decode()
    assert "Have you written to the seller?" not in html and 'id="message-first"' not in html
    assert 'id="dispute-form"' in html


def test_a_message_from_the_seller_alone_counts_as_a_conversation(client, world, order):
    message_post(author=world.carol, order=order, body="Your parcel is delayed at customs.")
    assert "Message the seller first" not in open_page(client, world.alice).content.decode()


def test_the_suggestion_never_blocks_the_dispute_opens_with_an_empty_thread(client, world, order):
    assert "Message the seller first" in open_page(client, world.alice).content.decode()
    response = post_open(client, world.alice, BODY)
    assert response.status_code == 302
    assert Dispute.objects.get().why_unresolved == BODY["why_unresolved"]


def test_a_refused_try_keeps_the_suggestion_and_a_closed_window_shows_none(client, world, order):
    refused = post_open(client, world.alice, {**BODY, "why_unresolved": ""})
    assert refused.status_code == 400 and "Message the seller first" in refused.content.decode()
    closed = make_order(buyer=world.alice, store=world.carols, number="W-2", shipped_at=SHIPPED.replace(year=2025))
    page = open_page(client, world.alice, number=closed.number)
    assert "The window to open a dispute closed" in page.content.decode()
    assert "Message the seller first" not in page.content.decode()


# --- escalating asks first, and says what happens ---------------------------------------------------


def test_escalating_without_the_confirmation_shows_the_screen_and_escalates_nothing(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        client.force_login(world.alice)
        unconfirmed = client.post(f"/disputes/{dispute.pk}/escalate/", {"escalate-note": "Not enough."})
        html = unconfirmed.content.decode()
        assert unconfirmed.status_code == 200
        assert "Escalate to the dispute team?" in html and "Yes, send it to the dispute team" in html
        assert 'name="confirmed" value="1"' in html and "Not enough." in html  # the note typed is kept
        assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_buyer"

        # Any marker but the confirmation's own is no confirmation either.
        client.post(f"/disputes/{dispute.pk}/escalate/", {"escalate-note": "", "confirmed": "yes"})
        assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_buyer"

        confirmed = client.post(f"/disputes/{dispute.pk}/escalate/", {"escalate-note": "Not enough.", "confirmed": "1"})
    assert confirmed.status_code == 302 and confirmed["Location"] == f"/disputes/{dispute.pk}/"
    dispute = Dispute.objects.get(pk=dispute.pk)
    assert dispute.state == "escalated" and dispute.escalated_at == OPEN_AT


def test_the_dispute_page_offers_escalating_as_a_way_to_its_confirmation_screen(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        client.force_login(world.alice)
        html = client.get(f"/disputes/{dispute.pk}/").content.decode()
    action = html[html.index('data-action="escalate"') :]
    action = action[: action.index("</div>")]
    assert f'method="get" action="/disputes/{dispute.pk}/escalate/confirm/"' in action
    assert 'method="post"' not in action


def test_the_escalation_screen_says_what_the_team_reads_when_it_rules_and_what_is_still_open(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        client.force_login(world.alice)
        screen = text_of(client.get(f"/disputes/{dispute.pk}/escalate/confirm/").content.decode())
    # Escalated on 9 Mar 2026, 12:00 UTC + 7 days, read in alice's zone (Los Angeles, PDT).
    assert "a team member rules within 7 days, by 16 Mar 2026, 05:00 PDT" in screen
    assert "What the dispute team will look at" in screen
    for looked_at in (
        "Both sides' messages about the order.",
        "The photos and evidence either side has added.",
        "The requests and offers made so far.",
        "The order and its tracking.",
    ):
        assert looked_at in screen
    assert "You and the seller can still agree between yourselves" in screen
    assert "you can cancel the dispute yourself at any time before the team rules" in screen
    assert "can no longer settle it" not in screen


def test_the_ruling_date_is_in_the_readers_own_zone(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        world.alice.time_zone = "Asia/Tokyo"
        world.alice.save(update_fields=["time_zone"])
        client.force_login(world.alice)
        screen = text_of(client.get(f"/disputes/{dispute.pk}/escalate/confirm/").content.decode())
    assert "by 16 Mar 2026, 21:00 JST" in screen


def test_the_seller_escalating_a_return_asks_first_and_is_told_the_same(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "return_in_transit")
        client.force_login(world.carol)
        screen = text_of(client.get(f"/disputes/{dispute.pk}/escalate/confirm/").content.decode())
        assert "The team rules within 7 days, by 16 Mar 2026, 12:00 UTC." in screen
        assert "The order and its tracking." in screen and "The return's tracking." in screen
        assert "You and the buyer can still write to each other in the messages" in screen
        assert "the buyer can still withdraw the dispute before the team rules" in screen

        unconfirmed = client.post(f"/disputes/{dispute.pk}/escalate/", {"escalate-note": "Wrong lamp."})
        assert unconfirmed.status_code == 200 and "Yes, send the return to the dispute team" in text_of(
            unconfirmed.content.decode()
        )
        assert Dispute.objects.get(pk=dispute.pk).state == "return_in_transit"
        client.post(f"/disputes/{dispute.pk}/escalate/", {"escalate-note": "Wrong lamp.", "confirmed": "1"})
    assert Dispute.objects.get(pk=dispute.pk).state == "escalated"


def test_after_a_ruling_the_seller_is_not_told_the_buyer_can_still_withdraw(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review", received=True)
        dispute = dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="return_and_refund",
                                 note="Send it back.")  # fmt: skip
        dispute = dispute_act_by(user=world.alice, dispute=dispute, action="return_shipment",
                                 carrier=Carrier.objects.get(code="dhl"), tracking_number="RET9")  # fmt: skip
        assert dispute.state == "return_in_transit"
        client.force_login(world.carol)
        screen = text_of(client.get(f"/disputes/{dispute.pk}/escalate/confirm/").content.decode())
    assert "by 16 Mar 2026, 12:00 UTC" in screen
    assert "withdraw the dispute" not in screen


def test_the_api_escalates_at_once_as_before(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        response = api_as(world.alice).post(f"/api/disputes/{dispute.pk}/escalate/", {"note": "No."}, format="json")
    assert response.status_code == 200
    assert Dispute.objects.get(pk=dispute.pk).state == "escalated"
