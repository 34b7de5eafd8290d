"""Linked cases (disputes/cases.py): disputes that share a cause are linked by the dispute team and ruled
once. Each sentence here is a promise of docs/rules.md, "Linked cases and pauses", kept against PostgreSQL
through the services and the API the team and the parties use."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from core.errors import RuleViolation
from disputes.cases import (
    DEFAULT_PUBLIC_REASON,
    case_add,
    case_create,
    case_remove,
    case_rule,
    case_ruling_approve,
    case_ruling_withdraw,
    case_suggestions,
    needs_approval,
)
from disputes.models import Case, CaseRuling, Dispute, DisputeEvent, Refund
from disputes.review import ruling_submit
from disputes.services import dispute_act_by, dispute_open
from notifications.models import Notification
from orders.models import Carrier, OrderItem
from orders.services import order_record_shipment
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED
from tests.factories import make_order, team_member

pytestmark = pytest.mark.django_db
EIGHTY = Decimal("80.00")
REASON = "One container was lost at sea."


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def frank(world):
    return team_member("frank")


def opened(
    world,
    *,
    number: str,
    buyer=None,
    store=None,
    total: Decimal = EIGHTY,
    currency: str = "USD",
    reason: str = "not_received",
    carrier_code: str = "dhl",
    shipped_at=SHIPPED,
    tracking: str = "",
    return_item: bool = False,
    items=None,
) -> Dispute:
    """A dispute opened by the buyer on an order the platform recorded as shipped (with its tracking)."""
    buyer, store = buyer or world.alice, store or world.carols
    order = make_order(buyer=buyer, store=store, number=number, total=total, currency=currency,
                       carrier_code=carrier_code, placed_at=shipped_at - timedelta(days=1), items=items)  # fmt: skip
    order = order_record_shipment(actor=world.platform, order=order, carrier=order.carrier,
                                  tracking_number=tracking or f"TRK-{number}", shipped_at=shipped_at)  # fmt: skip
    picks = None
    if items:
        picks = [{"item": OrderItem.objects.get(order=order, title=items[-1][0]).pk, "quantity": items[-1][1]}]
    return dispute_open(buyer=buyer, order=order, reason=reason, item_received=return_item or reason != "not_received",
                        refund_type="full", return_item=return_item, description="Something went wrong.",
                        items=picks)  # fmt: skip


def with_the_team(world, *, number: str, **order) -> Dispute:
    """A dispute with the dispute team: opened, rejected by the seller, escalated by the buyer (a return the
    store's policy covers goes to the team on the rejection)."""
    dispute = opened(world, number=number, **order)
    dispute = dispute_act_by(user=dispute.order.store.owner, dispute=dispute, action="reject", note="It was delivered.")
    if dispute.state == "awaiting_buyer":
        dispute = dispute_act_by(user=dispute.order.buyer, dispute=dispute, action="escalate", note="It was not.")
    assert dispute.state == "escalated"
    return dispute


def three_with_the_team(world, prefix: str = "C") -> list[Dispute]:
    return [with_the_team(world, number=f"{prefix}-{n}") for n in (1, 2, 3)]


def refused(call, code: str) -> RuleViolation:
    with pytest.raises(RuleViolation) as refusal:
        call()
    assert refusal.value.code == code, (refusal.value.code, refusal.value.detail)
    return refusal.value


def fresh(dispute: Dispute) -> Dispute:
    return Dispute.objects.get(pk=dispute.pk)


def rulings(dispute: Dispute) -> list[DisputeEvent]:
    return list(DisputeEvent.objects.filter(dispute=dispute, action="ruling").order_by("pk"))


def refunds(dispute: Dispute) -> list[Decimal]:
    return sorted(Refund.objects.filter(dispute=dispute).values_list("amount", flat=True))


def ruled_once(dispute: Dispute, case: Case, amount: Decimal) -> None:
    """One ruling event on the dispute, naming the case, and one refund of `amount`."""
    events = rulings(dispute)
    assert [e.payload.get("case") for e in events] == [case.pk], events
    assert refunds(dispute) == [amount]
    dispute = fresh(dispute)
    assert (dispute.state, dispute.refunded_amount, dispute.resolved_refund_amount) == ("resolved", amount, amount)


# --- one ruling for every member ----------------------------------------------------------------------


def test_one_full_refund_ruling_resolves_every_member_once(world):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, public_reason=REASON, disputes=[d.pk for d in members])
    status, ruling = case_rule(staff=world.erin, case=case, outcome="full_refund", note="The container is lost.")
    assert status == "ruled" and ruling.status == CaseRuling.Status.APPLIED
    for dispute in members:
        ruled_once(dispute, case, EIGHTY)
        assert fresh(dispute).ruled_by == world.erin and fresh(dispute).ruling_note == "The container is lost."
    case.refresh_from_db()
    assert case.is_ruled and case.ruled_at is not None
    assert ruling.amounts == {str(d.pk): "80.00" for d in members} and ruling.totals == {"USD": "240.00"}


