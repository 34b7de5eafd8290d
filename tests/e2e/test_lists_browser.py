"""Long lists in a real browser: a page at a time, reached with the keyboard."""

import pytest
from playwright.sync_api import expect

from notifications.models import Notification
from notifications.services import notify

pytestmark = pytest.mark.django_db(transaction=True)


def test_alice_pages_through_her_notifications_and_marks_the_rest_read(page, live_server, sign_in, world):
    for i in range(55):
        notify(recipient=world.alice, kind=Notification.Kind.YOUR_TURN, key=f"n-{i}", title=f"Notice number {i}")
    sign_in(page, "alice")
    page.goto(f"{live_server.url}/notifications/")
    expect(page.get_by_text("Page 1 of 2 (55 in all)")).to_be_visible()
    expect(page.get_by_text("Notice number 54", exact=True)).to_be_visible()
    expect(page.get_by_text("5 more unread on other pages.")).to_be_visible()
    # The pager is reachable with the keyboard and goes where it says.
    next_page = page.get_by_role("link", name="Next page")
    next_page.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/notifications/?page=2")
    expect(page.get_by_text("Notice number 0", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Previous page")).to_be_visible()
    assert not Notification.objects.filter(recipient=world.alice, read_at__isnull=True).exists()


def test_marking_every_notification_read_with_the_button(page, live_server, sign_in, world):
    for i in range(53):
        notify(recipient=world.alice, kind=Notification.Kind.YOUR_TURN, key=f"m-{i}", title=f"Notice {i}")
    sign_in(page, "alice")
    page.goto(f"{live_server.url}/notifications/")
    page.get_by_role("button", name="Mark all as read").click()
    page.wait_for_load_state("domcontentloaded")
    expect(page.get_by_text("more unread on other pages")).to_have_count(0)
    assert not Notification.objects.filter(recipient=world.alice, read_at__isnull=True).exists()
