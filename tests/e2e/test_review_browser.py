"""erin works her queue in admin and rules; alice sees the outcome and the refund."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disputes.models import Refund
from disputes.services import dispute_act_by, dispute_open, evidence_add
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_erin_rules_a_partial_refund_and_alice_sees_it(browser, live_server, sign_in, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    order = make_order(buyer=world.alice, store=world.carols, number="Z-1",
                       shipped_at=timezone.now() - timedelta(days=10), total=Decimal("80.00"))  # fmt: skip
    dispute = dispute_open(buyer=world.alice, order=order, reason="damaged", item_received=True, refund_type="full",
                           description="Cracked.", uploads=[upload(jpeg_bytes(color="red"))])  # fmt: skip
    evidence_add(author=world.carol, dispute=dispute, note="Packed safely.", uploads=[upload(jpeg_bytes(color="blue"))])
    dispute = dispute_act_by(user=world.carol, dispute=dispute, action="reject", note="It left intact.")
    dispute = dispute_act_by(user=world.alice, dispute=dispute, action="escalate", note="Please decide.")

    erin = browser.new_page()
    erin.goto(f"{live_server.url}/admin/")
    erin.get_by_label("Username").fill("erin")
    erin.get_by_label("Password").fill("demo")
    erin.get_by_role("button", name="Sign in").click()
    erin.get_by_role("link", name="Review queue").first.click()
    erin.get_by_role("link", name="Mine").click()  # routed to her after escalation
    erin.get_by_role("link", name=f"#{dispute.pk} · Z-1").click()
    expect(erin.get_by_role("heading", name="Under review by the dispute team")).to_be_visible()
    for who in ("Buyer", "Seller"):
        photo = erin.get_by_role("img", name=f"{who} evidence photo 1")
        expect(photo).to_be_visible()
        erin.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    erin.get_by_label("Outcome").select_option("partial_refund")
    erin.get_by_label("Refund amount").fill("35.00")
    erin.get_by_label("Note both parties see").fill("The crack is visible; the packaging was thin. Half refunded.")
    erin.get_by_role("button", name="Rule").click()
    expect(erin.get_by_text("Ruled.")).to_be_visible()
    expect(erin.get_by_role("heading", name="Resolved")).to_be_visible()

    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    expect(alice.locator(".outcome")).to_contain_text("Partial refund")
    expect(alice.get_by_text("$35.00 refunded to you.").first).to_be_visible()
    expect(alice.get_by_text("The crack is visible; the packaging was thin. Half refunded.").first).to_be_visible()
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("35.00")]