def test_a_percentage_gives_each_member_that_share_of_what_its_items_are_worth(world):
    odd = with_the_team(world, number="P-1", total=Decimal("33.33"))
    # The dispute covers the gadget only: its items are worth 40.00 of the order's 100.00.
    gadget = with_the_team(world, number="P-2", total=Decimal("100.00"),
                           items=[("Widget", 1, "60.00"), ("Gadget", 1, "40.00")])  # fmt: skip
    yen = with_the_team(world, number="P-3", total=Decimal("12345"), currency="JPY")
    case = case_create(staff=world.erin, public_reason=REASON, disputes=[odd.pk, gadget.pk, yen.pk])
    status, ruling = case_rule(staff=world.erin, case=case, outcome="partial_refund", percent="37.5", note="Shared.")
    assert status == "ruled"
    # 37.5% of 33.33 is 12.49875, of 40.00 is 15.00, of 12345 yen 4629.375: each rounded down to its currency's
    # minor unit (docs/rules.md: a share the code works out; the remainder stays with the seller).
    ruled = {odd.pk: Decimal("12.49"), gadget.pk: Decimal("15.00"), yen.pk: Decimal("4629")}
    for dispute in (odd, gadget, yen):
        events = rulings(dispute)
        assert [e.payload.get("case") for e in events] == [case.pk]
        assert refunds(dispute) == [ruled[dispute.pk]]
        assert fresh(dispute).outcome == "partial_refund"
    assert ruling.percent == Decimal("37.50")
    assert ruling.totals == {"JPY": "4629", "USD": "27.49"}


def test_a_hundred_percent_is_a_full_refund(world):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    case_rule(staff=world.erin, case=case, outcome="partial_refund", percent=100, note="All of it.")
    for dispute in members:
        ruled_once(dispute, case, EIGHTY)
        assert fresh(dispute).outcome == "full_refund"


def test_amounts_one_by_one_rule_each_member_its_own(world):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, public_reason=REASON, disputes=[d.pk for d in members])
    amounts = {members[0].pk: "10.00", members[1].pk: "25.50", str(members[2].pk): "79.99"}
    status, _ruling = case_rule(staff=world.erin, case=case, outcome="partial_refund", amounts=amounts, note="Each.")
    assert status == "ruled"
    for dispute, amount in zip(members, ("10.00", "25.50", "79.99"), strict=True):
        ruled_once(dispute, case, Decimal(amount))


def test_amounts_that_miss_a_member_or_go_past_what_its_items_are_worth_rule_nothing(world):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    missing = {members[0].pk: "10.00", members[1].pk: "10.00"}
    refused(lambda: case_rule(staff=world.erin, case=case, outcome="partial_refund", amounts=missing, note="."),
            "invalid")  # fmt: skip
    too_much = {members[0].pk: "10.00", members[1].pk: "80.01", members[2].pk: "10.00"}
    refusal = refused(
        lambda: case_rule(staff=world.erin, case=case, outcome="partial_refund", amounts=too_much, note="."),
        "invalid_amount",
    )
    assert str(members[1].pk) in refusal.detail and refusal.status == 400
    refused(lambda: case_rule(staff=world.erin, case=case, outcome="partial_refund", percent="0", note="."), "invalid")
    refused(lambda: case_rule(staff=world.erin, case=case, outcome="full_refund", note=" "), "invalid")
    assert not Refund.objects.exists() and not CaseRuling.objects.exists()
    assert all(fresh(d).state == "escalated" for d in members)


# --- once --------------------------------------------------------------------------------------------


