"""The dispute pages as a person sees them (the browser tests walk whole journeys)."""

from datetime import timedelta

import pytest
import time_machine

from disputes.models import Dispute
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def test_order_page_offers_open_a_dispute_only_inside_the_window(client, world):
    make_order(buyer=world.alice, store=world.carols, number="P-1", shipped_at=SHIPPED)
    client.force_login(world.alice)
    with time_machine.travel(SHIPPED + timedelta(days=2), tick=False):
        page = client.get("/orders/P-1/").content.decode()
        assert "Open a dispute" not in page and "A dispute can be opened from" in page
    with time_machine.travel(OPEN_AT, tick=False):
        assert "Open a dispute" in client.get("/orders/P-1/").content.decode()
    with time_machine.travel(SHIPPED + timedelta(days=30), tick=False):
        page = client.get("/orders/P-1/").content.decode()
        assert "Open a dispute" not in page and "closed on" in page


def test_the_seller_never_sees_open_a_dispute(client, world):
    make_order(buyer=world.alice, store=world.carols, number="P-1", shipped_at=SHIPPED)
    client.force_login(world.carol)
    with time_machine.travel(OPEN_AT, tick=False):
        page = client.get("/orders/P-1/")  # the seller sees the order, inside the window...
        assert page.status_code == 200 and "A dispute can be opened until" in page.content.decode()
        assert "Open a dispute" not in page.content.decode()  # ...but is never offered to open one
        # A party acting in a role it does not have (a seller opening): 409, not 403 or 404 (docs/rules.md §6).
        assert client.get("/orders/P-1/dispute/new/").status_code == 409


def test_open_form_shows_field_errors_and_keeps_nothing(client, world):
    make_order(buyer=world.alice, store=world.carols, number="P-1", shipped_at=SHIPPED)
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.post(
            "/orders/P-1/dispute/new/",
            {"item_received": "no", "reason": "not_received", "refund_type": "partial", "return_item": "no",
             "description": "x"},
        )  # fmt: skip
    assert response.status_code == 400
    assert "Give the amount of the partial refund." in response.content.decode()
    assert not Dispute.objects.exists()


