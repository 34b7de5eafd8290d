"""The dispute page as a guide: the reader's own voice, where the dispute is, the standing offer,
actions by weight, confirmation before anything irreversible, a timeline without the team's
internal moves, and a dispute form that knows the order."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from disputes.forms import DisputeOpenForm
from disputes.models import Dispute, DisputeEvent
from disputes.selectors import default_outcome
from disputes.services import dispute_act_by
from orders.services import order_record_delivery
from sellers.models import ReturnPolicy
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in, open_dispute
from tests.factories import make_order, team_member

pytestmark = pytest.mark.django_db


def page(client, user, url: str) -> str:
    client.force_login(user)
    return client.get(url).content.decode().replace("&#x27;", "'")


def text_of(html: str) -> str:
    """The page's words, without tags, on one line each run of spaces."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the reader's own voice ------------------------------------------------------------------------


def test_the_default_outcome_speaks_to_the_party_who_reads_it_and_neutrally_to_everyone_else(world):
    with time_machine.travel(OPEN_AT, tick=False):
        waiting_on_seller = dispute_in(world, "awaiting_seller")
        waiting_on_buyer = dispute_in(world, "awaiting_buyer", number="D-2")
    buyer = default_outcome(waiting_on_seller, viewer="buyer")
    seller = default_outcome(waiting_on_seller, viewer="seller")
    assert buyer.startswith("If the seller does not answer by") and "your request is granted" in buyer
    assert "you are refunded $80.00" in buyer
    assert seller.startswith("If you do not answer by") and "the buyer is refunded $80.00" in seller
    assert "the buyer's request is granted: $80.00 is refunded" in default_outcome(waiting_on_seller)

    buyer = default_outcome(waiting_on_buyer, viewer="buyer")
    seller = default_outcome(waiting_on_buyer, viewer="seller")
    assert buyer.startswith("If you do not answer by") and "you are refunded $30.00" in buyer
    assert seller.startswith("If the buyer does not answer by") and "your offer is accepted" in seller


@pytest.mark.parametrize(
    ("state", "buyer_words", "seller_words"),
    [
        ("awaiting_return", "If you do not submit the return's tracking by", "If the buyer does not submit"),
        ("return_in_transit", "you are refunded $80.00", "If you do not confirm the returned item by"),
    ],
)
def test_the_return_clocks_are_told_in_the_second_person_too(world, state, buyer_words, seller_words):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, state)
    assert buyer_words in default_outcome(dispute, viewer="buyer")
    assert seller_words in default_outcome(dispute, viewer="seller")