def test_a_second_ruling_on_a_case_is_refused(world, frank):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    case_rule(staff=world.erin, case=case, outcome="partial_refund", percent=50, note="Half.")
    refusal = refused(lambda: case_rule(staff=frank, case=case, outcome="full_refund", note="All."), "case_ruled")
    assert refusal.status == 409
    for dispute in members:
        ruled_once(dispute, case, Decimal("40.00"))
    assert CaseRuling.objects.filter(case=case).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_members_ruling_one_case_at_once_rule_it_once(world, frank):
    with time_machine.travel(OPEN_AT, tick=True):  # time runs while one thread waits on the other's lock
        members = three_with_the_team(world, prefix="R")
        case = case_create(staff=world.erin, disputes=[d.pk for d in members])
        barrier = threading.Barrier(2)
        results: list = [None, None]

        def rule(index: int, member, outcome: str) -> None:
            try:
                barrier.wait()
                results[index] = case_rule(staff=member, case=case, outcome=outcome, note="At once.")[0]
            except RuleViolation as refusal:
                results[index] = refusal.code
            finally:
                connection.close()

        threads = [
            threading.Thread(target=rule, args=(0, world.erin, "full_refund")),
            threading.Thread(target=rule, args=(1, frank, "no_refund")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(results) == ["case_ruled", "ruled"], results
    winner = CaseRuling.objects.get(case=case)
    paid = EIGHTY if winner.outcome == "full_refund" else None
    for dispute in members:
        assert [e.payload.get("case") for e in rulings(dispute)] == [case.pk]
        assert refunds(dispute) == ([paid] if paid else [])
        assert fresh(dispute).state == "resolved"


# --- a member is ruled with its case -------------------------------------------------------------------


def test_a_member_is_not_ruled_alone_until_it_is_taken_out_of_the_case(world, frank):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, public_reason=REASON, disputes=[d.pk for d in members])
    alone = members[0]
    refused(lambda: ruling_submit(staff=frank, dispute=alone, outcome="full_refund", note="Alone."), "in_case")
    response = api_as(frank).post(f"/api/disputes/{alone.pk}/ruling/", {"outcome": "full_refund", "note": "Alone."},
                                  format="json")  # fmt: skip
    assert response.status_code == 409 and response.json()["code"] == "in_case"
    assert not rulings(alone) and not refunds(alone)

    case_remove(staff=world.erin, case=case, dispute_id=alone.pk)
    assert fresh(alone).case_id is None
    unlinked = DisputeEvent.objects.get(dispute=alone, action="case_unlinked")
    assert unlinked.payload["case"] == case.pk
    told = Notification.objects.filter(kind="case_linked", params__event="case_unlinked", params__dispute=alone.pk)
    assert sorted(told.values_list("recipient__username", flat=True)) == ["alice", "carol"]
    status, ruled = ruling_submit(staff=frank, dispute=alone, outcome="full_refund", note="Alone.")
    assert status == "ruled" and ruled.state == "resolved" and "case" not in rulings(alone)[0].payload
    # The others are still ruled together.
    case_rule(staff=world.erin, case=case, outcome="full_refund", note="Together.")
    for dispute in members[1:]:
        ruled_once(dispute, case, EIGHTY)
    assert refunds(alone) == [EIGHTY]


def test_a_member_is_not_taken_out_after_the_ruling(world):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    case_rule(staff=world.erin, case=case, outcome="no_refund", note="Delivered.")
    refused(lambda: case_remove(staff=world.erin, case=case, dispute_id=members[0].pk), "case_ruled")
    assert fresh(members[0]).case_id == case.pk


def test_linking_writes_an_event_and_tells_both_parties_the_public_reason(world):
    dispute = with_the_team(world, number="L-1")
    case = case_create(staff=world.erin, public_reason=REASON, disputes=[dispute.pk])
    linked = DisputeEvent.objects.get(dispute=dispute, action="case_linked")
    assert linked.payload == {"case": case.pk, "reason": REASON} and linked.actor == world.erin
    told = Notification.objects.filter(kind="case_linked", params__dispute=dispute.pk)
    assert sorted((n.recipient.username, n.params["reason"]) for n in told) == [("alice", REASON), ("carol", REASON)]
    # Linked again: nothing happens twice.
    case_add(staff=world.erin, case=case, dispute=dispute.pk)
    assert DisputeEvent.objects.filter(dispute=dispute, action="case_linked").count() == 1


def test_only_the_team_works_with_cases(world):
    dispute = with_the_team(world, number="L-1")
    for outsider in (world.alice, world.carol, world.platform):
        refused(lambda user=outsider: case_create(staff=user, disputes=[dispute.pk]), "forbidden")
    case = case_create(staff=world.erin, disputes=[dispute.pk])
    refused(lambda: case_rule(staff=world.carol, case=case, outcome="no_refund", note="Mine."), "forbidden")
    refused(lambda: case_remove(staff=world.alice, case=case, dispute_id=dispute.pk), "forbidden")
    assert fresh(dispute).case_id == case.pk and not rulings(dispute)


# --- what the parties see -----------------------------------------------------------------------------


def test_parties_see_their_own_dispute_and_the_public_reason_never_the_other_members(world):
    mine = with_the_team(world, number="ALICE-7")  # alice buys from carol
    theirs = with_the_team(world, number="BOB-9", buyer=world.bob, store=world.daves)
    case = case_create(staff=world.erin, public_reason=REASON, note="Team only: supplier ZX-42.",
                       disputes=[mine.pk, theirs.pk])  # fmt: skip
    case_rule(staff=world.erin, case=case, outcome="full_refund", note="The container is lost.")
    for reader, own, other in (
        (world.alice, mine, theirs),
        (world.carol, mine, theirs),
        (world.bob, theirs, mine),
        (world.dave, theirs, mine),
    ):
        response = api_as(reader).get(f"/api/disputes/{own.pk}/")
        assert response.status_code == 200
        body = response.json()
        assert "case" not in body and body["case_reason"] == REASON
        assert all("case" not in event["payload"] for event in body["events"])
        text = response.content.decode()
        hidden = (other.order.number, other.order.buyer.username, other.order.store.owner.username, "ZX-42")
        assert not [word for word in hidden if word in text], reader
        notices = api_as(reader).get("/api/notifications/")
        assert notices.status_code == 200
        assert not [word for word in hidden if word in notices.content.decode()], reader
        assert own.order.number in notices.content.decode()
        # The other member's dispute is not theirs to read.
        assert api_as(reader).get(f"/api/disputes/{other.pk}/").status_code == 404


def test_the_default_public_reason_when_the_team_gave_none(world):
    dispute = with_the_team(world, number="L-1")
    case_create(staff=world.erin, disputes=[dispute.pk])
    assert api_as(world.alice).get(f"/api/disputes/{dispute.pk}/").json()["case_reason"] == str(DEFAULT_PUBLIC_REASON)
    alone = with_the_team(world, number="L-2")
    assert api_as(world.alice).get(f"/api/disputes/{alone.pk}/").json()["case_reason"] is None


def test_the_team_sees_the_case(world):
    dispute = with_the_team(world, number="L-1")
    case = case_create(staff=world.erin, public_reason=REASON, disputes=[dispute.pk])
    body = api_as(world.erin).get(f"/api/disputes/{dispute.pk}/").json()
    assert body["case"] == case.pk and body["case_reason"] == REASON
    linked = next(e for e in body["events"] if e["action"] == "case_linked")
    assert linked["payload"]["case"] == case.pk


# --- appeals ------------------------------------------------------------------------------------------


def test_an_appeal_takes_one_dispute_out_of_its_ruled_case_and_another_member_rules_it_alone(world, frank):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, public_reason=REASON, disputes=[d.pk for d in members])
    case_rule(staff=world.erin, case=case, outcome="partial_refund", percent=50, note="Half each.")
    appealed, *others = members
    dispute_act_by(user=world.carol, dispute=appealed, action="appeal", note="It was delivered.")
    appeal = DisputeEvent.objects.get(dispute=appealed, action="appeal")
    assert appeal.payload["left_case"] == case.pk
    assert (fresh(appealed).case_id, fresh(appealed).state) == (None, "escalated")
    assert [fresh(d).case_id for d in others] == [case.pk, case.pk]
    case.refresh_from_db()
    assert case.is_ruled
    # Reviewed alone, by someone other than the member who ruled the case; never linked again.
    refused(lambda: ruling_submit(staff=world.erin, dispute=appealed, outcome="full_refund", note="."), "invalid_state")
    refused(lambda: case_add(staff=world.erin, case=Case.objects.create(created_by=world.erin), dispute=appealed.pk),
            "invalid_state")  # fmt: skip
    status, ruled = ruling_submit(staff=frank, dispute=appealed, outcome="full_refund", note="Lost after all.")
    assert status == "ruled" and ruled.state == "resolved"
    assert refunds(appealed) == [Decimal("40.00"), Decimal("40.00")]
    assert [e.payload.get("case") for e in rulings(appealed)] == [case.pk, None]
    for dispute in others:
        ruled_once(dispute, case, Decimal("40.00"))


