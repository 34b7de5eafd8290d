"""Disputes in a real browser: a negotiated partial refund, and a return journey to the end."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disputes.models import Dispute, Refund
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def order(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    shipped = timezone.now() - timedelta(days=10)
    return make_order(buyer=world.alice, store=world.carols, number="X-1", shipped_at=shipped, total=Decimal("80.00"))


def open_dispute(page, live_server, photo_path, *, return_item: bool):
    page.goto(f"{live_server.url}/orders/X-1/")
    page.get_by_role("link", name="Open a dispute").click()
    page.get_by_role("group", name="Did you receive the item?").get_by_label("Yes").check()
    page.get_by_label("What went wrong?").select_option("damaged")
    page.get_by_role("group", name="What do you ask for?").get_by_label("Full refund").check()
    page.get_by_role("group", name="Will you send the item back?").get_by_label("Yes" if return_item else "No").check()
    page.get_by_label("What happened?").fill("The screen is cracked from corner to corner.")
    page.get_by_label("Why couldn't you resolve it with the seller?").fill("The seller did not answer.")
    page.get_by_role("button", name="Open the dispute").click()
    # The form refuses a condition reason without a photo, and says so.
    expect(page.get_by_text("Add at least one photo that shows the problem.")).to_be_visible()
    page.get_by_label("Photos").set_input_files(str(photo_path))
    page.get_by_role("button", name="Open the dispute").click()
    expect(page.get_by_role("status")).to_contain_text("Your dispute is open.")


@pytest.mark.refusals_expected  # refused on purpose first: a 4xx is part of the journey
def test_alice_opens_with_a_photo_carol_counters_alice_accepts_and_both_see_the_refund(
    browser, live_server, sign_in, world, order, tmp_path
):
    photo = tmp_path / "crack.jpg"
    photo.write_bytes(jpeg_bytes(size=(300, 200)))
    alice = browser.new_page()
    sign_in(alice, "alice")
    open_dispute(alice, live_server, photo, return_item=False)
    expect(alice.get_by_role("heading", name="Waiting for the seller")).to_be_visible()
    expect(alice.get_by_text("your request is granted: you are refunded $80.00")).to_be_visible()
    dispute = Dispute.objects.get()

    carol = browser.new_page()
    sign_in(carol, "carol")
    carol.get_by_role("navigation", name="Main").get_by_role("link", name="Disputes").click()
    expect(carol.locator(f"[data-dispute='{dispute.pk}']")).to_contain_text("Your turn")
    carol.get_by_role("link", name=f"Dispute #{dispute.pk} · order X-1").click()
    expect(carol.get_by_text("It is your turn.")).to_be_visible()
    expect(carol.get_by_role("img", name="Buyer's evidence photo 1, open full size")).to_be_visible()
    carol.locator("summary", has_text="Make a counter-offer").click()
    carol.get_by_label("Refund amount").fill("30.00")
    carol.locator("details", has_text="Make a counter-offer").get_by_label("Note").fill(
        "A screen protector was included; 30 USD covers a repair."
    )
    carol.get_by_role("button", name="Make a counter-offer").click()
    expect(carol.get_by_role("heading", name="Waiting for the buyer")).to_be_visible()

    alice.reload()
    expect(alice.get_by_text("It is your turn.")).to_be_visible()
    expect(alice.get_by_text("the seller's offer is taken for you: you are refunded $30.00")).to_be_visible()
    alice.get_by_role("button", name="Accept this offer").click()
    alice.get_by_role("button", name="Yes, accept the offer").click()
    expect(alice.get_by_role("heading", name="Resolved")).to_be_visible()
    expect(alice.get_by_text("$30.00 refunded to you.").first).to_be_visible()

    carol.reload()
    expect(carol.get_by_text("$30.00 refunded to the buyer.").first).to_be_visible()
    expect(carol.locator(".outcome")).to_contain_text("Partial refund")
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("30.00")]


@pytest.mark.refusals_expected  # refused on purpose first: a 4xx is part of the journey
def test_a_return_journey_to_the_end(browser, live_server, sign_in, world, order, tmp_path):
    photo = tmp_path / "crack.jpg"
    photo.write_bytes(jpeg_bytes())
    alice = browser.new_page()
    sign_in(alice, "alice")
    open_dispute(alice, live_server, photo, return_item=True)
    dispute = Dispute.objects.get()

    carol = browser.new_page()
    sign_in(carol, "carol")
    carol.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    carol.get_by_role("button", name="Accept the buyer's request").click()
    carol.get_by_role("button", name="Yes, accept the request").click()
    expect(carol.get_by_role("heading", name="Waiting for the buyer to ship the return")).to_be_visible()

    alice.reload()
    expect(alice.get_by_text("Return address")).to_be_visible()
    alice.locator("summary", has_text="Submit the return's tracking").click()
    alice.get_by_label("Carrier").select_option("ups")
    alice.get_by_label("Tracking number").fill("1ZRETURN42")
    alice.get_by_role("button", name="Submit the return's tracking").click()
    expect(alice.get_by_role("heading", name="Return on its way to the seller")).to_be_visible()
    expect(alice.get_by_text("Return shipped with UPS, tracking 1ZRETURN42.")).to_be_visible()

    carol.reload()
    carol.get_by_role("button", name="Confirm the returned item").click()  # the confirmation screen
    carol.get_by_label("Condition of the returned item").select_option("ok")
    carol.get_by_role("button", name="Yes, confirm the returned item").click()
    expect(carol.get_by_role("heading", name="Resolved")).to_be_visible()
    expect(carol.get_by_text("$80.00 refunded to the buyer.").first).to_be_visible()

    alice.goto(f"{live_server.url}/orders/X-1/")
    expect(alice.locator(".status").first).to_contain_text("Refunded")
