"""Linked cases in the dispute team's admin (disputes/case_pages.py): the list, a case's page with its members
and totals, taking a dispute out, confirming a suggestion, the ruling with its confirm step and second
approval, a case started from a dispute's review screen; and the parties, who see the case's reason on their
own dispute and nothing else of it."""

from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages

from disputes.cases import DEFAULT_PUBLIC_REASON, case_create
from disputes.models import Case, CaseRuling, Dispute, DisputeEvent
from disputes.services import dispute_act_by
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import team_member
from tests.review.test_review_queue import QUEUE, escalate

pytestmark = pytest.mark.django_db
CASES = "/admin/disputes/case/"
REASON = "One container was lost at sea."


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture
def frank(world):
    return team_member("frank")


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def a_case(world, *disputes, reason=REASON) -> Case:
    return case_create(staff=world.erin, public_reason=reason, note="Carrier confirmed the loss.",
                       disputes=[d.pk for d in disputes])  # fmt: skip


def confirmed(*members) -> dict:
    """The confirmation of a ruling's summary that showed these members."""
    return {"confirmed": "1", "members": ",".join(str(d.pk) for d in members)}


def page(client, case) -> str:
    response = client.get(f"{CASES}{case.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_team_member_sees_the_case_with_its_members_clocks_and_totals(client, world):
    first, second = escalate(world, "LC-1"), escalate(world, "LC-2", total=Decimal("120.00"))
    case = a_case(world, first, second)
    client.force_login(world.erin)
    body = page(client, case)
    assert REASON in body and "Carrier confirmed the loss." in body
    assert f"#{first.pk} · LC-1" in body and f"#{second.pk} · LC-2" in body
    assert "$80.00" in body and "$120.00" in body  # what each buyer asks
    assert "<strong>$200.00</strong> asked in USD" in body
    assert "within the $500.00 threshold" in body
    first.refresh_from_db()
    assert "ruling due by " + first.respond_by.strftime("%-d %b %Y") in body  # with the team: its ruling clock
    listing = client.get(CASES).content.decode()
    assert f'href="{CASES}{case.pk}/"' in listing and REASON in listing and "$200.00" in listing


def test_the_clocks_are_in_the_readers_time_zone_and_a_paused_one_says_until_when(client, world):
    from disputes.pauses import dispute_pause

    first, second = escalate(world, "LC-31"), escalate(world, "LC-32")
    case = a_case(world, first, second)
    paused = dispute_pause(staff=world.erin, dispute=second, reason="third_party", note="Bank.", days=3)
    world.erin.time_zone = "Asia/Tokyo"
    world.erin.save(update_fields=["time_zone"])
    client.force_login(world.erin)
    body = page(client, case)
    first.refresh_from_db()
    tokyo = first.respond_by.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"ruling due by {tokyo:%-d %b %Y, %H:%M} JST" in body
    until = paused.paused_until.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"paused until {until:%-d %b %Y, %H:%M} JST" in body


def test_the_total_above_the_threshold_says_a_ruling_needs_a_second_approval(client, world):
    case = a_case(
        world, escalate(world, "LC-3", total=Decimal("300.00")), escalate(world, "LC-4", total=Decimal("300.00"))
    )
    client.force_login(world.erin)
    assert "above the $500.00 threshold: a ruling that gives this much needs a second approval" in page(client, case)


def test_take_out_unlinks_the_dispute_and_says_so(client, world):
    first, second = escalate(world, "LC-5"), escalate(world, "LC-6")
    case = a_case(world, first, second)
    client.force_login(world.erin)
    response = client.post(f"{CASES}{case.pk}/", {"step": "take_out", "dispute": second.pk})
    assert response.status_code == 302
    assert said(response) == [f"Took dispute #{second.pk} out of case {case.pk}: it is reviewed and ruled alone from "
                              "now on."]  # fmt: skip
    assert Dispute.objects.get(pk=second.pk).case_id is None
    assert DisputeEvent.objects.filter(dispute=second, action="case_unlinked").exists()
    assert f"#{second.pk} · LC-6" not in page(client, case).split('id="suggestions"')[0]


def test_a_suggestion_is_added_only_when_the_member_confirms_it(client, world):
    first = escalate(world, "LC-7")
    other = escalate(world, "LC-8")  # the same store and reason, opened the same week
    case = a_case(world, first)
    client.force_login(world.erin)
    body = page(client, case)
    suggestions = body.split('id="suggestions"')[1]
    assert f"#{other.pk} · LC-8" in suggestions and "the same store and reason, opened the same week" in suggestions
    assert Dispute.objects.get(pk=other.pk).case_id is None  # suggested, not linked
    response = client.post(f"{CASES}{case.pk}/", {"step": "add", "add-dispute": other.pk})
    assert response.status_code == 302
    assert Dispute.objects.get(pk=other.pk).case_id == case.pk
    assert said(response)[-1].startswith(f"Added dispute #{other.pk} (LC-8) to case {case.pk}")


def test_a_refused_link_is_a_message_on_the_page_not_an_error(client, world):
    first = escalate(world, "LC-9")
    closed = dispute_in(world, "cancelled", number="LC-10")
    case = a_case(world, first)
    client.force_login(world.erin)
    response = client.post(f"{CASES}{case.pk}/", {"step": "add", "add-dispute": closed.pk})
    assert response.status_code == 200
    assert f"Dispute {closed.pk} is closed: only a live dispute joins a case." in response.content.decode()
    assert Dispute.objects.get(pk=closed.pk).case_id is None
    missing = client.post(f"{CASES}{case.pk}/", {"step": "add", "add-dispute": 999999})
    assert "No dispute has this id, and no order with this number has a dispute." in missing.content.decode()


def test_the_ruling_is_confirmed_then_resolves_every_member_once(client, world):
    first, second = escalate(world, "LC-11"), escalate(world, "LC-12", total=Decimal("40.00"))
    case = a_case(world, first, second)
    client.force_login(world.erin)
    ruling = {"step": "rule", "rule-outcome": "partial_refund", "rule-percent": "50", "rule-note": "Half each."}
    confirm = client.post(f"{CASES}{case.pk}/", ruling)
    body = confirm.content.decode()
    assert confirm.status_code == 200 and "Yes, rule the case" in body
    assert "$40.00" in body and "$20.00" in body and "<strong>$60.00</strong>" in body  # each, and in all
    assert "Within the approval threshold" in body
    assert Dispute.objects.get(pk=first.pk).state == "escalated"  # nothing ruled before the confirmation
    assert f'name="members" value="{first.pk},{second.pk}"' in body  # what the confirmation stands on
    done = client.post(f"{CASES}{case.pk}/", {**ruling, **confirmed(first, second)})
    assert done.status_code == 302
    assert said(done)[-1] == f"Ruled case {case.pk}: partial refund on every dispute (2), $60.00 to the buyers in all."
    ruled = {d.pk: d for d in Dispute.objects.filter(case=case)}
    assert {d.state for d in ruled.values()} == {"resolved"}
    assert (ruled[first.pk].resolved_refund_amount, ruled[second.pk].resolved_refund_amount) == (
        Decimal("40.00"),
        Decimal("20.00"),
    )
    assert DisputeEvent.objects.filter(dispute__case=case, action="ruling").count() == 2
    body = page(client, case)
    assert "ruled by erin" in body and "Half each." in body
    again = client.post(f"{CASES}{case.pk}/", {**ruling, **confirmed(first, second)})
    assert again.status_code == 200 and f"Case {case.pk} is already ruled" in again.content.decode()
    assert DisputeEvent.objects.filter(dispute__case=case, action="ruling").count() == 2


def test_a_confirmation_after_the_case_changed_shows_the_new_summary_and_rules_nothing(client, world):
    first, second, joined = escalate(world, "LC-33"), escalate(world, "LC-34"), escalate(world, "LC-35")
    case = a_case(world, first, second)
    client.force_login(world.erin)
    ruling = {"step": "rule", "rule-outcome": "full_refund", "rule-note": "Lost."}
    client.post(f"{CASES}{case.pk}/", {"step": "add", "add-dispute": joined.pk})  # by another tab, meanwhile
    response = client.post(f"{CASES}{case.pk}/", {**ruling, **confirmed(first, second)})
    body = response.content.decode()
    assert "The case changed since you saw what each dispute gets" in body
    assert f"#{joined.pk} · LC-35" in body.split('id="ruling"')[1] and "Yes, rule the case" in body
    assert not Dispute.objects.filter(case=case, state="resolved").exists()


def test_amounts_one_by_one_and_a_refused_amount_names_its_dispute(client, world):
    first, second = escalate(world, "LC-13"), escalate(world, "LC-14")
    case = a_case(world, first, second)
    client.force_login(world.erin)
    too_much = {"step": "rule", "rule-outcome": "partial_refund", f"rule-amount_{first.pk}": "10.00",
                f"rule-amount_{second.pk}": "90.00", "rule-note": "By the receipts."}  # fmt: skip
    refused = client.post(f"{CASES}{case.pk}/", too_much)
    assert refused.status_code == 200 and f"Dispute {second.pk}: " in refused.content.decode()
    fine = {**too_much, f"rule-amount_{second.pk}": "25.00"}
    confirm = client.post(f"{CASES}{case.pk}/", fine).content.decode()
    assert "$10.00" in confirm and "$25.00" in confirm and "<strong>$35.00</strong>" in confirm
    client.post(f"{CASES}{case.pk}/", {**fine, **confirmed(first, second)})
    amounts = dict(Dispute.objects.filter(case=case).values_list("pk", "resolved_refund_amount"))
    assert amounts == {first.pk: Decimal("10.00"), second.pk: Decimal("25.00")}


def test_a_ruling_above_the_threshold_waits_for_another_member_who_approves_it(client, world, frank):
    first = escalate(world, "LC-15", total=Decimal("300.00"))
    second = escalate(world, "LC-16", total=Decimal("300.00"))
    case = a_case(world, first, second)
    client.force_login(world.erin)
    ruling = {"step": "rule", "rule-outcome": "full_refund", "rule-note": "Lost.", **confirmed(first, second)}
    proposed = client.post(f"{CASES}{case.pk}/", ruling)
    assert said(proposed)[-1].startswith(f"The ruling on case {case.pk} waits for a second team member's approval")
    assert Dispute.objects.filter(case=case, state="resolved").count() == 0
    body = page(client, case)
    waiting = body.split('id="ruling"')[1]
    assert "erin proposed on" in waiting and "It needs a second team member's approval." in waiting
    assert waiting.count("$300.00") == 2  # the amount each buyer would get
    assert "Approve this ruling" not in body  # not by the member who proposed it
    pending = CaseRuling.objects.get(case=case)
    client.post(f"{CASES}{case.pk}/", {"step": "approve", "ruling": pending.pk})
    assert CaseRuling.objects.get(case=case).status == "pending"

    client.force_login(frank)
    assert "Approve this ruling" in page(client, case)
    approved = client.post(f"{CASES}{case.pk}/", {"step": "approve", "ruling": pending.pk})
    assert said(approved)[-1] == f"Approved: the ruling took effect on every dispute of case {case.pk}."
    assert list(Dispute.objects.filter(case=case).values_list("state", "resolved_refund_amount")) == [
        ("resolved", Decimal("300.00")),
        ("resolved", Decimal("300.00")),
    ]
    assert "Approved by frank." in page(client, case)


def test_a_waiting_ruling_can_be_withdrawn_and_then_the_members_change_again(client, world, frank):
    first = escalate(world, "LC-17", total=Decimal("300.00"))
    second = escalate(world, "LC-18", total=Decimal("300.00"))
    case = a_case(world, first, second)
    client.force_login(world.erin)
    client.post(f"{CASES}{case.pk}/", {"step": "rule", "rule-outcome": "full_refund", "rule-note": "Lost.",
                                       **confirmed(first, second)})  # fmt: skip
    refused = client.post(f"{CASES}{case.pk}/", {"step": "take_out", "dispute": second.pk})
    assert "waits for approval: withdraw it before changing the members" in refused.content.decode()
    client.force_login(frank)
    withdrawn = client.post(f"{CASES}{case.pk}/", {"step": "withdraw"})
    assert said(withdrawn)[-1] == f"Withdrew the ruling waiting on case {case.pk}: nothing was ruled."
    assert 'value="take_out"' in page(client, case)


def test_a_case_is_started_from_a_review_screen_with_the_suggestions_ticked(client, world):
    first, other, left = escalate(world, "LC-19"), escalate(world, "LC-20"), escalate(world, "LC-21")
    client.force_login(world.erin)
    review = client.get(f"{QUEUE}{first.pk}/review/").content.decode()
    assert f'name="case-others" value="{other.pk}"' in review and f'name="case-others" value="{left.pk}"' in review
    response = client.post(f"{QUEUE}{first.pk}/review/", {"step": "case_create", "case-others": [other.pk],
                                                         "case-public_reason": REASON, "case-note": ""})  # fmt: skip
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{CASES}{case.pk}/"
    assert set(case.disputes.values_list("pk", flat=True)) == {first.pk, other.pk}
    review = client.get(f"{QUEUE}{first.pk}/review/").content.decode()
    assert f'href="{CASES}{case.pk}/">In case {case.pk}</a>: {REASON}' in review
    # The dispute left out joins the case by its number.
    joined = client.post(f"{QUEUE}{left.pk}/review/", {"step": "case_join", "join-case": case.pk})
    assert joined["Location"] == f"{CASES}{case.pk}/" and Dispute.objects.get(pk=left.pk).case_id == case.pk
    no_case = client.post(f"{QUEUE}{escalate(world, 'LC-22').pk}/review/", {"step": "case_join", "join-case": 999})
    assert "There is no case with this number." in no_case.content.decode()


def test_a_dispute_in_a_case_is_not_ruled_alone_from_its_review_screen(client, world):
    dispute = escalate(world, "LC-23")
    client.force_login(world.erin)
    client.post(f"{QUEUE}{dispute.pk}/review/", {"step": "claim"})
    case = a_case(world, dispute)
    review = client.get(f"{QUEUE}{dispute.pk}/review/").content.decode()
    assert 'name="step" value="rule"' not in review and "it is ruled with the other disputes of the case" in review
    assert f"{CASES}{case.pk}/#ruling" in review


def test_buyers_sellers_and_staff_outside_the_team_never_reach_the_case_pages(client, world):
    case = a_case(world, escalate(world, "LC-24"))
    for user in (world.alice, world.carol):
        client.force_login(user)
        for url in (CASES, f"{CASES}{case.pk}/"):
            response = client.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"]
        client.post(f"{CASES}{case.pk}/", {"step": "take_out", "dispute": case.disputes.get().pk})
    staff = team_member("gus")
    staff.groups.clear()
    client.force_login(staff)
    assert client.get(f"{CASES}{case.pk}/").status_code == 403
    assert client.post(f"{CASES}{case.pk}/", {"step": "take_out", "dispute": case.disputes.get().pk}).status_code == 403
    assert case.disputes.count() == 1
    client.force_login(world.erin)
    assert client.get(f"{CASES}999999/").status_code == 404


def test_the_parties_read_the_case_reason_and_nothing_of_the_other_disputes(client, world):
    mine, other = escalate(world, "LC-25"), escalate(world, "LC-26")
    case = a_case(world, mine, other)
    for user in (world.alice, world.carol):
        client.force_login(user)
        body = client.get(f"/disputes/{mine.pk}/").content.decode()
        assert "The dispute team reviews this dispute together with others that share its cause:" in body
        assert REASON in body
        assert "LC-26" not in body and f"/disputes/{other.pk}/" not in body and f"{CASES}{case.pk}/" not in body


def test_without_a_reason_of_its_own_the_parties_read_the_default_text(client, world):
    dispute = escalate(world, "LC-27")
    a_case(world, dispute, reason="")
    client.force_login(world.alice)
    body = client.get(f"/disputes/{dispute.pk}/").content.decode()
    assert str(DEFAULT_PUBLIC_REASON) in body


def test_a_dispute_alone_shows_no_case_box_to_its_parties(client, world):
    dispute = escalate(world, "LC-28")
    dispute_act_by(user=world.erin, dispute=dispute, action="claim")
    client.force_login(world.alice)
    assert "share its cause" not in client.get(f"/disputes/{dispute.pk}/").content.decode()


def test_a_dispute_is_added_by_its_id_or_its_orders_number_and_one_not_with_the_team_is_flagged(client, world):
    first, by_number, by_id = escalate(world, "LC-41"), escalate(world, "LC-42"), escalate(world, "LC-43")
    waiting = dispute_in(world, "awaiting_seller", number="LC-44")
    case = a_case(world, first)
    client.force_login(world.erin)
    client.post(f"{CASES}{case.pk}/", {"step": "add", "add-dispute": "lc-42"})
    client.post(f"{CASES}{case.pk}/", {"step": "add", "add-dispute": f"#{by_id.pk}"})
    assert {d.pk for d in Dispute.objects.filter(case=case)} == {first.pk, by_number.pk, by_id.pk}
    flagged = client.post(f"{CASES}{case.pk}/", {"step": "add", "add-dispute": "LC-44"})
    assert said(flagged)[-1].startswith(f"Dispute #{waiting.pk} is not with the team yet")
    unknown = client.post(f"{CASES}{case.pk}/", {"step": "add", "add-dispute": "DD-0000"})
    assert unknown.status_code == 200
    assert said(unknown)[-1] == "The dispute was not added: see the form under “Add a dispute”."
    assert "no order with this number has a dispute" in unknown.content.decode()


def test_going_back_from_the_summary_keeps_what_was_filled_in(client, world):
    first, second = escalate(world, "LC-45"), escalate(world, "LC-46")
    case = a_case(world, first, second)
    client.force_login(world.erin)
    ruling = {"step": "rule", "rule-outcome": "partial_refund", "rule-percent": "40", "rule-note": "Some each."}
    back = client.post(f"{CASES}{case.pk}/", {**ruling, **confirmed(first, second), "back": "1"})
    body = back.content.decode()
    assert back.status_code == 200 and "Yes, rule the case" not in body
    assert "Some each.</textarea>" in body and 'value="40"' in body
    assert Dispute.objects.filter(case=case, state="resolved").count() == 0


def test_a_summary_with_a_member_not_with_the_team_offers_no_ruling(client, world):
    first = escalate(world, "LC-47")
    waiting = dispute_in(world, "awaiting_seller", number="LC-48")
    case = a_case(world, first, waiting)
    client.force_login(world.erin)
    ruling = {"step": "rule", "rule-outcome": "full_refund", "rule-note": "All."}
    body = client.post(f"{CASES}{case.pk}/", ruling).content.decode()
    assert f"Not with the team yet: #{waiting.pk}" in body and "Yes, rule the case" not in body


def test_the_review_queue_says_which_disputes_are_in_a_case(client, world):
    first, alone = escalate(world, "LC-49"), escalate(world, "LC-50")
    case = a_case(world, first)
    client.force_login(world.erin)
    body = client.get(QUEUE).content.decode()
    assert f'href="{CASES}{case.pk}/">in case {case.pk}</a>' in body
    assert body.count("case-badge") == 1 and f"#{alone.pk} · LC-50" in body


def test_after_the_ruling_the_parties_read_that_it_was_ruled_with_others(client, world):
    first, second = escalate(world, "LC-51"), escalate(world, "LC-52")
    case = a_case(world, first, second)
    client.force_login(world.erin)
    client.post(f"{CASES}{case.pk}/", {"step": "rule", "rule-outcome": "full_refund", "rule-note": "All.",
                                       **confirmed(first, second)})  # fmt: skip
    client.force_login(world.alice)
    body = client.get(f"/disputes/{first.pk}/").content.decode()
    assert "The dispute team ruled this dispute together with others that share its cause:" in body