def test_a_member_sent_back_to_the_team_after_a_ruled_return_can_still_be_ruled(world, frank):
    """A case ruled return_and_refund: a member whose returned item the seller reports damaged comes back
    to the team, and the team must be able to rule it (the case is ruled and cannot be ruled again)."""
    members = [with_the_team(world, number=f"RR-{n}", reason="other", return_item=True) for n in (1, 2)]
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    case_rule(staff=world.erin, case=case, outcome="return_and_refund", note="Send them back.")
    back = members[0]
    assert fresh(back).state == "awaiting_return"
    dispute_act_by(user=world.alice, dispute=back, action="return_shipment", carrier=Carrier.objects.get(code="dhl"),
                   tracking_number="RET-1")  # fmt: skip
    dispute_act_by(user=world.carol, dispute=back, action="return_received", condition="damaged")
    assert fresh(back).state == "escalated"
    status, ruled = ruling_submit(staff=frank, dispute=back, outcome="partial_refund", refund_amount="20.00",
                                  note="Damaged on the way back.")  # fmt: skip
    assert status == "ruled" and ruled.state == "resolved"


# --- approval ------------------------------------------------------------------------------------------


def test_a_total_above_the_threshold_waits_for_a_second_member_who_approves_the_amounts_proposed(world, frank):
    # 200.00 each, below the 500.00 threshold; 600.00 together, above it.
    members = [with_the_team(world, number=f"A-{n}", total=Decimal("200.00")) for n in (1, 2, 3)]
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    amounts = {d.pk: amount for d, amount in zip(members, ("150.00", "180.00", "190.00"), strict=True)}
    status, ruling = case_rule(staff=world.erin, case=case, outcome="partial_refund", amounts=amounts, note="Most.")
    assert status == "pending" and ruling.totals == {"USD": "520.00"}
    assert not Refund.objects.exists() and all(fresh(d).state == "escalated" for d in members)
    # While it waits: no other ruling, no member ruled alone, no member added or taken out.
    refused(lambda: case_rule(staff=frank, case=case, outcome="full_refund", note="."), "approval_pending")
    refused(lambda: ruling_submit(staff=frank, dispute=members[0], outcome="full_refund", note="."), "in_case")
    refused(lambda: case_remove(staff=frank, case=case, dispute_id=members[0].pk), "approval_pending")
    refused(lambda: case_add(staff=frank, case=case, dispute=with_the_team(world, number="A-4").pk),
            "approval_pending")  # fmt: skip
    refused(lambda: case_ruling_approve(staff=world.erin, case=case, ruling=ruling.pk), "invalid_state")  # its proposer
    refused(lambda: case_ruling_approve(staff=frank, case=case, ruling=None), "invalid")  # which one?

    case_ruling_approve(staff=frank, case=case, ruling=ruling.pk)
    ruling.refresh_from_db()
    assert (ruling.status, ruling.approved_by) == (CaseRuling.Status.APPLIED, frank)
    for dispute, amount in amounts.items():
        ruled_once(Dispute(pk=dispute), case, Decimal(amount))
        event = rulings(Dispute(pk=dispute))[0]
        assert event.actor == world.erin and event.payload["approved_by"] == str(frank)
    refused(lambda: case_ruling_approve(staff=frank, case=case, ruling=ruling.pk), "invalid_state")


