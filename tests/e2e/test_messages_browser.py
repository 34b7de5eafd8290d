"""alice writes to carol with a photo; carol sees it unread, opens it, sees the photo, replies."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_order
from tests.messaging.images import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_buyer_and_seller_talk_with_a_photo(browser, live_server, sign_in, world, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_order(buyer=world.alice, store=world.carols, number="T-1")
    photo = tmp_path / "cracked.jpg"
    photo.write_bytes(jpeg_bytes(size=(640, 480), color="orange"))

    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/orders/T-1/")
    alice.get_by_role("textbox", name="Message").fill("The screen arrived cracked.\nSee the photo.")
    alice.get_by_label("Photos").set_input_files(str(photo))
    expect(alice.locator(".photo-preview img")).to_have_count(1)  # preview before sending
    alice.get_by_role("button", name="Send message").click()
    expect(alice.get_by_role("status")).to_contain_text("Message sent.")
    expect(alice.locator(".message-mine .message-body")).to_contain_text("The screen arrived cracked.")

    carol = browser.new_page()
    sign_in(carol, "carol")
    unread_link = carol.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")
    expect(unread_link).to_contain_text("1")
    carol.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    expect(carol.locator("[data-order='T-1']")).to_contain_text("1 unread")
    carol.get_by_role("link", name="Order T-1").click()

    thumbnail = carol.get_by_role("img", name="Photo 1, open full size")
    expect(thumbnail).to_be_visible()
    # The thumbnail really loads (served through the checked photo view), not just its <img> tag.
    carol.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    with carol.expect_popup() as popup:
        thumbnail.click()
    full = popup.value
    full.wait_for_load_state()
    assert full.evaluate("document.images[0] && document.images[0].naturalWidth") == 640

    carol.get_by_role("textbox", name="Message").fill("So sorry! I can send a replacement.")
    carol.get_by_role("button", name="Send message").click()
    expect(carol.get_by_role("status")).to_contain_text("Message sent.")
    expect(unread_link).not_to_contain_text("1")

    alice.goto(f"{live_server.url}/messages/unread/")
    expect(alice.locator("[data-order='T-1']")).to_contain_text("1 unread")
    alice.get_by_role("link", name="Order T-1").click()
    expect(alice.get_by_text("So sorry! I can send a replacement.")).to_be_visible()
