"""Escalating, in a real browser: the button leads to a screen that says what the dispute team looks
at, the day it rules by (in the reader's zone) and that the two sides can still agree meanwhile; a
post without that screen's confirmation escalates nothing. And the dispute form that comes before:
two labelled questions, and a suggestion to message the seller first that never stands in the way."""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import expect

from disputes.models import Dispute
from disputes.services import dispute_act_by, dispute_open
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)

LOS_ANGELES = ZoneInfo("America/Los_Angeles")  # alice's zone


@pytest.fixture
def order(world):
    shipped = timezone.now() - timedelta(days=10)
    return make_order(buyer=world.alice, store=world.carols, number="EC-1", shipped_at=shipped, total=Decimal("80.00"))


@pytest.fixture
def countered(world, order) -> Dispute:
    dispute = dispute_open(
        buyer=world.alice, order=order, reason="not_received", item_received=False, refund_type="full",
        description="Never came.",
    )  # fmt: skip
    return dispute_act_by(user=world.carol, dispute=dispute, action="propose", refund_amount=Decimal("30.00"))


def ruling_days(before, after) -> set[str]:
    """The day the team rules by, as alice reads it, for an escalation between these two moments."""
    return {date_format((moment + timedelta(days=7)).astimezone(LOS_ANGELES), "j M Y") for moment in (before, after)}


@pytest.mark.parametrize("script", [True, False], ids=["with-js", "without-js"])
def test_escalating_asks_on_a_screen_that_names_the_ruling_day(browser, live_server, sign_in, world, countered, script):
    context = browser.new_context(java_script_enabled=script, locale="en-GB")
    alice = context.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/disputes/{countered.pk}/")

    before = timezone.now()
    alice.get_by_role("button", name="Escalate to the dispute team").click()
    after = timezone.now()
    expect(alice.get_by_role("heading", name="Escalate to the dispute team?")).to_be_visible()
    assert Dispute.objects.get(pk=countered.pk).state == "awaiting_buyer"  # asking is not doing

    consequences = alice.locator("ul.consequences")
    deadline = consequences.get_by_text("a team member rules within 7 days, by")
    expect(deadline).to_be_visible()
    said = deadline.inner_text()
    assert any(f"by {day}," in said for day in ruling_days(before, after)), said
    assert said.rstrip(".").endswith(("PST", "PDT")), said  # alice's zone, not UTC

    looked_at = alice.get_by_role("list", name="What the dispute team will look at")
    for line in (
        "Both sides' messages about the order.",
        "The photos and evidence either side has added.",
        "The requests and offers made so far.",
        "The order and its tracking.",
    ):
        expect(looked_at.get_by_text(line)).to_be_visible()
    meanwhile = alice.get_by_role("list", name="Until the team rules")
    expect(meanwhile).to_contain_text("You and the seller can still agree between yourselves")
    expect(meanwhile).to_contain_text("you can cancel the dispute yourself at any time before the team rules")

    # "No, go back" leaves the dispute as it was.
    alice.get_by_role("link", name="No, go back").click()
    expect(alice.get_by_role("heading", name="The seller is waiting for your answer")).to_be_visible()
    assert Dispute.objects.get(pk=countered.pk).state == "awaiting_buyer"

    alice.get_by_role("button", name="Escalate to the dispute team").click()
    alice.get_by_label("Note (optional)").fill("The tracking never moved.")
    alice.get_by_role("button", name="Yes, send it to the dispute team").click()
    expect(alice.get_by_role("heading", name="With the dispute team")).to_be_visible()
    dispute = Dispute.objects.get(pk=countered.pk)
    assert dispute.state in ("escalated", "under_review") and dispute.escalated_at is not None
    context.close()


def test_a_post_without_the_screens_confirmation_only_shows_the_screen(browser, live_server, sign_in, world, countered):
    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/disputes/{countered.pk}/escalate/confirm/")
    alice.get_by_label("Note (optional)").fill("Please look at it.")
    # The same form, sent without its confirmation: as a page posting the action straight away would.
    alice.locator("input[name=confirmed]").evaluate("input => input.remove()")
    alice.get_by_role("button", name="Yes, send it to the dispute team").click()

    expect(alice.get_by_role("heading", name="Escalate to the dispute team?")).to_be_visible()
    expect(alice.get_by_label("Note (optional)")).to_have_value("Please look at it.")
    expect(alice.locator("ul.consequences")).to_contain_text("rules within 7 days, by")
    assert Dispute.objects.get(pk=countered.pk).state == "awaiting_buyer"

    alice.get_by_role("button", name="Yes, send it to the dispute team").click()  # this time, confirmed
    expect(alice.get_by_role("heading", name="With the dispute team")).to_be_visible()
    assert Dispute.objects.get(pk=countered.pk).state in ("escalated", "under_review")


def test_the_form_asks_two_questions_and_the_message_suggestion_never_blocks(
    browser, live_server, sign_in, world, order
):
    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/orders/EC-1/dispute/new/")

    suggestion = alice.get_by_role("region", name="Have you written to the seller?")
    expect(suggestion).to_be_visible()
    link = suggestion.get_by_role("link", name="Message the seller first")
    expect(link).to_have_attribute("href", "/orders/EC-1/#thread")
    link.click()
    expect(alice.get_by_role("heading", name="Messages")).to_be_visible()
    expect(alice.get_by_role("textbox", name="Message")).to_be_visible()  # the message box it points to
    alice.go_back()

    alice.get_by_role("group", name="Did you receive the item?").get_by_label("No").check()
    alice.get_by_label("What went wrong?").select_option("not_received")
    alice.get_by_role("group", name="What do you ask for?").get_by_label("Full refund").check()
    alice.get_by_label("What happened?").fill("The parcel never came.")
    why = alice.get_by_label("Why couldn't you resolve it with the seller?")
    expect(why).to_have_accessible_description(
        "What you asked the seller and what they answered, or that they did not answer (up to 2,000 characters). "
        "The seller and the dispute team will read this."
    )
    why.fill("I asked twice and heard nothing.")
    alice.get_by_role("button", name="Open the dispute").click()  # nothing written to the seller: still opens

    expect(alice.get_by_role("status")).to_contain_text("Your dispute is open.")
    dispute = Dispute.objects.get()
    assert (dispute.description, dispute.why_unresolved) == (
        "The parcel never came.",
        "I asked twice and heard nothing.",
    )
