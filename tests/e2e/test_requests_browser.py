"""Return and exchange requests in a real browser: a change of mind returned and refunded, an
exchange shipped and confirmed (on a phone, 390 px wide), and a dispute over one item of two."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disputes.models import Dispute, Refund, ReturnRequest
from sellers.services import return_policy_update
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def outlet(world, settings, tmp_path):
    """Dave's Outlet takes returns for a change of mind (the buyer pays the postage back)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return_policy_update(
        actor=world.dave,
        store=world.daves,
        accepts_returns=True,
        return_days=15,
        covered_reasons=["changed_mind", "damaged", "defective", "other"],
        change_of_mind_shipping_payer="buyer",
        condition_rules="Unused, in the original box.",
        address_name="Dave's Outlet returns",
        address_line1="1 Harbour Road",
        address_city="Shenzhen",
        address_postal_code="518000",
        address_country="CN",
    )
    return world.daves


def shipped_order(world, store, number: str, **kwargs):
    # Shipped 10 days ago: the dispute window and the policy's return period are both open.
    return make_order(
        buyer=world.alice, store=store, number=number, shipped_at=timezone.now() - timedelta(days=10), **kwargs
    )


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_buyer_who_changed_their_mind_returns_the_item_and_is_refunded(browser, live_server, sign_in, world, outlet):
    shipped_order(world, outlet, "A-1", total=Decimal("40.00"), items=[("Headphones", 1, "40.00")])
    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/orders/A-1/")
    expect(alice.get_by_text("You can ask the seller for a return or an exchange until")).to_be_visible()
    alice.get_by_role("link", name="Ask for a return or exchange").click()

    # The form says the policy in words, then asks.
    expect(alice.get_by_text("You pay the return postage for this reason.")).to_be_visible()
    alice.get_by_role("group", name="What do you ask for?").get_by_label("Return the item for a refund").check()
    alice.get_by_label("Why?").select_option("changed_mind")
    expect(alice.get_by_label("Headphones", exact=True)).to_be_checked()
    alice.get_by_label("Note to the seller (optional)").fill("They do not fit me.")
    alice.get_by_role("button", name="Send the request").click()
    expect(alice.get_by_role("status")).to_contain_text("Your request was sent to Dave's Outlet.")
    expect(alice.get_by_role("heading", name="Waiting for the seller's answer")).to_be_visible()
    expect(alice.get_by_text("the request is approved, as the store's policy covers it in full")).to_be_visible()
    req = ReturnRequest.objects.get()

    # The seller finds it waiting in the store's list, with its clock, and approves it.
    dave = browser.new_page()
    sign_in(dave, "dave")
    dave.goto(f"{live_server.url}/seller/orders/")
    waiting = dave.locator(f"[data-request='{req.pk}']")
    expect(waiting).to_contain_text("Waiting for your answer")
    expect(waiting).to_contain_text("left")
    waiting.get_by_role("link", name=f"Answer Return request #{req.pk}").click()
    expect(dave.locator("#actions")).to_contain_text(
        "Your policy covers this request in full, so you cannot decline it"
    )
    dave.locator("summary", has_text="Approve the request").click()
    dave.get_by_role("button", name="Approve the request").click()
    expect(dave.get_by_role("status")).to_contain_text("You approved the request.")

    # The buyer sends it back to the address shown, with its tracking.
    alice.reload()
    expect(alice.get_by_role("heading", name="Approved: send the item back")).to_be_visible()
    expect(alice.get_by_text("1 Harbour Road")).to_be_visible()
    alice.locator("summary", has_text="Submit the return's tracking").click()
    alice.get_by_label("Carrier").select_option("dhl")
    alice.get_by_label("Tracking number").fill("RET123456")
    alice.get_by_role("button", name="Submit the return's tracking").click()
    expect(alice.get_by_role("status")).to_contain_text("the seller has been told your return is on its way")

    # The seller says it arrived as expected: the buyer is refunded.
    dave.reload()
    expect(
        dave.get_by_role("heading", name="The return is on its way to you: confirm it when it arrives")
    ).to_be_visible()
    # It cannot be undone (it refunds at once), so it asks first, saying what each answer does.
    dave.get_by_role("button", name="Confirm the returned item").click()
    expect(dave.get_by_text("If it arrived as expected, the buyer is refunded $40.00 at once.")).to_be_visible()
    dave.get_by_label("How did the item arrive?").select_option("ok")
    dave.get_by_role("button", name="Yes, confirm how it arrived").click()
    expect(dave.get_by_role("status")).to_contain_text("you said how the returned item arrived")

    alice.reload()
    expect(alice.get_by_text("$40.00 refunded to you.").first).to_be_visible()
    expect(alice.get_by_role("heading", name="Refunded: $40.00 refunded to you")).to_be_visible()
    assert Refund.objects.get().amount == Decimal("40.00")