def test_a_ruling_waiting_for_approval_can_be_withdrawn_and_another_proposed(world, frank):
    members = [with_the_team(world, number=f"A-{n}", total=Decimal("300.00")) for n in (1, 2)]
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    assert case_rule(staff=world.erin, case=case, outcome="full_refund", note="All.")[0] == "pending"
    withdrawn = case_ruling_withdraw(staff=frank, case=case)
    assert withdrawn.status == CaseRuling.Status.WITHDRAWN
    refused(lambda: case_ruling_approve(staff=frank, case=case, ruling=withdrawn.pk), "invalid_state")
    refused(lambda: case_ruling_withdraw(staff=frank, case=case), "invalid_state")
    # Nothing waits now: a member may be taken out, and a ruling below the threshold applies at once.
    case_remove(staff=frank, case=case, dispute_id=members[1].pk)
    status, ruling = case_rule(staff=frank, case=case, outcome="partial_refund", percent=50, note="Half.")
    assert status == "ruled" and ruling.totals == {"USD": "150.00"}
    ruled_once(members[0], case, Decimal("150.00"))
    assert not rulings(members[1])


def test_a_member_cancelled_while_the_ruling_waits_is_left_as_it_closed(world, frank):
    members = [with_the_team(world, number=f"A-{n}", total=Decimal("300.00")) for n in (1, 2)]
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    _status, ruling = case_rule(staff=world.erin, case=case, outcome="full_refund", note="All.")
    dispute_act_by(user=world.alice, dispute=members[1], action="cancel")
    case_ruling_approve(staff=frank, case=case, ruling=ruling.pk)
    ruled_once(members[0], case, Decimal("300.00"))
    assert fresh(members[1]).state == "cancelled" and not rulings(members[1]) and not refunds(members[1])


