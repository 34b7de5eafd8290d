"""Notices in a real browser: the email a buyer gets when the seller counters (amount, deadline in
her zone, an absolute link that opens the dispute from a mail client), and the notifications page
saying the same in words."""

import zoneinfo
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from disputes.services import dispute_act_by, dispute_open
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)


def in_los_angeles(moment) -> str:
    local = moment.astimezone(zoneinfo.ZoneInfo("America/Los_Angeles"))
    return f"{local:%a} {local.day} {local:%b %Y} at {local:%H:%M} (Los Angeles time)"


@pytest.fixture
def countered(world, settings, live_server):
    """Alice asked for $80.00; Carol offers $30.00. Links in emails point at the live server."""
    settings.SITE_URL = live_server.url
    order = make_order(buyer=world.alice, store=world.carols, number="N-1", total=Decimal("80.00"),
                       shipped_at=timezone.now() - timedelta(days=10))  # fmt: skip
    dispute = dispute_open(buyer=world.alice, order=order, reason="not_received", item_received=False,
                           refund_type="full", refund_amount=None, return_item=False,
                           description="Tracking stopped a week ago.")  # fmt: skip
    mail.outbox.clear()
    return dispute_act_by(user=world.carol, dispute=dispute, action="propose", refund_amount=Decimal("30.00"),
                          note="Half, and I will chase the carrier.")  # fmt: skip


def test_the_buyer_gets_an_email_with_the_offer_a_deadline_and_a_link_that_opens_the_dispute(
    page, live_server, sign_in, world, countered
):
    (email,) = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    link = f"{live_server.url}/disputes/{countered.pk}/"
    deadline = in_los_angeles(countered.respond_by)
    assert email.subject == "Order N-1: the seller offers $30.00"
    assert "$30.00" in email.body and "$80.00" in email.body
    assert deadline in email.body and link in email.body
    (html, _type), *_ = email.alternatives

    # Opened in a mail client: the email's own HTML, its button leading to the live site.
    sign_in(page, "alice")
    mail_client = page.context.new_page()  # a blank page of its own: the email, not one of the site's pages
    mail_client.set_content(html)
    expect(mail_client.get_by_role("heading", name="Order N-1: the seller offers $30.00")).to_be_visible()
    expect(mail_client.get_by_text(f"by {deadline}")).to_be_visible()
    button = mail_client.get_by_role("link", name="Open it in Dispute desk")
    expect(button).to_have_attribute("href", link)
    button.click()
    mail_client.wait_for_url(link)
    expect(mail_client.get_by_role("heading", level=1)).to_contain_text("N-1")

    # The notifications page says the same, in her words and her zone.
    page.goto(f"{live_server.url}/notifications/")
    notice = page.locator("[data-kind='your_turn']")
    expect(notice.get_by_role("link", name="Order N-1: the seller offers $30.00")).to_be_visible()
    expect(notice).to_contain_text("instead of the $80.00 you asked for")
    expect(notice).to_contain_text(f"send the dispute to the dispute team by {deadline}.")
    expect(notice).to_contain_text("If you do not answer by then, the seller's offer is accepted for you: $30.00.")
    notice.get_by_role("link", name="Order N-1: the seller offers $30.00").click()
    page.wait_for_url(link)
