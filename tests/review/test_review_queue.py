"""The dispute team's review queue in admin: filters, ordering, actions, rulings, permissions."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from disputes.models import Dispute, DisputeEvent, EvidenceRequest, PendingRuling, Refund
from disputes.services import dispute_act_by
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in, open_dispute
from tests.factories import UserFactory, team_member

pytestmark = pytest.mark.django_db
QUEUE = "/admin/disputes/reviewqueueitem/"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def queue_ids(client, query=""):
    response = client.get(f"{QUEUE}?{query}")
    assert response.status_code == 200
    return [d.pk for d in response.context["cl"].result_list]


def escalate(world, number, *, amount=None, total=Decimal("80.00")):
    dispute = open_dispute(world, number=number, total=total)
    dispute = dispute_act_by(user=world.carol, dispute=dispute, action="reject", note="No.")
    return dispute_act_by(user=world.alice, dispute=dispute, action="escalate", note="Please decide.")


def test_the_queue_lists_escalated_and_under_review_disputes_by_ruling_deadline(client, world, clock):
    first = escalate(world, "Q-1")
    clock.shift(timedelta(hours=2))
    second = escalate(world, "Q-2")
    dispute_act_by(user=world.erin, dispute=second, action="claim")
    dispute_in(world, "awaiting_seller", number="Q-3")  # not in the queue
    client.force_login(world.erin)
    assert queue_ids(client) == [first.pk, second.pk]


def test_queue_filters(client, world, clock):
    frank = team_member("frank")
    mine = escalate(world, "F-1")
    dispute_act_by(user=world.erin, dispute=mine, action="claim")
    franks = escalate(world, "F-2")
    dispute_act_by(user=frank, dispute=franks, action="claim")
    unassigned = escalate(world, "F-3", total=Decimal("900.00"))
    client.force_login(world.erin)
    assert queue_ids(client, "who=mine") == [mine.pk]
    assert queue_ids(client, "who=unassigned") == [unassigned.pk]
    assert queue_ids(client, "state=escalated") == [unassigned.pk]
    assert queue_ids(client, "amount=gte500") == [unassigned.pk]
    assert set(queue_ids(client, "amount=50-200")) == {mine.pk, franks.pk}
    assert queue_ids(client, "sla=breached") == []
    clock.shift(timedelta(days=6, hours=12))
    assert set(queue_ids(client, "sla=today")) == {mine.pk, franks.pk, unassigned.pk}
    clock.shift(timedelta(days=1))
    assert set(queue_ids(client, "sla=breached")) == {mine.pk, franks.pk, unassigned.pk}
    page = client.get(QUEUE).content.decode()
    assert "sla-breached" in page and "overdue by" in page
    # Titled for what it is; the state filter offers only the states a queued dispute can be in.
    assert "<h1>Review queue</h1>" in page and "<title>Review queue | Dispute desk</title>" in page
    assert "?state=under_review" in page and "?state=awaiting_seller" not in page


def test_claim_assign_and_release_actions(client, world):
    frank = team_member("frank")
    dispute = escalate(world, "A-1")
    client.force_login(world.erin)
    client.post(QUEUE, {"action": "claim", "_selected_action": [dispute.pk]})
    dispute.refresh_from_db()
    assert (dispute.state, dispute.assignee) == ("under_review", world.erin)

    form = client.post(QUEUE, {"action": "assign", "_selected_action": [dispute.pk]})
    assert b"Assign to" in form.content
    client.post(QUEUE, {"action": "assign", "_selected_action": [dispute.pk], "member": frank.pk})
    dispute.refresh_from_db()
    assert dispute.assignee == frank

    client.post(QUEUE, {"action": "release", "_selected_action": [dispute.pk]})
    dispute.refresh_from_db()
    assert (dispute.state, dispute.assignee) == ("escalated", None)
    assert list(dispute.events.values_list("action", flat=True))[-3:] == ["claim", "assign_to", "release"]


def test_rulings_above_the_threshold_wait_for_a_second_member(world):
    frank = team_member("frank")
    dispute = escalate(world, "H-1", total=Decimal("900.00"))
    erin = api_as(world.erin)
    response = erin.post(f"/api/disputes/{dispute.pk}/ruling/", {"outcome": "full_refund", "note": "Refund."},
                         format="json")  # fmt: skip
    assert response.status_code == 202
    assert Dispute.objects.get(pk=dispute.pk).state == "escalated"
    assert not Refund.objects.exists()
    pending = PendingRuling.objects.get(dispute=dispute)

    from disputes.review import ruling_approve

    with pytest.raises(Exception, match="another team member"):
        ruling_approve(staff=world.erin, pending=pending)
    ruling_approve(staff=frank, pending=pending)
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome, dispute.ruled_by) == ("resolved", "full_refund", world.erin)
    assert Refund.objects.get().amount == Decimal("900.00")
    event = DisputeEvent.objects.filter(dispute=dispute, action="ruling").get()
    assert event.payload["approved_by"] == "frank"


def test_rulings_at_or_below_the_threshold_take_effect_at_once(world):
    dispute = escalate(world, "H-2", total=Decimal("500.00"))
    response = api_as(world.erin).post(f"/api/disputes/{dispute.pk}/ruling/", {"outcome": "full_refund", "note": "x"},
                                       format="json")  # fmt: skip
    assert response.status_code == 200 and response.json()["state"] == "resolved"


def test_the_review_screen_rules_and_shows_refusals(client, world):
    dispute = escalate(world, "S-1")
    client.force_login(world.erin)
    url = f"{QUEUE}{dispute.pk}/review/"
    page = client.get(url)
    assert page.status_code == 200 and b"Please decide." in page.content
    refused = client.post(url, {"step": "rule", "rule-outcome": "partial_refund", "rule-refund_amount": "95.00",
                                "rule-note": "Too much"}, follow=True)  # fmt: skip
    assert "between the $0.00 already refunded and the $80.00 its items are worth" in refused.content.decode()
    client.post(url, {"step": "rule", "rule-outcome": "partial_refund", "rule-refund_amount": "25.00",
                      "rule-note": "Fair share."})  # fmt: skip
    dispute.refresh_from_db()
    assert (dispute.state, dispute.resolved_refund_amount) == ("resolved", Decimal("25.00"))


def test_asking_a_party_for_evidence_sets_a_three_day_deadline_that_expires(client, world, clock):
    from disputes.tasks import run_all_sweeps

    dispute = escalate(world, "E-1")
    client.force_login(world.erin)
    client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "ask", "ask-party": "seller", "ask-note": "Proof of delivery"})
    request = EvidenceRequest.objects.get()
    assert request.due_at == OPEN_AT + timedelta(days=3)
    client.force_login(world.carol)
    assert "asks you for evidence" in client.get(f"/disputes/{dispute.pk}/").content.decode()
    clock.shift(timedelta(days=3, minutes=1))
    run_all_sweeps()
    request.refresh_from_db()
    assert request.expired_at is not None


def test_posting_a_message_to_both_parties_from_the_review_screen(client, world):
    dispute = escalate(world, "M-1")
    client.force_login(world.erin)
    client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "message", "msg-body": "Please both upload tracking."})
    seen = api_as(world.alice).get(f"/api/orders/{dispute.order.number}/messages/").json()["results"][-1]
    assert (seen["author"], seen["role"], seen["body"]) == ("Dispute team", "team", "Please both upload tracking.")


def test_staff_outside_the_team_cannot_rule_or_use_the_queue(client, world):
    outsider = UserFactory(username="olga", is_staff=True)
    dispute = escalate(world, "P-1")
    client.force_login(outsider)
    assert client.get(QUEUE).status_code == 403
    assert client.get(f"{QUEUE}{dispute.pk}/review/").status_code == 403
    assert client.get(f"{QUEUE}dashboard/").status_code == 403
    response = api_as(outsider).post(f"/api/disputes/{dispute.pk}/ruling/", {"outcome": "no_refund", "note": "x"},
                                     format="json")  # fmt: skip
    # Not a party and not the team: to this account the dispute does not exist (docs/rules.md §6: 404, never leak).
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Dispute.objects.get(pk=dispute.pk).state == "escalated"


def test_buyers_and_sellers_never_reach_admin(client, world):
    for user in (world.alice, world.carol):
        client.force_login(user)
        response = client.get(QUEUE)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_team_group_holds_exactly_its_permissions(world):
    from django.contrib.auth.models import Group

    codenames = set(Group.objects.get(name="Dispute team").permissions.values_list("codename", flat=True))
    assert {"view_dispute", "change_reviewqueueitem", "view_refund", "add_evidencerequest"} <= codenames
    assert not {c for c in codenames if c.startswith("delete_")}
    assert "change_dispute" not in codenames and "change_order" not in codenames


def test_dashboard_shows_queue_load_and_store_rates(client, world, clock):
    frank = team_member("frank")
    dispute = escalate(world, "D-9")
    dispute_act_by(user=frank, dispute=dispute, action="claim")
    client.force_login(world.erin)
    response = client.get(f"{QUEUE}dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Disputes by state" in body and "Open work per member" in body and "Carol&#x27;s Gadgets" in body
    assert any(m.username == "frank" and m.open_work == 1 for m in response.context["load"])
    assert response.context["stores"][0]["rate"] == 100.0


def test_there_is_no_raw_edit_form_for_a_dispute(client, world):
    dispute = escalate(world, "R-9")
    client.force_login(world.erin)
    response = client.get(f"{QUEUE}{dispute.pk}/change/")
    assert response.status_code == 302 and response["Location"].endswith(f"/{dispute.pk}/review/")
    posted = client.post(f"/admin/disputes/dispute/{dispute.pk}/change/", {"state": "resolved"})
    assert posted.status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).state == "escalated"


class RefundsDown:
    name = "down"

    def refund(self, **_ignored):
        raise ConnectionError("payment provider unreachable")


def test_a_set_aside_dispute_is_in_the_queue_and_dashboard_and_the_team_takes_it_over(client, world, clock, settings):
    from disputes.sweeps import sweep_clocks

    waiting = escalate(world, "N-1")
    stuck = open_dispute(world, number="N-2")
    settings.PAYMENT_GATEWAY = "tests.review.test_review_queue.RefundsDown"
    clock.shift(timedelta(days=6))
    sweep_clocks()
    client.force_login(world.erin)
    assert set(queue_ids(client)) == {waiting.pk, stuck.pk}
    assert queue_ids(client, "needs_person=yes") == [stuck.pk]
    dashboard = client.get(f"{QUEUE}dashboard/")
    assert dashboard.context["needs_person"] == 1
    page = client.get(f"{QUEUE}{stuck.pk}/review/")
    body = page.content.decode()
    assert "Needs a person" in body and "payment provider unreachable" in body and "Take over for review" in body
    client.post(f"{QUEUE}{stuck.pk}/review/", {"step": "take_over"})
    taken = Dispute.objects.get(pk=stuck.pk)
    assert taken.state == "escalated" and taken.set_aside_at is None
    assert DisputeEvent.objects.filter(dispute=stuck, action="take_over", actor=world.erin).exists()