def test_an_exchange_is_asked_approved_shipped_and_confirmed_on_a_phone(browser, live_server, sign_in, world, outlet):
    shipped_order(world, outlet, "B-1", total=Decimal("25.00"), items=[("T-shirt", 1, "25.00")])
    alice_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    dave_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    alice, dave = alice_context.new_page(), dave_context.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/orders/B-1/")
    assert overflow(alice) == 0
    alice.get_by_role("link", name="Ask for a return or exchange").click()
    assert overflow(alice) == 0
    alice.get_by_role("group", name="What do you ask for?").get_by_label("Exchange the item").check()
    alice.get_by_label("Why?").select_option("changed_mind")
    alice.get_by_label("For an exchange: what you want instead").fill("Size L")
    alice.get_by_role("button", name="Send the request").click()
    expect(alice.get_by_role("status")).to_contain_text("Your request was sent to Dave's Outlet.")
    expect(
        alice.get_by_text("the request becomes a dispute, as the store's policy covers it only in part")
    ).to_be_visible()
    assert overflow(alice) == 0
    req = ReturnRequest.objects.get()

    sign_in(dave, "dave")
    dave.goto(f"{live_server.url}/seller/orders/")
    assert overflow(dave) == 0
    dave.locator(f"[data-request='{req.pk}']").get_by_role(
        "link", name=f"Exchange request #{req.pk}", exact=True
    ).click()
    expect(dave.get_by_text("Size L")).to_be_visible()
    assert overflow(dave) == 0
    dave.locator("summary", has_text="Approve the request").click()
    dave.get_by_role("button", name="Approve the request").click()
    expect(dave.get_by_role("heading", name="Approved: ship the replacement")).to_be_visible()
    dave.locator("summary", has_text="Submit the replacement's tracking").click()
    dave.get_by_label("Carrier").select_option("dhl")
    dave.get_by_label("Tracking number").fill("REP-7")
    dave.get_by_role("button", name="Submit the replacement's tracking").click()
    expect(dave.get_by_role("status")).to_contain_text("The buyer has been told the replacement is on its way.")
    assert overflow(dave) == 0

    alice.reload()
    expect(
        alice.get_by_role("heading", name="Your replacement is on its way: confirm it when it arrives")
    ).to_be_visible()
    expect(alice.get_by_text("Replacement shipped with DHL, tracking REP-7.")).to_be_visible()
    alice.locator("summary", has_text="Confirm the replacement arrived").click()
    alice.get_by_role("button", name="Confirm the replacement arrived").click()
    expect(alice.get_by_role("status")).to_contain_text("the exchange is complete")
    expect(alice.get_by_role("heading", name="Exchanged")).to_be_visible()
    expect(alice.get_by_text("You confirmed the replacement arrived.")).to_be_visible()
    assert overflow(alice) == 0
    alice_context.close()
    dave_context.close()


def test_a_buyer_disputes_one_item_of_two_for_what_that_item_is_worth(browser, live_server, sign_in, world, outlet):
    # $8.00 of shipping on top of the lines: each item's worth carries its share.
    shipped_order(
        world, outlet, "C-1", total=Decimal("88.00"), items=[("Blue mug", 2, "15.00"), ("Desk lamp", 1, "50.00")]
    )
    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/orders/C-1/")
    alice.get_by_role("link", name="Open a dispute").click()
    items = alice.get_by_role("group", name="Which items is the dispute about?")
    expect(items).to_contain_text("1 ordered, worth $55.00")
    expect(items).to_contain_text("2 ordered, worth $33.00 in all")
    alice.get_by_label("Blue mug", exact=True).uncheck()
    alice.get_by_role("group", name="Did you receive the item?").get_by_label("Yes").check()
    alice.get_by_label("What went wrong?").select_option("other")
    alice.get_by_role("group", name="What do you ask for?").get_by_label("Full refund").check()
    alice.get_by_role("group", name="Will you send the item back?").get_by_label("No").check()
    alice.get_by_label("What happened?").fill("The lamp flickers and goes out after a minute.")
    alice.get_by_label("Why couldn't you resolve it with the seller?").fill("The seller did not answer.")
    alice.get_by_role("button", name="Open the dispute").click()
    expect(alice.get_by_role("status")).to_contain_text("Your dispute is open.")
    dispute = Dispute.objects.get()
    expect(alice.get_by_text("Full refund: $55.00")).to_be_visible()
    assert dispute.refund_amount == Decimal("55.00")
    assert [(c.order_item.title, c.quantity) for c in dispute.claim_items.all()] == [("Desk lamp", 1)]

    # The order lists the dispute with its item; the mugs may still be disputed or returned.
    alice.goto(f"{live_server.url}/orders/C-1/")
    claim = alice.locator(f"[data-claim='dispute-{dispute.pk}']")
    expect(claim).to_contain_text("Desk lamp × 1")
    expect(claim).to_contain_text("Waiting for the seller")
    expect(alice.get_by_text("A dispute over the other items can be opened until")).to_be_visible()
    expect(alice.get_by_role("link", name="Ask for a return or exchange")).to_be_visible()
