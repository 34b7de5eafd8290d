"""Pauses of a dispute's clocks by the dispute team, and the parties' agreed extensions ("more time")."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import RuleViolation
from disputes import invariants
from disputes.models import Dispute, DisputeEvent, MoreTime, State
from disputes.pauses import dispute_pause, dispute_resume, more_time_answer, more_time_ask
from disputes.services import dispute_act_by
from disputes.sweeps import sweep_clocks, sweep_reminders
from notifications.models import Notification
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def fresh(dispute) -> Dispute:
    return Dispute.objects.get(pk=dispute.pk)


def left(dispute) -> dict[str, timedelta]:
    now = timezone.now()
    return {c: getattr(dispute, c) - now for c in ("respond_by", "escalate_at") if getattr(dispute, c) is not None}


def promises() -> list[str]:
    return invariants.check_all(now=timezone.now(), after_sweep=True)


# --- pause and resume ------------------------------------------------------------------------------


def test_time_left_is_restored_to_the_second_when_the_team_resumes_by_hand(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    clock.shift(timedelta(days=2, hours=3, minutes=7, seconds=11))
    before = left(fresh(dispute))
    paused = dispute_pause(staff=world.erin, dispute=dispute, reason="carrier_investigation", note="DHL", days=10)
    assert paused.respond_by is None and paused.escalate_at is None
    assert paused.paused_left == {c: d.total_seconds() for c, d in before.items()}
    clock.shift(timedelta(days=6, seconds=17))
    assert promises() == []
    resumed = dispute_resume(staff=world.erin, dispute=dispute)
    assert left(resumed) == before  # exactly, not within a second
    assert fresh(dispute).paused_at is None and fresh(dispute).paused_left == {}
    assert list(DisputeEvent.objects.filter(dispute=dispute).values_list("action", flat=True))[-2:] == [
        "pause",
        "resume",
    ]


def test_a_pause_that_runs_its_course_is_ended_by_the_sweep_with_the_time_left_counted_from_its_end(world, clock):
    dispute = dispute_in(world, "awaiting_buyer")
    clock.shift(timedelta(days=4, hours=23))  # an hour left to answer
    before = left(fresh(dispute))
    dispute_pause(staff=world.erin, dispute=dispute, reason="public_holiday", days=14)
    until = fresh(dispute).paused_until
    clock.shift(timedelta(days=13))
    assert sweep_clocks() == 0 and fresh(dispute).paused_at is not None  # no clock acts on a paused dispute
    clock.shift(timedelta(days=1, minutes=3))  # the sweep comes by three minutes after the pause's end
    sweep_clocks()
    resumed = fresh(dispute)
    assert resumed.paused_at is None and resumed.state == State.AWAITING_BUYER
    assert resumed.respond_by == until + before["respond_by"]
    assert resumed.escalate_at == until + before["escalate_at"]
    assert promises() == []
    # Then the clock runs with its restored time: the hour left runs out, and buyer silence acts.
    clock.move_to(resumed.respond_by + timedelta(seconds=1))
    sweep_clocks()
    assert fresh(dispute).state in (State.RESOLVED, State.AWAITING_RETURN)


def test_the_sweep_and_the_reminders_leave_a_paused_dispute_alone(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    dispute_pause(staff=world.erin, dispute=dispute, reason="third_party", note="Bank", days=14)
    clock.shift(timedelta(days=6))  # past the seller's five days
    assert sweep_clocks() == 0 and sweep_reminders() == 0
    assert fresh(dispute).state == State.AWAITING_SELLER
    assert promises() == []


def test_a_party_acting_after_the_pause_ended_finds_the_clock_restored_first(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    dispute_pause(staff=world.erin, dispute=dispute, reason="third_party", days=1)
    clock.shift(timedelta(days=7))  # the pause ended on day 1; the four days left ran out on day 6
    with pytest.raises(RuleViolation):
        dispute_act_by(user=world.carol, dispute=dispute, action="reject", note="No.")
    assert [e.action for e in DisputeEvent.objects.filter(dispute=dispute)][-2:] == ["resume", "seller_timeout"]


def test_parties_act_while_paused_and_the_clocks_stay_frozen(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    dispute_pause(staff=world.erin, dispute=dispute, reason="carrier_investigation", days=5)
    escalation_left = fresh(dispute).paused_left["escalate_at"]
    clock.shift(DAY)
    dispute_act_by(user=world.carol, dispute=dispute, action="propose", refund_amount="30.00", note="Half?")
    moved = fresh(dispute)
    assert moved.state == State.AWAITING_BUYER and moved.respond_by is None
    # The buyer's clock starts frozen at its full length; the escalation clock keeps what it had left.
    assert moved.paused_left == {"respond_by": 5 * 86400.0, "escalate_at": escalation_left}
    dispute_act_by(user=world.alice, dispute=dispute, action="accept")
    assert fresh(dispute).paused_at is None  # the pause ends with the dispute
    assert promises() == []


def test_a_pause_is_refused_twice_above_the_maximum_and_when_no_clock_runs(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    with pytest.raises(RuleViolation) as too_long:
        dispute_pause(staff=world.erin, dispute=dispute, reason="public_holiday", days=15)
    assert too_long.value.status == 400
    dispute_pause(staff=world.erin, dispute=dispute, reason="public_holiday", days=14)
    with pytest.raises(RuleViolation) as again:
        dispute_pause(staff=world.erin, dispute=dispute, reason="public_holiday", days=3)
    assert again.value.code == "already_paused"
    dispute_resume(staff=world.erin, dispute=dispute)
    with pytest.raises(RuleViolation) as not_paused:
        dispute_resume(staff=world.erin, dispute=dispute)
    assert not_paused.value.code == "not_paused"
    closed = dispute_in(world, "resolved", number="D-2")
    with pytest.raises(RuleViolation) as final:
        dispute_pause(staff=world.erin, dispute=closed, reason="public_holiday", days=3)
    assert final.value.code == "invalid_state"


def test_both_parties_hear_of_the_pause_and_of_its_end(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    dispute_pause(staff=world.erin, dispute=dispute, reason="carrier_investigation", note="Lost parcel", days=3)
    dispute_resume(staff=world.erin, dispute=dispute)
    for kind in (Notification.Kind.DISPUTE_PAUSED, Notification.Kind.DISPUTE_RESUMED):
        told = set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))
        assert told == {"alice", "carol"}, kind
    paused = Notification.objects.get(kind=Notification.Kind.DISPUTE_PAUSED, recipient=world.alice)
    assert paused.params["reason"] == "carrier_investigation" and paused.params["note"] == "Lost parcel"
    assert paused.params["until"]


# --- more time -------------------------------------------------------------------------------------


def test_an_accepted_extension_moves_the_answer_deadline_and_the_escalation_clock_by_the_days(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    before = fresh(dispute)
    more_time_ask(user=world.carol, dispute=dispute, days=3, note="Checking with the carrier.")
    assert Notification.objects.get(kind=Notification.Kind.MORE_TIME).recipient == world.alice
    with pytest.raises(RuleViolation) as own:
        more_time_answer(user=world.carol, dispute=dispute, accept=True)
    assert own.value.code == "own_more_time_request"
    more_time_answer(user=world.alice, dispute=dispute, accept=True)
    after = fresh(dispute)
    assert after.respond_by == before.respond_by + timedelta(days=3)
    assert after.escalate_at == before.escalate_at + timedelta(days=3)
    told = Notification.objects.filter(kind=Notification.Kind.MORE_TIME).order_by("pk")
    assert [n.recipient.username for n in told] == ["alice", "carol"]
    with pytest.raises(RuleViolation) as twice:
        more_time_ask(user=world.carol, dispute=dispute, days=1)
    assert twice.value.code == "more_time_used"
    # The other side still has its one ask; declined, nothing moves.
    more_time_ask(user=world.alice, dispute=dispute, days=2)
    more_time_answer(user=world.carol, dispute=dispute, accept=False)
    assert fresh(dispute).respond_by == after.respond_by
    assert list(MoreTime.objects.filter(dispute=dispute).values_list("status", flat=True)) == ["accepted", "declined"]
    assert promises() == []


def test_a_waiting_request_lapses_when_the_state_moves_on(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    more_time_ask(user=world.alice, dispute=dispute, days=2)
    dispute_act_by(user=world.carol, dispute=dispute, action="propose", refund_amount="30.00", note="Half?")
    assert MoreTime.objects.get(dispute=dispute).status == MoreTime.Status.LAPSED
    assert fresh(dispute).more_time_asked_by == ""
    assert DisputeEvent.objects.filter(dispute=dispute).last().payload["more_time_lapsed"] is True
    with pytest.raises(RuleViolation) as nothing:
        more_time_answer(user=world.carol, dispute=dispute, accept=True)
    assert nothing.value.code == "no_more_time_request"
    assert promises() == []


def test_a_request_left_waiting_when_the_sweep_moves_the_dispute_lapses_too(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    more_time_ask(user=world.alice, dispute=dispute, days=2)
    clock.shift(timedelta(days=5, seconds=1))
    sweep_clocks()
    assert MoreTime.objects.get(dispute=dispute).status == MoreTime.Status.LAPSED
    assert promises() == []


def test_an_extension_accepted_while_paused_adds_to_the_time_left(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    dispute_pause(staff=world.erin, dispute=dispute, reason="public_holiday", days=2)
    kept = fresh(dispute).paused_left
    more_time_ask(user=world.carol, dispute=dispute, days=1)
    more_time_answer(user=world.alice, dispute=dispute, accept=True)
    assert fresh(dispute).paused_left == {column: seconds + 86400 for column, seconds in kept.items()}


# --- the API ---------------------------------------------------------------------------------------


def test_the_api_shows_the_pause_and_the_time_left_and_hides_respond_by(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    erin, alice = api_as(world.erin), api_as(world.alice)
    body = {"reason": "carrier_investigation", "note": "DHL is looking.", "days": 14}
    answer = erin.post(f"/api/disputes/{dispute.pk}/pause/", body, format="json")
    assert answer.status_code == 200, answer.json()
    shown = alice.get(f"/api/disputes/{dispute.pk}/").json()
    assert shown["respond_by"] is None
    assert shown["time_left_seconds"] == {"respond_by": 5 * 86400, "escalate_at": 15 * 86400}
    assert shown["pause"]["reason"] == "carrier_investigation" and shown["pause"]["note"] == "DHL is looking."
    assert set(shown["pause"]) == {"reason", "note", "since", "until"}
    assert [e["action"] for e in shown["events"]][-1] == "pause"
    listed = alice.get("/api/disputes/").json()["results"][0]
    assert listed["respond_by"] is None
    resumed = erin.post(f"/api/disputes/{dispute.pk}/resume/", {}, format="json")
    assert resumed.status_code == 200
    assert resumed.json()["pause"] is None and resumed.json()["respond_by"] is not None
    assert resumed.json()["time_left_seconds"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "carrier_investigation", "days": 15}, "days"),
        ({"reason": "carrier_investigation", "days": 0}, "days"),
        ({"reason": "holiday", "days": 3}, "reason"),
        ({"reason": "carrier_investigation"}, "days"),
    ],
)
def test_a_pause_out_of_bounds_is_400_naming_the_field(world, clock, body, field):
    dispute = dispute_in(world, "awaiting_seller")
    answer = api_as(world.erin).post(f"/api/disputes/{dispute.pk}/pause/", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] and field in answer.json()["fields"]


def test_who_may_pause_resume_and_ask_for_more_time(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    pause = {"reason": "public_holiday", "note": "", "days": 2}
    for party in (world.alice, world.carol):
        refused = api_as(party).post(f"/api/disputes/{dispute.pk}/pause/", pause, format="json")
        assert refused.status_code == 409 and refused.json()["code"] == "invalid_state"
        assert api_as(party).post(f"/api/disputes/{dispute.pk}/resume/", {}, format="json").status_code == 409
    team = api_as(world.erin).post(f"/api/disputes/{dispute.pk}/more-time/", {"days": 2}, format="json")
    assert team.status_code == 409 and team.json()["code"] == "invalid_state"
    stranger = api_as(UserFactory(username="mallory"))
    for path, body in (("pause/", pause), ("resume/", {}), ("more-time/", {"days": 1}),
                       ("more-time/answer/", {"accept": True})):  # fmt: skip
        assert stranger.post(f"/api/disputes/{dispute.pk}/{path}", body, format="json").status_code == 404
        assert stranger.post(f"/api/disputes/999999/{path}", body, format="json").status_code == 404
    assert api_as(world.bob).get(f"/api/disputes/{dispute.pk}/").status_code == 404


def test_more_time_through_the_api_once_per_side(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    carol, alice = api_as(world.carol), api_as(world.alice)
    asked = carol.post(f"/api/disputes/{dispute.pk}/more-time/", {"days": 3, "note": "Please."}, format="json")
    assert asked.status_code == 201
    assert asked.json()["more_time"][0] | {"id": 0} == {
        "id": 0,
        "party": "seller",
        "days": 3,
        "note": "Please.",
        "status": "pending",
        "asked_at": asked.json()["more_time"][0]["asked_at"],
        "answered_at": None,
    }
    too_many = alice.post(f"/api/disputes/{dispute.pk}/more-time/", {"days": 8}, format="json")
    assert too_many.status_code == 400 and "days" in too_many.json()["fields"]
    pending = alice.post(f"/api/disputes/{dispute.pk}/more-time/", {"days": 2}, format="json")
    assert pending.status_code == 409 and pending.json()["code"] == "more_time_pending"
    own = carol.post(f"/api/disputes/{dispute.pk}/more-time/answer/", {"accept": True}, format="json")
    assert own.status_code == 409 and own.json()["code"] == "own_more_time_request"
    bad = alice.post(f"/api/disputes/{dispute.pk}/more-time/answer/", {}, format="json")
    assert bad.status_code == 400 and "accept" in bad.json()["fields"]
    before = fresh(dispute).respond_by
    accepted = alice.post(f"/api/disputes/{dispute.pk}/more-time/answer/", {"accept": True}, format="json")
    assert accepted.status_code == 200 and accepted.json()["more_time"][0]["status"] == "accepted"
    assert fresh(dispute).respond_by == before + timedelta(days=3)
    again = carol.post(f"/api/disputes/{dispute.pk}/more-time/", {"days": 1}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "more_time_used"
    assert [e["action"] for e in accepted.json()["events"]][-2:] == ["more_time", "more_time_answer"]


def test_a_retried_pause_with_the_same_key_is_answered_once(world, clock):
    dispute = dispute_in(world, "awaiting_seller")
    erin = api_as(world.erin)
    body = {"reason": "public_holiday", "days": 2}
    first = erin.post(f"/api/disputes/{dispute.pk}/pause/", body, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    again = erin.post(f"/api/disputes/{dispute.pk}/pause/", body, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replay"] == "true"
    assert DisputeEvent.objects.filter(dispute=dispute, action="pause").count() == 1


def test_the_ruling_deadline_pauses_too_and_a_claim_meanwhile_keeps_its_time_left(world, clock):
    dispute = dispute_in(world, "escalated")
    clock.shift(timedelta(days=8))  # the ruling is a day overdue: that clock only alerts
    dispute_pause(staff=world.erin, dispute=dispute, reason="third_party", days=2)
    kept = fresh(dispute).paused_left
    assert kept["respond_by"] == -86400.0
    dispute_act_by(user=world.erin, dispute=dispute, action="claim")
    assert fresh(dispute).state == State.UNDER_REVIEW and fresh(dispute).paused_left == kept
    assert promises() == []
    clock.shift(DAY)
    assert dispute_resume(staff=world.erin, dispute=dispute).respond_by == timezone.now() - DAY


def test_every_pause_and_more_time_notice_is_put_into_words(world, clock):
    from notifications.texts import words

    dispute = dispute_in(world, "awaiting_seller")
    dispute_pause(staff=world.erin, dispute=dispute, reason="carrier_investigation", note="Traced.", days=2)
    dispute_resume(staff=world.erin, dispute=dispute)
    more_time_ask(user=world.alice, dispute=dispute, days=2, note="Away.")
    more_time_answer(user=world.carol, dispute=dispute, accept=False)
    kinds = {Notification.Kind.DISPUTE_PAUSED, Notification.Kind.DISPUTE_RESUMED, Notification.Kind.MORE_TIME}
    notes = list(Notification.objects.filter(kind__in=kinds))
    assert len(notes) == 6  # paused and resumed to both; the ask to the seller, the answer to the buyer
    said = {(n.kind, n.recipient.username): " ".join(words(n.kind, n.params)) for n in notes}
    assert "the carrier is investigating the shipment" in said["dispute_paused", "alice"]
    assert "Traced." in said["dispute_paused", "carol"]
    assert (
        "the buyer asks for 2 more days" in said["more_time", "carol"].lower() and "Away." in said["more_time", "carol"]
    )
    assert "declined" in said["more_time", "alice"]
