"""Idempotency-Key on the money-moving endpoints, and who may reach each dispute endpoint."""

import pytest
import time_machine

from disputes.models import DisputeEvent, IdempotencyRecord, Refund
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def inside_the_window():
    with time_machine.travel(OPEN_AT, tick=False):
        yield


def test_a_replay_returns_the_first_response_and_moves_no_money(world):
    dispute = dispute_in(world, "awaiting_buyer")
    alice = api_as(world.alice)
    first = alice.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    again = alice.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replay"] == "true"
    assert Refund.objects.count() == 1
    assert DisputeEvent.objects.filter(dispute=dispute, action="accept").count() == 1
    # Without the key, a second accept is simply refused by the workflow.
    assert alice.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json").status_code == 409


def test_the_same_key_with_another_body_is_422(world):
    dispute = dispute_in(world, "under_review")
    erin = api_as(world.erin)
    body = {"outcome": "partial_refund", "refund_amount": "10.00", "note": "a"}
    assert (
        erin.post(f"/api/disputes/{dispute.pk}/ruling/", body, format="json", HTTP_IDEMPOTENCY_KEY="r").status_code
        == 200
    )
    other = erin.post(
        f"/api/disputes/{dispute.pk}/ruling/",
        {**body, "refund_amount": "50.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="r",
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Refund.objects.count() == 1


def test_a_refused_first_attempt_is_replayed_as_refused(world):
    dispute = dispute_in(world, "awaiting_seller")
    alice = api_as(world.alice)  # the buyer cannot accept while it is the seller's turn
    first = alice.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = alice.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == again.status_code == 409
    assert again.json() == first.json()


def test_keys_belong_to_their_user(world):
    dispute = dispute_in(world, "return_in_transit")
    api_as(world.alice).post(f"/api/disputes/{dispute.pk}/cancel/", {}, format="json", HTTP_IDEMPOTENCY_KEY="x")
    response = api_as(world.carol).post(
        f"/api/disputes/{dispute.pk}/return-received/", {"condition": "ok"}, format="json", HTTP_IDEMPOTENCY_KEY="x"
    )
    assert response.status_code == 200
    assert IdempotencyRecord.objects.filter(key="x").count() == 1  # cancel is not a money endpoint


PERSONAS = ["alice", "bob", "carol", "dave", "erin", "anonymous"]
VISIBLE = {"alice": 200, "bob": 404, "carol": 200, "dave": 404, "erin": 200, "anonymous": 401}


@pytest.mark.parametrize("who", PERSONAS)
def test_dispute_detail_and_list_for_every_persona(world, who):
    dispute = dispute_in(world, "awaiting_seller")
    client = api_as(None if who == "anonymous" else getattr(world, who))
    assert client.get(f"/api/disputes/{dispute.pk}/").status_code == VISIBLE[who]
    listing = client.get("/api/disputes/")
    if who == "anonymous":
        assert listing.status_code == 401
    else:
        ids = [d["id"] for d in listing.json()["results"]]
        assert ids == ([dispute.pk] if VISIBLE[who] == 200 else [])


ENDPOINTS = ["proposals", "accept", "reject", "escalate", "cancel", "evidence", "return-shipment", "return-received",
             "ruling", "appeal"]  # fmt: skip


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("who", ["bob", "dave", "anonymous"])
def test_outsiders_get_404_and_anonymous_401_on_every_action(world, endpoint, who):
    dispute = dispute_in(world, "awaiting_seller")
    client = api_as(None if who == "anonymous" else getattr(world, who))
    response = client.post(f"/api/disputes/{dispute.pk}/{endpoint}/", {"note": "x"}, format="json")
    assert response.status_code == (401 if who == "anonymous" else 404)
    dispute.refresh_from_db()
    assert dispute.state == "awaiting_seller"


def test_list_filters_by_state_and_names_whose_turn_it_is(world):
    dispute = dispute_in(world, "awaiting_buyer")
    rows = api_as(world.carol).get("/api/disputes/?state=awaiting_buyer").json()["results"]
    assert rows == [
        {
            "id": dispute.pk,
            "order": "D-1",
            "state": "awaiting_buyer",
            "awaiting": "buyer",
            "respond_by": rows[0]["respond_by"],
            "reason": "not_received",
            "refund_amount": "80.00",
            "currency": "USD",
            "opened_at": rows[0]["opened_at"],
        }
    ]
    assert api_as(world.carol).get("/api/disputes/?state=resolved").json()["results"] == []
    assert api_as(world.carol).get("/api/disputes/?state=bogus").status_code == 400


def test_parties_add_evidence_while_the_dispute_is_live(world, settings, tmp_path):
    from tests.messaging.images import jpeg_bytes, upload

    settings.MEDIA_ROOT = tmp_path
    dispute = dispute_in(world, "awaiting_seller")
    response = api_as(world.carol).post(
        f"/api/disputes/{dispute.pk}/evidence/", {"note": "Proof of delivery", "images": [upload(jpeg_bytes())]},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 201
    assert response.json()["party"] == "seller" and len(response.json()["images"]) == 1
    bad = api_as(world.carol).post(
        f"/api/disputes/{dispute.pk}/evidence/", {"images": [upload(b"<svg/>", "x.jpg")]}, format="multipart"
    )
    assert bad.status_code == 415
