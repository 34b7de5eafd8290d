"""The REST API for linked cases: the dispute team's alone, in the error shape every client relies on."""

from decimal import Decimal

import pytest
import time_machine

from disputes.models import Dispute, DisputeEvent, Refund
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import team_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def three(world):
    return [dispute_in(world, "escalated", number=f"C-{n}") for n in range(3)]


def create(api, world, disputes, **body):
    response = api(world.erin).post(
        "/api/cases/", {"public_reason": "One lost container.", "disputes": [d.pk for d in disputes], **body},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_team_creates_a_case_and_reads_its_members_and_total_at_stake(api, world, three):
    case = create(api, world, three, note="Carrier confirmed the loss.")
    assert [m["id"] for m in case["disputes"]] == sorted(d.pk for d in three)
    assert case["at_stake"] == [{"currency": "USD", "amount": "240.00"}]  # three buyers asking 80.00 each
    assert case["status"] == "open" and case["ruling"] is None
    listed = api(world.erin).get("/api/cases/").json()
    assert listed["count"] == 1 and listed["results"][0]["disputes_count"] == 3
    detail = api(world.erin).get(f"/api/disputes/{three[0].pk}/").json()
    assert detail["case"] == case["id"]


def test_parties_and_strangers_are_refused_every_case_endpoint(api, world, three):
    case = create(api, world, three)
    for user in (world.alice, world.carol, world.bob):
        client = api(user)
        for response in (
            client.get("/api/cases/"),
            client.post("/api/cases/", {"disputes": []}, format="json"),
            client.get(f"/api/cases/{case['id']}/"),
            client.post(f"/api/cases/{case['id']}/disputes/", {"dispute": three[0].pk}, format="json"),
            client.delete(f"/api/cases/{case['id']}/disputes/{three[0].pk}/"),
            client.post(f"/api/cases/{case['id']}/ruling/", {"outcome": "full_refund", "note": "x"}, format="json"),
        ):
            assert response.status_code == 403, response.content
            assert response.json()["code"] == "forbidden"
    assert api(None).get("/api/cases/").status_code == 401


def test_a_party_sees_the_public_reason_and_never_the_case(api, world, three):
    create(api, world, three)
    body = api(world.alice).get(f"/api/disputes/{three[0].pk}/").json()
    assert "case" not in body
    assert body["case_reason"] == "One lost container."
    assert str(three[1].order.number) not in str(body)


def test_one_ruling_resolves_every_member_once_and_a_second_is_refused(api, world, three):
    case = create(api, world, three)
    ruled = api(world.erin).post(
        f"/api/cases/{case['id']}/ruling/", {"outcome": "partial_refund", "percent": "50", "note": "Half each."},
        format="json",
    )  # fmt: skip
    assert ruled.status_code == 200, ruled.json()
    body = ruled.json()
    assert body["status"] == "ruled"
    assert {m["ruled_amount"] for m in body["disputes"]} == {"40.00"}
    for dispute in three:
        dispute.refresh_from_db()
        assert (dispute.state, dispute.resolved_refund_amount) == ("resolved", Decimal("40.00"))
        assert DisputeEvent.objects.filter(dispute=dispute, action="ruling").count() == 1
        assert Refund.objects.filter(dispute=dispute).count() == 1
    again = api(world.erin).post(
        f"/api/cases/{case['id']}/ruling/", {"outcome": "full_refund", "note": "Again."}, format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "case_ruled")
    out = api(world.erin).delete(f"/api/cases/{case['id']}/disputes/{three[0].pk}/")
    assert (out.status_code, out.json()["code"]) == (409, "case_ruled")


def test_per_dispute_amounts_must_name_every_member(api, world, three):
    case = create(api, world, three)
    url = f"/api/cases/{case['id']}/ruling/"
    partial = {str(three[0].pk): "10.00", str(three[1].pk): "20.00"}
    missing = api(world.erin).post(url, {"outcome": "partial_refund", "amounts": partial, "note": "x"}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "invalid") and "amounts" in missing.json()["fields"]
    amounts = {**partial, str(three[2].pk): "30.00"}
    ruled = api(world.erin).post(url, {"outcome": "partial_refund", "amounts": amounts, "note": "x"}, format="json")
    assert ruled.status_code == 200, ruled.json()
    assert {m["id"]: m["ruled_amount"] for m in ruled.json()["disputes"]} == {int(k): v for k, v in amounts.items()}


def test_a_member_is_never_ruled_alone_until_taken_out(api, world, three):
    case = create(api, world, three)
    alone = api(world.erin).post(
        f"/api/disputes/{three[0].pk}/ruling/", {"outcome": "full_refund", "note": "x"}, format="json"
    )
    assert (alone.status_code, alone.json()["code"]) == (409, "in_case")
    assert api(world.erin).delete(f"/api/cases/{case['id']}/disputes/{three[0].pk}/").status_code == 204
    assert Dispute.objects.get(pk=three[0].pk).case_id is None
    ruled = api(world.erin).post(
        f"/api/disputes/{three[0].pk}/ruling/", {"outcome": "full_refund", "note": "x"}, format="json"
    )
    assert ruled.status_code == 200, ruled.json()
    assert api(world.erin).delete(f"/api/cases/{case['id']}/disputes/{three[0].pk}/").status_code == 404


def test_linking_refuses_a_dispute_in_another_case_and_a_missing_one(api, world, three):
    case = create(api, world, three[:2])
    other = create(api, world, [three[2]])
    moved = api(world.erin).post(f"/api/cases/{case['id']}/disputes/", {"dispute": three[2].pk}, format="json")
    assert (moved.status_code, moved.json()["code"]) == (409, "in_other_case")
    missing = api(world.erin).post(f"/api/cases/{case['id']}/disputes/", {"dispute": 999999}, format="json")
    assert missing.status_code == 400 and "dispute" in missing.json()["fields"]
    assert api(world.erin).delete(f"/api/cases/{other['id']}/disputes/{three[2].pk}/").status_code == 204
    linked = api(world.erin).post(f"/api/cases/{case['id']}/disputes/", {"dispute": three[2].pk}, format="json")
    assert linked.status_code == 201
    assert len(linked.json()["disputes"]) == 3
    assert api(world.erin).get("/api/cases/999999/").status_code == 404


def test_above_the_threshold_in_total_the_ruling_waits_for_a_second_member(api, world, three, settings):
    settings.RULING_APPROVAL_THRESHOLD = Decimal("200.00")  # each 80.00 is below it, the 240.00 total above
    case = create(api, world, three)
    url = f"/api/cases/{case['id']}/ruling/"
    waiting = api(world.erin).post(url, {"outcome": "full_refund", "note": "All lost."}, format="json")
    assert waiting.status_code == 202, waiting.json()
    assert waiting.json()["ruling"]["status"] == "pending"
    assert all(Dispute.objects.get(pk=d.pk).state in ("escalated", "under_review") for d in three)
    ruling = waiting.json()["ruling"]["id"]
    unnamed = api(team_member("gina")).post(f"{url}approve/", {}, format="json")
    assert (unnamed.status_code, unnamed.json()["code"]) == (400, "invalid") and "ruling" in unnamed.json()["fields"]
    own = api(world.erin).post(f"{url}approve/", {"ruling": ruling}, format="json")
    assert (own.status_code, own.json()["code"]) == (409, "invalid_state")
    frank = team_member("frank")
    approved = api(frank).post(f"{url}approve/", {"ruling": ruling}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["ruling"]["approved_by"] == "frank"
    assert all(Dispute.objects.get(pk=d.pk).state == "resolved" for d in three)


def test_a_ruling_retried_with_its_idempotency_key_pays_once(api, world, three):
    case = create(api, world, three)
    client = api(world.erin)
    body = {"outcome": "full_refund", "note": "All lost."}
    first = client.post(f"/api/cases/{case['id']}/ruling/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(f"/api/cases/{case['id']}/ruling/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replay"] == "true"
    assert Refund.objects.filter(dispute__in=three).count() == 3


def test_bad_ruling_input_gets_a_field_error(api, world, three):
    case = create(api, world, three)
    url = f"/api/cases/{case['id']}/ruling/"
    for body, field in (
        ({"outcome": "everything", "note": "x"}, "outcome"),
        ({"outcome": "partial_refund", "percent": "150", "note": "x"}, "percent"),
        ({"outcome": "partial_refund", "note": "x"}, "percent"),
        ({"outcome": "full_refund"}, "note"),
        ({"outcome": "partial_refund", "percent": "10", "amounts": {"1": "2.00"}, "note": "x"}, "amounts"),
    ):
        response = api(world.erin).post(url, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert field in response.json().get("fields", {}), (body, response.json())
    assert all(Dispute.objects.get(pk=d.pk).state in ("escalated", "under_review") for d in three)