def test_needs_approval_names_each_currency_above_its_own_threshold(settings):
    settings.RULING_APPROVAL_THRESHOLD = Decimal("500.00")
    settings.RULING_APPROVAL_THRESHOLDS = {"JPY": Decimal("75000")}
    assert needs_approval({"JPY": Decimal("75000"), "USD": Decimal("500.00")}) == []
    assert needs_approval({"JPY": Decimal("75001"), "USD": Decimal("500.01")}) == ["JPY", "USD"]


# --- suggestions ----------------------------------------------------------------------------------------


def suggested(seed: Dispute) -> dict[str, list[str]]:
    return {s.dispute.order.number: s.why for s in case_suggestions(dispute=seed)}


def test_suggestions_find_disputes_that_share_a_tracking_number_a_store_and_reason_or_a_carrier(world, clock):
    early = SHIPPED - timedelta(days=10)  # more than a week before the seed's shipment
    seed = opened(world, number="SEED", tracking="TRK-SHARED")  # alice, carol's store, DHL, not received
    # The same shipment's tracking number, on another store's order with another carrier and reason.
    opened(world, number="SAME-PARCEL", buyer=world.bob, store=world.daves, reason="other", carrier_code="ups",
           shipped_at=early, tracking="TRK-SHARED")  # fmt: skip
    # A return sent back under the same tracking number.
    returned = opened(world, number="SAME-RETURN", buyer=world.bob, store=world.daves, reason="other",
                      carrier_code="ups", shipped_at=early, return_item=True)  # fmt: skip
    dispute_act_by(user=world.dave, dispute=returned, action="accept")
    dispute_act_by(user=world.bob, dispute=returned, action="return_shipment", carrier=Carrier.objects.get(code="ups"),
                   tracking_number="TRK-SHARED")  # fmt: skip
    # Another DHL parcel shipped three days before the seed's: the same carrier, the same week.
    opened(world, number="SAME-CARRIER", buyer=world.bob, store=world.daves, reason="other",
           shipped_at=SHIPPED - timedelta(days=3))  # fmt: skip
    opened(world, number="CARRIER-LATER", buyer=world.bob, store=world.daves, reason="other",
           shipped_at=SHIPPED - timedelta(days=8))  # fmt: skip
    # The same store and reason, opened three days later; and one opened eight days later.
    clock.shift(timedelta(days=3))
    opened(world, number="SAME-STORE", buyer=world.bob, carrier_code="china_post", shipped_at=early)
    clock.shift(timedelta(days=5))
    opened(world, number="STORE-LATER", buyer=world.bob, carrier_code="china_post", shipped_at=early)
    opened(world, number="OTHER-REASON", buyer=world.bob, reason="other", carrier_code="china_post", shipped_at=early)
    assert suggested(seed) == {
        "SAME-PARCEL": ["tracking"],
        "SAME-RETURN": ["tracking"],
        "SAME-CARRIER": ["carrier_week"],
        "SAME-STORE": ["store_reason_week"],
    }
    # A case suggests what looks like any of its members, never the members themselves.
    case = case_create(staff=world.erin, disputes=[seed.pk])
    assert {s.dispute.order.number for s in case_suggestions(case=case)} == set(suggested(seed))


