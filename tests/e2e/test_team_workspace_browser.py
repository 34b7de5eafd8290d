"""In Chromium: erin claims a dispute with its row's button and with the keyboard, moves to the next
dispute by keyboard, sees photos without list bullets, and no page logs an error; bob, following a
link to a photo of someone else's order, gets the site's friendly 404 page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disputes.models import Dispute
from disputes.services import dispute_act_by, dispute_open, evidence_add
from disputes.writes import Writes
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def escalated(world, settings, tmp_path, monkeypatch):
    """Three disputes escalated to the team that routing has not reached yet (nobody holds them)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(Writes, "route_after_commit", lambda self, dispute_id: None)
    disputes = []
    for n in range(3):
        order = make_order(buyer=world.alice, store=world.carols, number=f"W-{n}",
                           shipped_at=timezone.now() - timedelta(days=10), total=Decimal("60.00"))  # fmt: skip
        dispute = dispute_open(buyer=world.alice, order=order, reason="damaged", item_received=True,
                               refund_type="full", description="Cracked.",
                               uploads=[upload(jpeg_bytes(color="red"))])  # fmt: skip
        evidence_add(author=world.carol, dispute=dispute, note="Packed well.", uploads=[upload(jpeg_bytes())])
        dispute = dispute_act_by(user=world.carol, dispute=dispute, action="reject", note="It left intact.")
        disputes.append(dispute_act_by(user=world.alice, dispute=dispute, action="escalate", note="Please decide."))
    return disputes


def admin_page(browser, live_server, username="erin"):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page, problems


def test_erin_claims_a_dispute_with_its_rows_button(browser, live_server, world, escalated):
    first = escalated[0]
    page, problems = admin_page(browser, live_server)
    page.get_by_role("link", name="Review queue", exact=True).first.click()
    row = page.locator("#result_list tbody tr", has_text=f"#{first.pk} · W-0")
    expect(row.get_by_role("cell", name="Arrived damaged")).to_be_visible()  # the reason, at 1280 px
    expect(row.get_by_role("cell", name="nobody")).to_be_visible()  # the assignee
    row.get_by_role("button", name=f"Claim #{first.pk}").click()
    expect(page.get_by_text(f"Claimed dispute #{first.pk} for you.")).to_be_visible()
    row = page.locator("#result_list tbody tr", has_text=f"#{first.pk} · W-0")
    expect(row.get_by_role("cell", name="you", exact=True)).to_be_visible()
    expect(row.get_by_role("button", name=f"Release #{first.pk}")).to_be_visible()
    first.refresh_from_db()
    assert (first.state, first.assignee) == ("under_review", world.erin)
    assert first.events.filter(action="claim", actor=world.erin).exists()
    # The queue fits the window: no sideways scroll, in the page or in the table.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("(() => { const r = document.querySelector('#changelist-form .results');"
                         " return r.scrollWidth <= r.clientWidth; })()")  # fmt: skip
    assert problems == []


def test_erin_claims_and_moves_on_with_the_keyboard(browser, live_server, world, escalated):
    first, second, third = escalated
    page, problems = admin_page(browser, live_server)
    page.goto(f"{live_server.url}/admin/disputes/reviewqueueitem/")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the second row
    expect(page.locator("#result_list tbody tr.is-current")).to_contain_text(f"#{second.pk} · W-1")
    page.keyboard.press("c")
    expect(page.get_by_text(f"Claimed dispute #{second.pk} for you.")).to_be_visible()
    assert Dispute.objects.get(pk=second.pk).assignee == world.erin

    page.keyboard.press("n")  # the next dispute to work on: the first, still unclaimed
    expect(page.get_by_role("heading", name=f"Dispute #{first.pk} on order W-0")).to_be_visible()
    expect(page.get_by_text("Nobody has claimed it yet.")).to_be_visible()
    expect(page.get_by_label("Outcome")).to_have_count(0)  # no ruling form before it is yours
    page.keyboard.press("c")
    expect(page.get_by_text(f"Claimed dispute #{first.pk} for you.")).to_be_visible()
    expect(page.get_by_label("Outcome")).to_have_value("")  # no outcome chosen in advance
    # Photos sit in a row with no bullet beside them.
    photo = page.get_by_role("img", name="Buyer evidence photo 1")
    expect(photo).to_be_visible()
    bullet = photo.evaluate("img => getComputedStyle(img.closest('li')).listStyleType")
    assert bullet == "none"
    page.keyboard.press("n")
    expect(page.get_by_role("heading", name=f"Dispute #{second.pk} on order W-1")).to_be_visible()
    # Typing in a field is typing, not a shortcut.
    page.get_by_label("Note both parties see").press_sequentially("no shortcuts here")
    expect(page.get_by_role("heading", name=f"Dispute #{second.pk} on order W-1")).to_be_visible()
    assert Dispute.objects.get(pk=third.pk).assignee is None
    assert problems == []


@pytest.mark.refusals_expected  # refused on purpose first: a 4xx is part of the journey
def test_bob_following_a_link_to_alices_photo_gets_the_friendly_404(browser, live_server, sign_in, world, settings,
                                                                      tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path / "media"
    order = make_order(buyer=world.alice, store=world.carols, number="F-1",
                       shipped_at=timezone.now() - timedelta(days=10))  # fmt: skip
    dispute = dispute_open(buyer=world.alice, order=order, reason="damaged", item_received=True, refund_type="full",
                           description="Cracked.", uploads=[upload(jpeg_bytes(color="red"))])  # fmt: skip
    photo = dispute.evidence.get().photos.get()

    bob = browser.new_page()
    problems = []
    bob.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(bob, "bob")
    response = bob.goto(f"{live_server.url}/photos/{photo.pk}/")
    assert response.status == 404
    expect(bob.get_by_role("heading", name="We could not find that page")).to_be_visible()
    expect(bob.get_by_role("link", name="Dispute desk").first).to_be_visible()  # the site's own header
    expect(bob.get_by_text("Signed in as")).to_be_visible()
    bob.get_by_role("link", name="Back to Dispute desk").click()
    expect(bob).to_have_url(f"{live_server.url}/orders/")
    content = bob.content()
    assert "Django REST framework" not in content and "token clients" not in content
    assert problems == []
