"""The dispute page as a guide, in a real browser: each party read in their own voice, irreversible
actions confirmed on a screen that says what will happen (with and without JavaScript), and no team
member's name or internal step on a party's page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disputes.models import Dispute, Refund
from disputes.services import dispute_act_by, dispute_open
from tests.factories import make_order, team_member

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def order(world):
    shipped = timezone.now() - timedelta(days=10)
    return make_order(buyer=world.alice, store=world.carols, number="GD-1", shipped_at=shipped, total=Decimal("80.00"))


def open_for(world, order, **kwargs) -> Dispute:
    fields = {"reason": "not_received", "item_received": False, "refund_type": "full", "description": "Never came."}
    return dispute_open(buyer=world.alice, order=order, **{**fields, **kwargs})


def watch_console(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_each_party_reads_the_dispute_in_their_own_voice(browser, live_server, sign_in, world, order):
    dispute = open_for(world, order)

    alice = browser.new_page()
    errors = watch_console(alice)
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    expect(alice.get_by_role("heading", name="Waiting for the seller")).to_be_visible()
    expect(alice.locator(".notice")).to_contain_text("If the seller does not answer by")
    expect(alice.locator(".notice")).to_contain_text("your request is granted: you are refunded $80.00")
    expect(alice.get_by_role("heading", name="Your request")).to_be_visible()
    expect(alice.get_by_text("You opened the dispute, asking for $80.00.")).to_be_visible()
    expect(alice.get_by_text("the buyer's request is granted")).to_have_count(0)
    # The stepper: an ordered list with the current step marked for assistive technology.
    stepper = alice.get_by_role("list", name="Where this dispute is")
    expect(stepper.locator("[aria-current='step']")).to_contain_text("The seller answers")
    assert errors == []

    carol = browser.new_page()
    sign_in(carol, "carol")
    carol.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    expect(carol.get_by_role("heading", name="The buyer is waiting for your answer")).to_be_visible()
    expect(carol.get_by_text("It is your turn.")).to_be_visible()
    expect(carol.locator(".notice")).to_contain_text("If you do not answer by")
    expect(carol.locator(".notice")).to_contain_text("the buyer's request is granted: the buyer is refunded $80.00")
    expect(carol.get_by_role("heading", name="The buyer's request")).to_be_visible()
    expect(carol.locator("[aria-current='step']")).to_contain_text("You answer")

    # The seller counters: the buyer now sees the offer in its own box, in her own words.
    carol.locator("summary", has_text="Make a counter-offer").click()
    carol.get_by_label("Refund amount").fill("30.00")
    carol.get_by_role("button", name="Make a counter-offer").click()
    expect(carol.get_by_role("heading", name="Your offer")).to_be_visible()
    expect(carol.locator(".notice")).to_contain_text("If the buyer does not answer by")
    expect(carol.locator(".notice")).to_contain_text("your offer is accepted")

    alice.reload()
    expect(alice.get_by_role("heading", name="The seller is waiting for your answer")).to_be_visible()
    expect(alice.locator(".notice")).to_contain_text("If you do not answer by")
    expect(alice.locator(".notice")).to_contain_text("the seller's offer is taken for you: you are refunded $30.00")
    offer = alice.locator(".offer-card")
    expect(offer.get_by_role("heading", name="The seller's offer")).to_be_visible()
    expect(offer).to_contain_text("$30.00")
    expect(offer.get_by_role("button", name="Accept this offer")).to_be_visible()
    assert errors == []


def test_accepting_the_offer_asks_on_a_screen_that_says_what_happens(browser, live_server, sign_in, world, order):
    dispute = dispute_act_by(user=world.carol, dispute=open_for(world, order), action="propose",
                             refund_amount=Decimal("30.00"), note="30 back?")  # fmt: skip
    alice = browser.new_page()
    errors = watch_console(alice)
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    alice.get_by_role("button", name="Accept this offer").click()

    expect(alice.get_by_role("heading", name="Accept the seller's offer?")).to_be_visible()
    expect(alice.get_by_text("You are refunded $30.00 now, and the dispute closes.")).to_be_visible()
    expect(alice.get_by_text("This cannot be undone.")).to_be_visible()
    assert Dispute.objects.get(pk=dispute.pk).state == "awaiting_buyer"  # nothing happened yet

    alice.get_by_role("link", name="No, go back").click()  # changing her mind costs nothing
    expect(alice.get_by_role("heading", name="The seller's offer")).to_be_visible()
    alice.get_by_role("button", name="Accept this offer").click()
    alice.get_by_role("button", name="Yes, accept the offer").click()

    expect(alice.get_by_role("heading", name="Resolved")).to_be_visible()
    expect(alice.get_by_text("$30.00 refunded to you.").first).to_be_visible()
    expect(alice.locator(".offer-card")).to_have_count(0)  # an accepted offer is history
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("30.00")]
    assert errors == []


def test_cancelling_without_javascript_states_the_one_reopen(browser, live_server, sign_in, world, order):
    dispute = open_for(world, order)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    alice = context.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    destructive = alice.get_by_role("group", name="Withdraw")
    expect(destructive).to_contain_text("A cancelled dispute can be reopened only once.")
    destructive.get_by_role("button", name="Cancel the dispute").click()

    expect(alice.get_by_role("heading", name="Cancel the dispute?")).to_be_visible()
    expect(alice.get_by_text("nothing is refunded by it")).to_be_visible()
    expect(alice.get_by_text("You can open a new dispute on this order once more, until")).to_be_visible()
    assert alice.evaluate("document.documentElement.scrollWidth") <= 390
    alice.get_by_label("Note (optional)").fill("Sorted it out with the seller.")
    alice.get_by_role("button", name="Yes, cancel the dispute").click()

    expect(alice.get_by_role("heading", name="You cancelled this dispute")).to_be_visible()
    expect(alice.get_by_text("You cancelled the dispute.")).to_be_visible()
    expect(alice.get_by_text("Sorted it out with the seller.")).to_be_visible()
    assert Dispute.objects.get(pk=dispute.pk).state == "cancelled"
    context.close()


def test_escalating_and_appealing_say_what_follows(browser, live_server, sign_in, world, order):
    team_member("frank")
    dispute = dispute_act_by(user=world.carol, dispute=open_for(world, order), action="reject", note="It arrived.")
    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    alice.get_by_role("button", name="Escalate to the dispute team").click()
    expect(alice.get_by_role("heading", name="Escalate to the dispute team?")).to_be_visible()
    expect(alice.get_by_text("You and the seller can still agree between yourselves")).to_be_visible()
    expect(alice.get_by_text("Either side may appeal the ruling once, within 7 days.")).to_be_visible()
    alice.get_by_role("button", name="Yes, send it to the dispute team").click()
    expect(alice.get_by_role("heading", name="With the dispute team")).to_be_visible()

    dispute = Dispute.objects.get(pk=dispute.pk)
    ruler = dispute.assignee or world.erin
    if dispute.state == "escalated":
        dispute = dispute_act_by(user=ruler, dispute=dispute, action="claim")
    dispute_act_by(user=ruler, dispute=dispute, action="ruling", outcome="no_refund", note="The tracking shows it.")

    carol = browser.new_page()
    sign_in(carol, "carol")
    carol.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    expect(carol.get_by_text("A different member of the dispute team reviews the ruling.")).to_be_visible()
    alice.reload()
    expect(alice.get_by_text("Once only, until")).to_be_visible()
    alice.get_by_role("button", name="Appeal the ruling").click()
    expect(alice.get_by_role("heading", name="Appeal the ruling?")).to_be_visible()
    expect(alice.get_by_text("a different team member reviews it")).to_be_visible()
    # The resolved dispute is already closed: the screen says what the appeal does, not what it stops.
    expect(alice.get_by_text("The dispute reopens with the dispute team")).to_be_visible()
    expect(alice.get_by_text("can no longer be cancelled")).to_have_count(0)
    expect(alice.get_by_text("The seller and the dispute team will read this.")).to_be_visible()
    expect(alice.get_by_text("You can appeal only once, and only until")).to_contain_text("(7 days after the ruling)")
    alice.get_by_role("button", name="Yes, appeal the ruling").click()
    expect(alice.get_by_text("You appealed the ruling.")).to_be_visible()
    assert Dispute.objects.get(pk=dispute.pk).buyer_appealed


def test_confirming_the_returned_item_asks_first_and_says_what_each_condition_does(
    browser, live_server, sign_in, world, order
):
    dispute = open_for(world, order, reason="other", item_received=True, return_item=True)
    dispute = dispute_act_by(user=world.carol, dispute=dispute, action="accept")
    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    # The main move is a primary button, not a folded link beside a red "Cancel the dispute".
    alice.locator("summary", has_text="Submit the return's tracking").click()
    alice.get_by_label("Carrier").select_option("ups")
    alice.get_by_label("Tracking number").fill("1ZRETURN42")
    alice.get_by_role("button", name="Submit the return's tracking").click()
    expect(alice.get_by_role("heading", name="Return on its way to the seller")).to_be_visible()

    carol = browser.new_page()
    errors = watch_console(carol)
    sign_in(carol, "carol")
    carol.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    carol.get_by_role("button", name="Confirm the returned item").click()
    expect(carol.get_by_role("heading", name="Confirm the returned item?")).to_be_visible()
    expect(carol.get_by_text("the buyer is refunded $80.00 now")).to_be_visible()
    expect(carol.get_by_text("the dispute goes to the dispute team")).to_be_visible()
    condition = carol.get_by_label("Condition of the returned item")
    expect(condition).to_have_value("")  # nothing chosen for her
    assert Dispute.objects.get(pk=dispute.pk).state == "return_in_transit"  # nothing happened yet
    condition.select_option("ok")
    carol.get_by_role("button", name="Yes, confirm the returned item").click()
    expect(carol.get_by_role("heading", name="Resolved")).to_be_visible()
    expect(carol.get_by_text("$80.00 refunded to the buyer.").first).to_be_visible()
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("80.00")]
    assert errors == []


def test_no_staff_name_or_internal_step_on_a_partys_page(browser, live_server, sign_in, world, order):
    frank = team_member("frank")
    dispute = dispute_act_by(user=world.carol, dispute=open_for(world, order), action="reject", note="It arrived.")
    dispute_act_by(user=world.alice, dispute=dispute, action="escalate", note="Please look.")
    dispute = Dispute.objects.get(pk=dispute.pk)
    if dispute.state == "escalated":
        dispute = dispute_act_by(user=world.erin, dispute=dispute, action="claim")
    holder = dispute.assignee
    dispute = dispute_act_by(user=holder, dispute=dispute, action="release")
    dispute = Dispute.objects.get(pk=dispute.pk)
    other = frank if holder == world.erin else world.erin
    if dispute.state == "escalated":
        dispute = dispute_act_by(user=other, dispute=dispute, action="claim")
    ruler = Dispute.objects.get(pk=dispute.pk).assignee
    dispute_act_by(user=ruler if ruler != holder else other, dispute=Dispute.objects.get(pk=dispute.pk),
                   action="ruling", outcome="partial_refund", refund_amount=Decimal("20.00"),
                   note="Some of it.")  # fmt: skip

    for who in ("alice", "carol"):
        page = browser.new_page()
        sign_in(page, who)
        page.goto(f"{live_server.url}/disputes/{dispute.pk}/")
        expect(page.get_by_text("The dispute team ruled: Partial refund, $20.00 in all.")).to_be_visible()
        body = page.locator("main").inner_text()
        for name in ("erin", "frank", "Erin", "Frank"):
            assert name not in body, (who, name)
        timeline = page.get_by_role("region", name="What happened").inner_text()
        for internal in ("routed", "released", "took the dispute", "assigned", "handed over", "→", "system"):
            assert internal not in timeline.lower(), (who, internal)
        assert timeline.count("sent the dispute to the dispute team") == 1
        page.close()

    erin = browser.new_page()
    sign_in(erin, "erin")
    erin.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    expect(erin.get_by_text("The dispute was released to the queue.")).to_be_visible()


def test_the_dispute_page_fits_a_phone(browser, live_server, sign_in, world, order):
    dispute = dispute_act_by(user=world.carol, dispute=open_for(world, order), action="propose",
                             refund_amount=Decimal("30.00"), note="A long note " * 20)  # fmt: skip
    page = browser.new_page(viewport={"width": 390, "height": 844})
    errors = watch_console(page)
    sign_in(page, "alice")
    for path in (f"/disputes/{dispute.pk}/", f"/disputes/{dispute.pk}/escalate/confirm/", "/disputes/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    assert errors == []