def test_the_buyer_reads_about_their_own_request_with_the_deadline_in_their_time_zone(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        buyer = page(client, world.alice, f"/disputes/{dispute.pk}/")  # alice lives in Los Angeles
        seller = page(client, world.carol, f"/disputes/{dispute.pk}/")  # carol in UTC
        team = page(client, world.erin, f"/disputes/{dispute.pk}/")
    # Opened 9 Mar 2026 12:00 UTC, answer due five days later: 05:00 in Los Angeles (daylight time).
    assert "If the seller does not answer by 14 Mar 2026, 05:00 PDT, your request is granted" in buyer
    assert "Your request" in buyer and "You asked for" in buyer
    assert "You opened the dispute, asking for $80.00." in buyer
    assert "the buyer's request is granted" not in buyer and "If the buyer" not in buyer

    assert "If you do not answer by 14 Mar 2026, 12:00 UTC, the buyer's request is granted" in seller
    assert "The buyer is waiting for your answer" in seller and "It is your turn." in seller
    assert "The buyer opened the dispute, asking for $80.00." in seller

    assert "If the seller does not answer by 14 Mar 2026, 12:00 UTC, the buyer's request is granted" in team
    assert "your request" not in team.lower() and "If you do not" not in team


def test_a_refund_is_told_to_the_buyer_as_theirs_and_to_the_seller_as_the_buyers(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "resolved")
        buyer = text_of(page(client, world.alice, f"/disputes/{dispute.pk}/"))
        seller = text_of(page(client, world.carol, f"/disputes/{dispute.pk}/"))
    assert "$80.00 refunded to you." in buyer and "You and the seller agreed." in buyer
    assert "$80.00 refunded to the buyer." in seller and "You and the buyer agreed." in seller
    assert "The seller accepted your request." in buyer and "You accepted the buyer's request." in seller


# --- where the dispute is -----------------------------------------------------------------------------


def steps(html: str) -> list[tuple[str, bool]]:
    """The stepper's steps: (data-stage, whether it is the current one)."""
    stepper = html[html.index('<ol class="stepper"') : html.index("</ol>", html.index('<ol class="stepper"'))]
    found = re.finditer(r'<li class="step[^"]*"( aria-current="step")? data-stage="(\w+)"', stepper)
    return [(m.group(2), bool(m.group(1))) for m in found]


def test_the_stepper_is_an_ordered_list_marking_the_current_step(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        waiting_on_seller = dispute_in(world, "awaiting_seller")
        waiting_on_buyer = dispute_in(world, "awaiting_buyer", number="D-2")
        with_team = dispute_in(world, "under_review", number="D-3")
        returning = dispute_in(world, "awaiting_return", number="D-4")
        resolved = dispute_in(world, "resolved", number="D-5")
        opened = page(client, world.alice, f"/disputes/{waiting_on_seller.pk}/")
        assert steps(opened) == [("opened", False), ("seller", True), ("team", False), ("end", False)]
        assert "The dispute team decides, if needed" in opened and "The seller answers" in opened
        answered = page(client, world.alice, f"/disputes/{waiting_on_buyer.pk}/")
        assert steps(answered) == [("opened", False), ("seller", False), ("buyer", True), ("team", False),
                                   ("end", False)]  # fmt: skip
        assert "You answer" in answered
        assert [k for k, now in steps(page(client, world.carol, f"/disputes/{with_team.pk}/")) if now] == ["team"]
        assert steps(page(client, world.alice, f"/disputes/{returning.pk}/")) == [
            ("opened", False), ("seller", False), ("return", True), ("end", False)]  # fmt: skip
        closed = page(client, world.alice, f"/disputes/{resolved.pk}/")
    assert steps(closed) == [("opened", False), ("seller", False), ("end", True)]
    assert "Refunded" in closed


# --- the standing offer, and the actions by weight ----------------------------------------------------


def test_the_standing_offer_sits_in_its_own_box_with_accept_this_offer(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        buyer = page(client, world.alice, f"/disputes/{dispute.pk}/")
        seller = page(client, world.carol, f"/disputes/{dispute.pk}/")
    box = buyer[buyer.index('class="card offer-card"') : buyer.index("</section>", buyer.index("offer-card"))]
    assert "The seller's offer" in box and "$30.00" in box and "Half?" in box
    assert f'action="/disputes/{dispute.pk}/accept/confirm/"' in box and "Accept this offer" in box
    # The seller sees it as theirs, with nothing to accept.
    box = seller[seller.index('class="card offer-card"') : seller.index("</section>", seller.index("offer-card"))]
    assert "Your offer" in box and "Accept this offer" not in box


@pytest.mark.parametrize("state", ["resolved", "cancelled", "ruled"])
def test_the_offer_is_not_shown_once_the_dispute_is_resolved_cancelled_or_ruled(client, world, state):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        if state == "cancelled":
            dispute_act_by(user=world.alice, dispute=dispute, action="cancel")
        elif state == "resolved":
            dispute_act_by(user=world.alice, dispute=dispute, action="accept")
        else:
            dispute = dispute_act_by(user=world.alice, dispute=dispute, action="escalate")
            dispute = dispute_act_by(user=world.erin, dispute=dispute, action="claim")
            assert "offer-card" in page(client, world.alice, f"/disputes/{dispute.pk}/")  # not yet ruled
            dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="partial_refund",
                           refund_amount=Decimal("40.00"), note="Half.")  # fmt: skip
        html = page(client, world.alice, f"/disputes/{dispute.pk}/")
    assert "offer-card" not in html and "Accept this offer" not in html


def test_actions_are_grouped_primary_secondary_and_destructive(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        html = page(client, world.alice, f"/disputes/{dispute.pk}/")
    primary = html[html.index("action-group-primary") : html.index("action-group-secondary")]
    secondary = html[html.index("action-group-secondary") : html.index("action-group-destructive")]
    destructive = html[html.index("action-group-destructive") : html.index('id="evidence"')]
    assert "Modify your request" in primary
    assert "Escalate to the dispute team" in secondary and "rules within 7 days" in secondary
    assert "Cancel the dispute" in destructive and 'class="button danger"' in destructive
    assert "A cancelled dispute can be reopened only once." in destructive


def test_appeal_states_its_deadline_once_only_and_another_reviewer(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review")
        dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="no_refund", note="Fine as sent.")
        html = text_of(page(client, world.carol, f"/disputes/{dispute.pk}/"))
    # Ruled 9 Mar 2026 12:00 UTC; carol reads UTC.
    assert "Appeal the ruling" in html
    assert "Once only, until 16 Mar 2026, 12:00 UTC. A different member of the dispute team reviews the ruling." in html


# --- irreversible actions ask first -----------------------------------------------------------------


def test_accepting_asks_first_and_posting_without_confirming_changes_nothing(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        screen = text_of(page(client, world.alice, f"/disputes/{dispute.pk}/accept/confirm/"))
        assert "Accept the seller's offer?" in screen
        assert "You are refunded $30.00 now, and the dispute closes." in screen
        assert "This cannot be undone." in screen and "Yes, accept the offer" in screen and "No, go back" in screen

        unconfirmed = client.post(f"/disputes/{dispute.pk}/accept/", {"accept-note": "Fine."})
        assert unconfirmed.status_code == 200 and "Yes, accept the offer" in unconfirmed.content.decode()
        assert 'name="confirmed" value="1"' in unconfirmed.content.decode()
        assert "Fine." in unconfirmed.content.decode()  # the note typed is kept
        assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_buyer"

        confirmed = client.post(f"/disputes/{dispute.pk}/accept/", {"accept-note": "Fine.", "confirmed": "1"})
    assert confirmed.status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).state == "resolved"


def test_the_seller_accepting_a_return_is_told_the_return_comes_first(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = open_dispute(world, return_item=True)
        screen = text_of(page(client, world.carol, f"/disputes/{dispute.pk}/accept/confirm/"))
    assert "Accept the buyer's request?" in screen
    assert "The buyer sends the item back within 10 days. Once you confirm it arrived (you have 15 days)" in screen
    assert "the buyer is refunded $80.00" in screen


def test_cancelling_states_the_one_reopen_and_then_that_there_is_none(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        first = dispute_in(world, "awaiting_seller")
        screen = text_of(page(client, world.alice, f"/disputes/{first.pk}/cancel/confirm/"))
        # DHL window: shipped 1 Mar 12:00 UTC + 23 days = 24 Mar 2026, 12:00 UTC = 05:00 in Los Angeles.
        assert "Cancel the dispute?" in screen and "nothing is refunded" in screen
        assert "You can open a new dispute on this order once more, until 24 Mar 2026, 05:00 PDT" in screen
        assert "a cancelled dispute can be reopened only once" in screen
        client.post(f"/disputes/{first.pk}/cancel/", {"cancel-note": "", "confirmed": "1"})
        assert Dispute.objects.get(pk=first.pk).state == "cancelled"

        again = {"item_received": "no", "reason": "not_received", "refund_type": "full", "return_item": "no",
                 "description": "Again.", "why_unresolved": "No answer."}  # fmt: skip
        client.post("/orders/D-1/dispute/new/", again)
        second = Dispute.objects.exclude(pk=first.pk).get()
        screen = text_of(page(client, world.alice, f"/disputes/{second.pk}/cancel/confirm/"))
    assert "already been reopened once, so after cancelling you cannot open another dispute" in screen
    assert "Nothing is refunded, and you cannot open another dispute on this order." in page(
        client, world.alice, f"/disputes/{second.pk}/"
    )


def test_escalating_says_the_team_decides_and_the_offer_lapses(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        screen = text_of(page(client, world.alice, f"/disputes/{dispute.pk}/escalate/confirm/"))
    assert "Escalate to the dispute team?" in screen
    assert "You and the seller can still agree between yourselves" in screen
    assert "The seller's offer of $30.00 can then no longer be accepted." in screen
    assert "rules within 7 days, by 16 Mar 2026, 05:00 PDT" in screen
    assert "Either side may appeal the ruling once, within 7 days." in screen


def test_appealing_states_seven_days_once_only_and_a_different_reviewer(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review")
        dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="partial_refund",
                       refund_amount=Decimal("30.00"), note="Some.")  # fmt: skip
        screen = text_of(page(client, world.alice, f"/disputes/{dispute.pk}/appeal/confirm/"))
    assert "Appeal the ruling?" in screen
    assert "a different team member reviews it" in screen
    assert "You can appeal only once, and only until 16 Mar 2026, 05:00 PDT (7 days after the ruling)." in screen
    # Resolved, it is already closed: the screen says what the appeal does instead.
    assert "can no longer be cancelled" not in screen
    assert "The dispute reopens with the dispute team, who rule again within 7 days" in screen


def test_a_confirmation_for_what_is_not_allowed_now_says_why_and_offers_no_button(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        client.force_login(world.alice)
        early = client.get(f"/disputes/{dispute.pk}/escalate/confirm/")  # the seller has not answered yet
        wrong_side = client.get(f"/disputes/{dispute.pk}/appeal/confirm/")
        client.force_login(world.carol)
        seller_cancel = client.get(f"/disputes/{dispute.pk}/cancel/confirm/")
    assert early.status_code == 409 and "The seller has 5 days to answer your request first" in early.content.decode()
    assert wrong_side.status_code == 409 and "You cannot do that at this point." in wrong_side.content.decode()
    assert seller_cancel.status_code == 409 and "Yes, cancel" not in seller_cancel.content.decode()


def test_confirmation_screens_answer_404_to_outsiders_and_for_actions_that_ask_nothing(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        client.force_login(world.bob)
        assert client.get(f"/disputes/{dispute.pk}/cancel/confirm/").status_code == 404
        client.force_login(world.carol)
        assert client.get(f"/disputes/{dispute.pk}/propose/confirm/").status_code == 404


# --- what happened: a timeline for parties ------------------------------------------------------------


def test_parties_never_see_routing_assignment_handover_or_a_staff_name(client, world):
    frank = team_member("frank")
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review")  # claimed by erin
        dispute_act_by(user=frank, dispute=dispute, action="assign_to", member=world.erin)
        dispute_act_by(user=world.erin, dispute=dispute, action="release")
        dispute_act_by(user=frank, dispute=dispute, action="claim")
        dispute_act_by(user=frank, dispute=Dispute.objects.get(pk=dispute.pk), action="ruling",
                       outcome="partial_refund", refund_amount=Decimal("30.00"), note="Half of it.")  # fmt: skip
        assert DisputeEvent.objects.filter(dispute=dispute, payload__has_key="handover_from").exists()
        for party in (world.alice, world.carol):
            html = page(client, party, f"/disputes/{dispute.pk}/")
            timeline = text_of(html[html.index('id="h-timeline"') :])
            for staff in ("erin", "frank"):
                assert staff not in html.lower(), (party.username, staff)
            for internal in ("routed", "released", "took the dispute", "assigned", "handed over", "→"):
                assert internal not in timeline.lower(), (party.username, internal)
            assert timeline.count("dispute team") == 2  # escalated once, ruled once: no duplicate lines
            assert "The dispute team ruled: Partial refund, $30.00 in all." in timeline
        team = text_of(page(client, world.erin, f"/disputes/{dispute.pk}/"))
    assert "frank took the dispute for review." in team and "The dispute was released to the queue." in team


# --- the dispute form knows the order ---------------------------------------------------------------


def test_a_delivered_order_asks_with_received_and_no_reason_preselected(world):
    order = make_order(buyer=world.alice, store=world.carols, number="F-1", shipped_at=SHIPPED)
    order = order_record_delivery(actor=world.platform, order=order, delivered_at=SHIPPED + timedelta(days=3))
    form = DisputeOpenForm(order=order)
    html = str(form)
    assert form["item_received"].value() == "yes"
    assert form["reason"].value() in (None, "")
    assert '<option value="not_received">' in html  # offered, not selected
    reasons = [value for value, _label in form.fields["reason"].choices]
    assert reasons[0] == "" and reasons[-1] == "not_received"
    assert "The carrier recorded delivery on 4 Mar 2026." in html


def test_an_order_never_shipped_asks_with_not_received(world):
    order = make_order(buyer=world.alice, store=world.carols, number="F-2")
    form = DisputeOpenForm(order=order)
    assert form["item_received"].value() == "no" and form["reason"].value() == "not_received"


def test_the_return_defaults_from_the_policy_the_order_froze(world):
    needs_return = make_order(buyer=world.alice, store=world.carols, number="F-3", shipped_at=SHIPPED)
    ReturnPolicy.objects.filter(store=world.daves).update(refund_without_return=True)
    refund_anyway = make_order(buyer=world.alice, store=world.daves, number="F-4", shipped_at=SHIPPED)
    assert DisputeOpenForm(order=needs_return)["return_item"].value() == "yes"
    assert "refunds only once the item is back" in DisputeOpenForm(order=needs_return).fields["return_item"].help_text
    assert DisputeOpenForm(order=refund_anyway)["return_item"].value() == "no"


def test_the_amount_is_asked_only_for_a_partial_refund(world):
    order = make_order(buyer=world.alice, store=world.carols, number="F-5", shipped_at=SHIPPED)
    form = DisputeOpenForm(order=order)
    assert form.fields["refund_amount"].label == "Amount, for a partial refund only"
    assert form["refund_type"].value() == "full"
    data = {"item_received": "yes", "reason": "other", "refund_type": "full", "refund_amount": "12.00",
            "return_item": "no", "description": "Scratched.", "why_unresolved": "No answer."}  # fmt: skip
    full = DisputeOpenForm(data, order=order)
    assert full.is_valid() and full.cleaned_data["refund_amount"] is None
    partial = DisputeOpenForm({**data, "refund_type": "partial", "refund_amount": ""}, order=order)
    assert not partial.is_valid() and "Give the amount of the partial refund." in partial.errors["refund_amount"]


def test_not_received_never_sends_anything_back_and_cannot_go_with_an_item_received(world):
    order = make_order(buyer=world.alice, store=world.carols, number="F-6", shipped_at=SHIPPED)
    data = {"item_received": "no", "reason": "not_received", "refund_type": "full", "return_item": "yes",
            "description": "Never came.", "why_unresolved": "No answer."}  # fmt: skip
    form = DisputeOpenForm(data, order=order)
    assert form.is_valid() and form.cleaned_data["return_item"] is False
    contradiction = DisputeOpenForm({**data, "item_received": "yes"}, order=order)
    assert not contradiction.is_valid() and "You said the item arrived" in contradiction.errors["reason"][0]


# --- the list -------------------------------------------------------------------------------------------


def test_the_list_shows_the_item_amount_and_date_and_filters_waiting_open_and_closed(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        waiting = dispute_in(world, "awaiting_buyer", number="L-1")
        open_ = dispute_in(world, "awaiting_seller", number="L-2")
        closed = dispute_in(world, "resolved", number="L-3")
        with_team = dispute_in(world, "under_review", number="L-4")
        client.force_login(world.alice)

        def shown(query=""):
            html = client.get(f"/disputes/{query}").content.decode()
            return {int(pk) for pk in re.findall(r'data-dispute="(\d+)"', html)}, html

        everything, html = shown()
        assert everything == {waiting.pk, open_.pk, closed.pk, with_team.pk}
        assert "Widget" in html and "$80.00 asked" in html and "opened 9 Mar 2026" in html
        assert "With the dispute team" in html and "Under review" not in html
        assert shown("?show=waiting")[0] == {waiting.pk}
        assert shown("?show=open")[0] == {waiting.pk, open_.pk, with_team.pk}
        assert shown("?show=closed")[0] == {closed.pk}


def test_a_confirmed_action_that_is_refused_comes_back_with_its_error_and_its_note(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        client.force_login(world.alice)
        response = client.post(f"/disputes/{dispute.pk}/cancel/", {"cancel-note": "x" * 2001, "confirmed": "1"})
    html = response.content.decode()
    assert response.status_code == 400 and Dispute.objects.get(pk=dispute.pk).state == "awaiting_seller"
    slot = html[html.index('data-action="cancel"') : html.index("</form>", html.index('data-action="cancel"'))]
    assert 'name="confirmed" value="1"' in slot and 'id="id_cancel-note"' in slot
    assert "Ensure this value has at most 2000 characters" in slot


# --- the review's findings: confirming a return, the reader's own words, the stepper, money ---------


def stage_status(html: str) -> dict[str, str]:
    """The stepper's steps: data-stage -> done, current, upcoming or skipped."""
    stepper = html[html.index('<ol class="stepper"') : html.index("</ol>", html.index('<ol class="stepper"'))]
    return {m.group(2): m.group(1) for m in re.finditer(r'<li class="step step-(\w+)"[^>]*data-stage="(\w+)"', stepper)}


def test_confirming_the_returned_item_asks_first_and_says_what_each_condition_does(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "return_in_transit")
        html = page(client, world.carol, f"/disputes/{dispute.pk}/")
        primary = html[html.index("action-group-primary") : html.index("action-group-secondary")]
        # The main move is a primary button to its confirmation screen, not a one-click refund.
        assert f'action="/disputes/{dispute.pk}/return_received/confirm/"' in primary
        assert 'class="button primary">Confirm the returned item' in primary

        screen = page(client, world.carol, f"/disputes/{dispute.pk}/return_received/confirm/")
        words = text_of(screen)
        assert "the buyer is refunded $80.00 now, and the dispute closes." in words
        assert "the dispute goes to the dispute team" in words
        assert "Received damaged" in words and "Received an empty parcel" in words
        assert "Yes, confirm the returned item" in words and "This cannot be undone." in words
        # Nothing is chosen for the seller: the first choice is empty, and the field is required.
        options = re.findall(r"<option[^>]*>", screen[screen.index('name="return_received-condition"') :])
        assert options[0] == '<option value="" selected>'
        assert not any("selected" in option for option in options[1:])

        # A post that is not confirmed shows the screen and changes nothing.
        unconfirmed = client.post(f"/disputes/{dispute.pk}/return_received/", {"return_received-condition": "ok"})
        assert unconfirmed.status_code == 200 and "Yes, confirm the returned item" in unconfirmed.content.decode()
        dispute.refresh_from_db()
        assert dispute.state == "return_in_transit"
        # Confirmed without a condition: refused, nothing happens.
        empty = client.post(f"/disputes/{dispute.pk}/return_received/", {"confirmed": "1"})
        assert empty.status_code == 400
        dispute.refresh_from_db()
        assert dispute.state == "return_in_transit"
        done = client.post(
            f"/disputes/{dispute.pk}/return_received/", {"confirmed": "1", "return_received-condition": "ok"}
        )
    assert done.status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == "resolved"


def test_a_cancelled_disputes_stepper_does_not_tick_an_answer_that_never_came(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        cancelled = dispute_in(world, "cancelled")
        answered = dispute_in(world, "resolved", number="D-2")  # the seller accepted
        cancelled_html = page(client, world.alice, f"/disputes/{cancelled.pk}/")
        answered_html = page(client, world.alice, f"/disputes/{answered.pk}/")
    assert stage_status(cancelled_html)["opened"] == "done"
    assert stage_status(cancelled_html)["seller"] == "skipped"
    assert stage_status(cancelled_html)["end"] == "current"
    assert "Done: </span>The seller answers" not in cancelled_html
    assert "Did not happen:" in cancelled_html
    assert stage_status(answered_html)["seller"] == "done"


def test_the_lists_and_the_order_page_speak_to_each_party_in_their_own_words(client, world):
    from disputes import guide

    with time_machine.travel(OPEN_AT, tick=False):
        waiting_on_seller = dispute_in(world, "awaiting_seller")
        returning = dispute_in(world, "awaiting_return", number="D-2")
        cancelled = dispute_in(world, "cancelled", number="D-3")
        buyer_list = text_of(page(client, world.alice, "/orders/"))
        seller_list = text_of(page(client, world.carol, "/seller/orders/"))
        disputes_list = text_of(page(client, world.alice, "/disputes/"))
        seller_order = page(client, world.carol, "/orders/D-1/")
        buyer_order = page(client, world.alice, "/orders/D-1/")
    # One wording for the three places: the disputes list's.
    for phrase in ("Waiting for the seller", "Waiting for you to ship the return", "You cancelled it"):
        assert phrase in buyer_list and phrase in disputes_list
    assert guide.short_state(waiting_on_seller, "buyer") == "Waiting for the seller"
    assert guide.short_state(returning, "seller") == "Waiting for the buyer to ship the return"
    assert guide.short_state(cancelled, "seller") == "Cancelled by the buyer"
    assert "Waiting for your answer" in seller_list and "Cancelled by the buyer" in seller_list
    assert "You cancelled it" not in seller_list
    # The order page's sentence and the words beside the dispute's button agree.
    assert "waiting for your answer" in seller_order and "Waiting for your answer</span>" in seller_order
    assert "Waiting for the seller" not in seller_order
    assert "(waiting for the seller)" in buyer_order and "Waiting for the seller</span>" in buyer_order
    assert "waiting for your answer" not in buyer_order.lower()


def test_a_resolved_dispute_mentions_the_appeal_while_it_is_open(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review")
        dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="no_refund", note="Fine as sent.")
        buyer_list = text_of(page(client, world.alice, "/orders/"))
        disputes_list = text_of(page(client, world.alice, "/disputes/"))
        seller_list = text_of(page(client, world.carol, "/seller/orders/"))
        order_page = text_of(page(client, world.alice, "/orders/D-1/"))
    # Ruled 9 Mar 2026 12:00 UTC: seven days to appeal. Alice reads Los Angeles time, carol UTC.
    assert "Resolved — you may appeal until 16 Mar 2026, 05:00 PDT" in buyer_list
    assert "Resolved — you may appeal until 16 Mar 2026, 05:00 PDT" in disputes_list
    assert "Resolved — you may appeal until 16 Mar 2026, 12:00 UTC" in seller_list
    assert "You may appeal the ruling until 16 Mar 2026, 05:00 PDT." in order_page
    with time_machine.travel(OPEN_AT + timedelta(days=8), tick=False):
        later = text_of(page(client, world.alice, "/orders/"))
    assert "you may appeal" not in later and "Resolved" in later


def test_the_main_action_is_a_primary_button_and_withdrawing_stays_lighter(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        returning = dispute_in(world, "awaiting_return")
        waiting_on_seller = dispute_in(world, "awaiting_seller", number="D-2")
        buyer = page(client, world.alice, f"/disputes/{returning.pk}/")
        seller = page(client, world.carol, f"/disputes/{waiting_on_seller.pk}/")
    primary = buyer[buyer.index("action-group-primary") : buyer.index("action-group-destructive")]
    assert '<summary class="button primary">Submit the return' in primary
    assert '<summary class="button primary">Make a counter-offer</summary>' in seller
    assert 'class="action-group action-group-destructive"' in buyer


def test_money_has_its_currencys_decimals_and_the_amount_field_says_its_currency_and_limit(client, world):
    from disputes import guide

    position = {"paid": Decimal("59"), "refunded": Decimal("5"), "left": Decimal("54"), "currency": "USD"}
    line = guide.money_text(position, "buyer")
    assert line == "You paid $59.00 · refunded so far $5.00 · left to refund $54.00"
    # Each currency's own decimals, as the reader's language writes them (core.money.format_money).
    assert guide.amount_text(5, "EUR") == "€5.00" and guide.amount_text(Decimal("7.5"), "USD") == "$7.50"
    assert guide.amount_text(Decimal("1234.000"), "JPY") == "¥1,234"
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        seller = text_of(page(client, world.carol, f"/disputes/{dispute.pk}/"))
        cancel = text_of(page(client, world.alice, f"/disputes/{dispute.pk}/cancel/confirm/"))
    assert "Refund amount (USD)" in seller and "At most $80.00, what is left to refund on this order." in seller
    assert "The buyer sends the item back first" in seller and "The item is sent back first" not in seller
    assert "The buyer and the dispute team will read this." in seller
    assert "The seller and the dispute team will read this." in cancel
