"""The order page says one true thing about the window; the lists say what, when, how much and where."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from messaging.services import message_post
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def window_text(html: str) -> str:
    """The window section's sentence."""
    return re.search(r'<p class="window-sentence">(.*?)</p>', html, re.S).group(1)


def test_a_window_not_yet_open_says_when_and_why_once(client, world):
    make_order(buyer=world.alice, store=world.carols, number="W-1", shipped_at=SHIPPED)
    make_order(buyer=world.alice, store=world.carols, number="W-2")  # never shipped: counted from ship-by
    client.force_login(world.alice)
    with time_machine.travel(SHIPPED + timedelta(days=2), tick=False):
        shipped = client.get("/orders/W-1/").content.decode()
    assert "6 days after the seller shipped the order" in window_text(shipped)
    assert shipped.count("A dispute can be opened from") == 1
    assert "Open a dispute" not in shipped
    with time_machine.travel(SHIPPED - timedelta(days=15), tick=False):
        unshipped = client.get("/orders/W-2/").content.decode()
    assert "6 days after the ship-by date, as the order has not shipped yet" in window_text(unshipped)


def test_after_a_ruling_the_page_says_why_no_dispute_can_be_opened_and_links_to_it(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "resolved")
        client.force_login(world.alice)
        page = client.get("/orders/D-1/").content.decode()
    assert "A dispute can be opened until" not in page and "Open a dispute" not in page
    assert f"Dispute #{dispute.pk} on this order was resolved on" in window_text(page)
    assert f'href="/disputes/{dispute.pk}/"' in page


def test_a_live_dispute_is_named_and_linked_and_says_whose_answer_it_waits_for(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        client.force_login(world.carol)
        seller_page = client.get("/orders/D-1/").content.decode()
        client.force_login(world.alice)
        buyer_page = client.get("/orders/D-1/").content.decode()
    assert f"Dispute #{dispute.pk} on this order is waiting for your answer." in window_text(seller_page)
    assert f"Dispute #{dispute.pk} is open on this order (waiting for the seller)" in window_text(buyer_page)
    assert f'href="/disputes/{dispute.pk}/"' in seller_page and "open until" not in buyer_page


def test_after_a_cancel_the_buyer_is_told_one_more_dispute_may_be_opened(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "cancelled")
        client.force_login(world.alice)
        page = client.get("/orders/D-1/").content.decode()
    assert "you can open one more" in window_text(page)
    assert "Open a dispute" in page


def test_a_closed_window_says_when_it_closed(client, world):
    make_order(buyer=world.alice, store=world.carols, number="C-1", shipped_at=SHIPPED)
    client.force_login(world.alice)
    with time_machine.travel(SHIPPED + timedelta(days=40), tick=False):
        page = client.get("/orders/C-1/").content.decode()
    assert "The window to open a dispute closed on" in window_text(page)


def test_my_orders_show_item_date_amount_and_state(client, world):
    make_order(buyer=world.alice, store=world.carols, number="L-1", shipped_at=SHIPPED, total=Decimal("12.50"))
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        page = client.get("/orders/").content.decode()
    row = page[page.index('data-order="L-1"') :]
    row = row[: row.index("</li>")]
    assert "Widget" in row  # the item's title (tests.factories.make_order)
    assert "placed 1 Mar 2026" in row
    assert "$12.50" in row
    assert "Shipped" in row and "open until" in row


def rows(html: str) -> list[str]:
    return re.findall(r'data-order="([^"]+)"', html)


def test_the_lists_filter_waiting_for_me_open_disputes_and_closed(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "awaiting_buyer", number="F-WAIT")  # waits for alice
        dispute_in(world, "awaiting_seller", number="F-SELLER")  # waits for carol
        dispute_in(world, "resolved", number="F-DONE")
        make_order(buyer=world.alice, store=world.carols, number="F-QUIET", shipped_at=SHIPPED)
        make_order(buyer=world.alice, store=world.carols, number="F-OLD", shipped_at=SHIPPED - timedelta(days=60))
        unread = make_order(buyer=world.alice, store=world.carols, number="F-MSG", shipped_at=SHIPPED)
        message_post(author=world.carol, order=unread, body="Your parcel left today.")

        client.force_login(world.alice)
        assert set(rows(client.get("/orders/?show=waiting").content.decode())) == {"F-WAIT", "F-MSG"}
        assert set(rows(client.get("/orders/?show=disputes").content.decode())) == {"F-WAIT", "F-SELLER"}
        assert set(rows(client.get("/orders/?show=closed").content.decode())) == {"F-DONE", "F-OLD"}
        assert len(rows(client.get("/orders/").content.decode())) == 6

        client.force_login(world.carol)
        assert set(rows(client.get("/seller/orders/?show=waiting").content.decode())) == {"F-SELLER"}
        listing = client.get("/seller/orders/?show=disputes").content.decode()
        assert set(rows(listing)) == {"F-WAIT", "F-SELLER"}
        assert 'aria-current="page">Open disputes' in listing


def test_a_waiting_extension_request_puts_the_order_in_the_sellers_waiting_list(client, world):
    make_order(buyer=world.alice, store=world.carols, number="X-1", shipped_at=SHIPPED)
    make_order(buyer=world.alice, store=world.carols, number="X-2", shipped_at=SHIPPED)
    client.force_login(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        client.post("/orders/X-1/extension/", {"days": "5", "note": "Away"})
        client.force_login(world.carol)
        assert rows(client.get("/seller/orders/?show=waiting").content.decode()) == ["X-1"]


def test_a_seller_who_buys_nothing_has_no_my_orders_in_the_menu(client, world):
    make_order(buyer=world.alice, store=world.carols, number="N-1", shipped_at=SHIPPED)
    client.force_login(world.carol)
    nav = client.get("/seller/orders/").content.decode()
    nav = nav[nav.index('class="main-nav"') : nav.index("</nav>")]
    assert "My orders" not in nav and "Unread messages" not in nav
    assert all(label in nav for label in ("Store orders", "Inbox", "Disputes", "Return policy", "Notifications"))
    make_order(buyer=world.carol, store=world.daves, number="N-2", shipped_at=SHIPPED)
    nav = client.get("/seller/orders/").content.decode()
    assert "My orders" in nav[nav.index('class="main-nav"') : nav.index("</nav>")]