def test_dispute_page_shows_only_the_actions_allowed_now(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        client.force_login(world.carol)
        seller_page = client.get(f"/disputes/{dispute.pk}/").content.decode()
        assert "Waiting for the buyer." in seller_page and "Nothing for you to do right now." in seller_page
        client.force_login(world.alice)
        buyer_page = client.get(f"/disputes/{dispute.pk}/").content.decode()
        for label in ("Accept this offer", "Modify your request", "Escalate to the dispute team"):
            assert label in buyer_page
        assert "Reject the request" not in buyer_page
        assert "the seller&#x27;s offer is taken for you: you are refunded $30.00" in buyer_page


def test_a_refused_action_on_the_page_says_why(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        client.force_login(world.carol)
        response = client.post(f"/disputes/{dispute.pk}/propose/", {"propose-refund_amount": "500.00"})
    assert response.status_code == 400
    assert "at most the $80.00 left to refund" in response.content.decode()


def test_outsiders_get_404_on_dispute_pages(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
    for outsider in (world.bob, world.dave):
        client.force_login(outsider)
        assert client.get(f"/disputes/{dispute.pk}/").status_code == 404
        assert client.post(f"/disputes/{dispute.pk}/accept/", {}).status_code == 404


def test_seller_disputes_list_puts_those_needing_an_answer_first(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        waiting_on_buyer = dispute_in(world, "awaiting_buyer", number="L-1")
        waiting_on_seller = dispute_in(world, "awaiting_seller", number="L-2")
        client.force_login(world.carol)
        page = client.get("/disputes/").content.decode()
    assert page.index(f'data-dispute="{waiting_on_seller.pk}"') < page.index(f'data-dispute="{waiting_on_buyer.pk}"')


def test_the_team_posts_in_the_thread_once_the_dispute_is_escalated(world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        url = f"/api/orders/{dispute.order.number}/messages/"
        assert api_as(world.erin).post(url, {"body": "Hello"}, format="json").status_code == 409
        dispute = dispute_in(world, "escalated", number="E-2")
        url = f"/api/orders/{dispute.order.number}/messages/"
        posted = api_as(world.erin).post(url, {"body": "Please both upload the tracking page."}, format="json")
        assert posted.status_code == 201 and posted.json()["role"] == "team"
        seen = api_as(world.alice).get(url).json()["results"][-1]
        assert seen["author"] == "Dispute team"
        assert api_as(world.erin).get(url).json()["results"][-1]["author"] == "erin"


def test_my_orders_shows_each_orders_dispute_state(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        client.force_login(world.alice)
        page = client.get("/orders/").content.decode()
    # Alice is the buyer: the dispute waits for her, said as the disputes list says it.
    assert f'href="/disputes/{dispute.pk}/"' in page and "Waiting for your answer</a>" in page
    assert "Waiting for the buyer" not in page


def test_the_open_form_never_sends_back_an_item_that_never_arrived(client, world):
    # The return question does not apply to an item never received (the page hides it): whatever
    # it still says, nothing is sent back. The API, which asks nothing, refuses such a request.
    make_order(buyer=world.alice, store=world.carols, number="P-9", shipped_at=SHIPPED)
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.post(
            "/orders/P-9/dispute/new/",
            {"item_received": "no", "reason": "not_received", "refund_type": "full", "return_item": "yes",
             "description": "Never came.", "why_unresolved": "No answer."},
        )  # fmt: skip
    assert response.status_code == 302
    assert Dispute.objects.get().return_item is False


def test_an_appealed_ruling_offers_no_cancel_and_the_page_shows_what_is_left(client, world):
    from decimal import Decimal

    from disputes.services import dispute_act_by
    from tests.factories import team_member

    team_member("frank")
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review")
        dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="partial_refund",
                       refund_amount=Decimal("30.00"), note="Most of it.")  # fmt: skip
        dispute_act_by(user=world.carol, dispute=dispute, action="appeal", note="Delivered.")
        client.force_login(world.alice)
        page = client.get(f"/disputes/{dispute.pk}/").content.decode()
        refused = client.post(f"/disputes/{dispute.pk}/cancel/", {"cancel-note": ""})
    assert "Cancel the dispute" not in page
    assert "refunded so far $30.00" in page and "left to refund $50.00" in page
    assert refused.status_code == 400
    assert "An appeal has been made on this dispute; it can no longer be cancelled." in refused.content.decode()
    assert Dispute.objects.get(pk=dispute.pk).state == "escalated"


def test_the_open_form_opens_the_dispute_and_goes_to_its_page(client, world):
    make_order(buyer=world.alice, store=world.carols, number="P-3", shipped_at=SHIPPED)
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.post(
            "/orders/P-3/dispute/new/",
            {"item_received": "no", "reason": "not_received", "refund_type": "full", "return_item": "no",
             "description": "Never came.", "why_unresolved": "No answer."},
        )  # fmt: skip
        dispute = Dispute.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/disputes/{dispute.pk}/"
        assert "Your dispute is open." in client.get(response["Location"]).content.decode()


def test_evidence_from_the_page_is_added_and_a_bad_photo_is_refused_on_the_photo_field(client, world):
    from messaging.models import Photo
    from tests.messaging.images import jpeg_bytes, upload

    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        client.force_login(world.alice)
        url = f"/disputes/{dispute.pk}/evidence/"
        refused = client.post(url, {"evidence-note": "see", "evidence-images": [upload(b"not an image", "x.jpg")]})
        assert refused.status_code == 400
        assert "is not a JPEG, PNG, WebP or HEIC photo" in str(refused.context["evidence_form"].errors["images"])
        assert not dispute.evidence.exists()
        added = client.post(url, {"evidence-note": "see", "evidence-images": [upload(jpeg_bytes(), "x.jpg")]})
        assert added.status_code == 302 and added["Location"] == f"/disputes/{dispute.pk}/#evidence"
        assert "Evidence added." in client.get(added["Location"]).content.decode()
    assert dispute.evidence.get().note == "see" and Photo.objects.count() == 1