def test_suggestions_leave_out_closed_disputes_and_those_in_another_case(world):
    seed = opened(world, number="SEED", tracking="TRK-SHARED")
    cancelled = opened(world, number="CANCELLED", buyer=world.bob, store=world.daves, reason="other",
                       carrier_code="ups", tracking="TRK-SHARED")  # fmt: skip
    dispute_act_by(user=world.bob, dispute=cancelled, action="cancel")
    elsewhere = with_the_team(world, number="ELSEWHERE", buyer=world.bob, store=world.daves, reason="other",
                              carrier_code="ups", tracking="TRK-SHARED")  # fmt: skip
    case_create(staff=world.erin, disputes=[elsewhere.pk])
    settled = opened(world, number="SETTLED", buyer=world.bob, store=world.daves, reason="other", carrier_code="ups",
                     tracking="TRK-SHARED")  # fmt: skip
    dispute_act_by(user=world.dave, dispute=settled, action="accept")
    live = opened(world, number="LIVE", buyer=world.bob, store=world.daves, reason="other", carrier_code="ups",
                  tracking="TRK-SHARED")  # fmt: skip
    assert suggested(seed) == {"LIVE": ["tracking"]}
    assert fresh(live).case_id is None


# --- what cannot be linked --------------------------------------------------------------------------------


def test_a_closed_dispute_is_not_linked(world):
    dispute = opened(world, number="L-1")
    dispute_act_by(user=world.alice, dispute=dispute, action="cancel")
    refused(lambda: case_create(staff=world.erin, disputes=[dispute.pk]), "invalid_state")
    assert not Case.objects.exists()  # all or nothing


def test_a_dispute_in_another_case_is_not_linked(world):
    dispute = with_the_team(world, number="L-1")
    first = case_create(staff=world.erin, disputes=[dispute.pk])
    second = case_create(staff=world.erin, disputes=[])
    refused(lambda: case_add(staff=world.erin, case=second, dispute=dispute.pk), "in_other_case")
    assert fresh(dispute).case_id == first.pk


def test_nothing_is_linked_to_a_ruled_case(world):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, disputes=[d.pk for d in members[:2]])
    case_rule(staff=world.erin, case=case, outcome="no_refund", note="Delivered.")
    refused(lambda: case_add(staff=world.erin, case=case, dispute=members[2].pk), "case_ruled")
    assert fresh(members[2]).case_id is None


def test_a_team_member_who_is_a_party_to_the_order_does_not_link_it(world):
    gina = team_member("gina")
    dispute = with_the_team(world, number="L-1", buyer=gina)
    refused(lambda: case_create(staff=gina, disputes=[dispute.pk]), "invalid_state")
    refused(lambda: case_create(staff=world.erin, disputes=[987654]), "invalid")


# --- who is ruled --------------------------------------------------------------------------------------


def test_a_case_is_ruled_only_once_every_live_member_is_with_the_team(world):
    members = three_with_the_team(world)
    negotiating = opened(world, number="C-4")
    case = case_create(staff=world.erin, disputes=[*(d.pk for d in members), negotiating.pk])
    refusal = refused(lambda: case_rule(staff=world.erin, case=case, outcome="full_refund", note="."), "invalid_state")
    assert str(negotiating.pk) in refusal.detail and str(members[0].pk) not in refusal.detail
    assert not Refund.objects.exists() and not CaseRuling.objects.exists()
    case_remove(staff=world.erin, case=case, dispute_id=negotiating.pk)
    case_rule(staff=world.erin, case=case, outcome="full_refund", note="Lost.")
    for dispute in members:
        ruled_once(dispute, case, EIGHTY)
    assert fresh(negotiating).state == "awaiting_seller" and not rulings(negotiating)


def test_a_member_cancelled_by_its_buyer_before_the_ruling_is_skipped(world):
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    dispute_act_by(user=world.alice, dispute=members[1], action="cancel")
    status, ruling = case_rule(staff=world.erin, case=case, outcome="full_refund", note="Lost.")
    assert status == "ruled" and set(ruling.amounts) == {str(members[0].pk), str(members[2].pk)}
    ruled_once(members[0], case, EIGHTY)
    ruled_once(members[2], case, EIGHTY)
    cancelled = fresh(members[1])
    assert cancelled.state == "cancelled" and cancelled.ruled_at is None and not refunds(cancelled)
    assert not rulings(cancelled)


def test_a_case_with_no_live_member_left_is_not_ruled(world):
    dispute = with_the_team(world, number="L-1")
    case = case_create(staff=world.erin, disputes=[dispute.pk])
    dispute_act_by(user=world.alice, dispute=dispute, action="cancel")
    refused(lambda: case_rule(staff=world.erin, case=case, outcome="full_refund", note="."), "invalid_state")
    assert not Case.objects.get(pk=case.pk).is_ruled


# --- nothing is paid before every member can be ruled ---------------------------------------------------


