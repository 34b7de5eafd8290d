"""Idempotency-Key on the money-moving endpoints, and who may reach each dispute endpoint."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from disputes.models import Dispute, DisputeEvent, IdempotencyRecord, Refund
from disputes.services import dispute_act_by
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


def test_a_replay_is_the_first_response_as_sent_not_the_dispute_as_it_is_now(world):
    """Above, nothing changes between the two calls, so a replay that re-read the dispute would look
    the same as the stored response. Here the dispute moves on (an appeal) before the retry."""
    dispute = dispute_in(world, "under_review")
    erin = api_as(world.erin)
    url, body = f"/api/disputes/{dispute.pk}/ruling/", {"outcome": "partial_refund", "refund_amount": "20.00",
                                                        "note": "Half."}  # fmt: skip
    first = erin.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="rule-1")
    assert first.status_code == 200 and first.json()["state"] == "resolved"
    assert api_as(world.carol).post(f"/api/disputes/{dispute.pk}/appeal/", {"note": "Delivered."}).status_code == 200
    assert Dispute.objects.get(pk=dispute.pk).state == "escalated"
    again = erin.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="rule-1")
    assert again.status_code == 200 and again["Idempotent-Replay"] == "true"
    assert again.json() == first.json()
    assert again.json()["state"] == "resolved"  # as it was when first answered
    assert list(Refund.objects.filter(dispute=dispute).values_list("amount", flat=True)) == [Decimal("20.00")]


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
    assert first.status_code == 409
    # Now the seller makes an offer, so a fresh accept would be carried out and pay 30.00. A retry
    # with the first key is still the refused attempt: its stored 409, and no money moves.
    dispute_act_by(user=world.carol, dispute=dispute, action="propose", refund_amount=Decimal("30.00"), note="Half?")
    again = alice.post(f"/api/disputes/{dispute.pk}/accept/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 409
    assert again["Idempotent-Replay"] == "true"
    assert again.json() == first.json()
    assert not Refund.objects.exists()
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_buyer"


def test_keys_belong_to_their_user(world):
    """alice and carol happen to pick the same key, each on a money endpoint. Were keys shared, carol's
    request would find alice's record: refused as a reused key (422), or answered with alice's stored
    response and not carried out. Each must get her own first response."""
    offered = dispute_in(world, "awaiting_buyer", number="K-1")  # carol offered 30.00
    returned = dispute_in(world, "return_in_transit", number="K-2")
    alices = api_as(world.alice).post(
        f"/api/disputes/{offered.pk}/accept/", {}, format="json", HTTP_IDEMPOTENCY_KEY="x"
    )
    assert alices.status_code == 200, alices.json()
    carols = api_as(world.carol).post(
        f"/api/disputes/{returned.pk}/return-received/", {"condition": "ok"}, format="json", HTTP_IDEMPOTENCY_KEY="x"
    )
    assert carols.status_code == 200, carols.json()
    assert "Idempotent-Replay" not in carols
    assert (carols.json()["id"], carols.json()["state"]) == (returned.pk, "resolved")
    assert Refund.objects.get(dispute=returned).amount == Decimal("80.00")
    assert Refund.objects.get(dispute=offered).amount == Decimal("30.00")
    records = {(r.user_id, r.response_body["id"]) for r in IdempotencyRecord.objects.filter(key="x")}
    assert records == {(world.alice.pk, offered.pk), (world.carol.pk, returned.pk)}


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
    assert len(rows) == 1
    # Times are instants with an offset (a naive time would not equal these aware ones).
    assert datetime.fromisoformat(rows[0].pop("respond_by")) == OPEN_AT + timedelta(days=5)  # the buyer's five days
    assert datetime.fromisoformat(rows[0].pop("opened_at")) == OPEN_AT
    assert rows == [
        {
            "id": dispute.pk,
            "order": "D-1",
            "state": "awaiting_buyer",
            "awaiting": "buyer",
            "reason": "not_received",
            "refund_amount": "80.00",
            "currency": "USD",
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