class CountingGateway:
    """The payment provider, counting the refunds it was asked for."""

    name = "counting"
    asked: list = []

    def refund(self, *, reference, amount, currency, **_ignored):
        CountingGateway.asked.append((reference, amount))
        return f"counted-{reference}"


@pytest.fixture
def counting(settings):
    settings.PAYMENT_GATEWAY = "tests.disputes.test_cases.CountingGateway"
    CountingGateway.asked = []
    return CountingGateway.asked


def test_an_approver_who_may_not_rule_one_member_is_refused_before_any_refund_is_asked_for(world, frank, counting):
    tom = team_member("tom")
    members = [with_the_team(world, number="G-1", total=Decimal("300.00")),
               with_the_team(world, number="G-2", total=Decimal("300.00"), buyer=tom)]  # fmt: skip
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    _status, ruling = case_rule(staff=world.erin, case=case, outcome="full_refund", note="All.")
    refused(lambda: case_ruling_approve(staff=tom, case=case, ruling=ruling.pk), "invalid_state")
    assert counting == [] and not Refund.objects.exists()
    assert all(fresh(d).state == "escalated" for d in members)
    case_ruling_approve(staff=frank, case=case, ruling=ruling.pk)
    assert sorted(amount for _reference, amount in counting) == [Decimal("300.00"), Decimal("300.00")]


def test_a_proposer_who_may_not_rule_one_member_is_refused_at_once(world, counting):
    tom = team_member("tom")
    members = [with_the_team(world, number="G-1"), with_the_team(world, number="G-2", buyer=tom)]
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    refusal = refused(lambda: case_rule(staff=tom, case=case, outcome="full_refund", note="All."), "invalid_state")
    assert str(members[1].pk) in refusal.detail
    assert counting == [] and not CaseRuling.objects.exists()


def test_an_approval_names_the_ruling_its_member_read(world, frank):
    members = [with_the_team(world, number=f"A-{n}", total=Decimal("600.00")) for n in (1, 2)]
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    _status, read = case_rule(staff=world.erin, case=case, outcome="partial_refund", percent=50, note="Half.")
    case_ruling_withdraw(staff=world.erin, case=case)
    _status, replaced = case_rule(staff=world.erin, case=case, outcome="full_refund", note="All.")
    refused(lambda: case_ruling_approve(staff=frank, case=case, ruling=read.pk), "invalid_state")
    assert not Refund.objects.exists()
    case_ruling_approve(staff=frank, case=case, ruling=replaced.pk)
    for dispute in members:
        ruled_once(dispute, case, Decimal("600.00"))


def test_an_approval_applies_exactly_the_amounts_proposed_or_nothing(world, frank, counting):
    members = [with_the_team(world, number=f"A-{n}", total=Decimal("300.00")) for n in (1, 2)]
    case = case_create(staff=world.erin, disputes=[d.pk for d in members])
    _status, ruling = case_rule(staff=world.erin, case=case, outcome="full_refund", note="All.")
    # What one member can still refund is no longer what the ruling gives it (as when the order was refunded
    # in part meanwhile): the approval rules nothing and asks for no refund.
    CaseRuling.objects.filter(pk=ruling.pk).update(amounts={**ruling.amounts, str(members[1].pk): "310.00"})
    refusal = refused(lambda: case_ruling_approve(staff=frank, case=case, ruling=ruling.pk), "invalid_state")
    assert str(members[1].pk) in refusal.detail
    assert counting == [] and not Refund.objects.exists()
    assert all(fresh(d).state == "escalated" for d in members)


def test_linking_withdraws_a_ruling_of_the_dispute_alone_that_waits_for_approval(world, frank):
    dispute = with_the_team(world, number="W-1", total=Decimal("900.00"))
    result, pending = ruling_submit(staff=frank, dispute=dispute, outcome="full_refund", note="All.")
    assert result == "pending"
    case_create(staff=world.erin, disputes=[dispute.pk])
    pending.refresh_from_db()
    assert pending.status == "withdrawn"
    assert Notification.objects.filter(recipient=frank, kind="ruling_withdrawn").exists()


def test_a_case_holds_a_bounded_number_of_disputes(world, settings, monkeypatch):
    monkeypatch.setattr("disputes.cases.MAX_MEMBERS", 2)
    members = three_with_the_team(world)
    case = case_create(staff=world.erin, disputes=[d.pk for d in members[:2]])
    refused(lambda: case_add(staff=world.erin, case=case, dispute=members[2].pk), "case_full")
    assert fresh(members[2]).case_id is None
