"""Linked cases in Chromium: erin opens a case from admin's index, confirms the dispute it suggests, rules the
case (seeing each dispute's amount before it applies) and sees every member resolved; alice, the buyer of
one of them, reads the case's reason on her dispute's page and nothing of the other disputes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disputes.cases import case_create
from disputes.models import Dispute
from disputes.services import dispute_act_by, dispute_open
from disputes.writes import Writes
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)
REASON = "One container was lost at sea."


@pytest.fixture
def escalated(world, monkeypatch):
    """Three disputes on carol's store, opened the same day for the same reason, escalated to the team that
    routing has not reached yet (nobody holds them)."""
    monkeypatch.setattr(Writes, "route_after_commit", lambda self, dispute_id: None)
    disputes = []
    for n in range(3):
        order = make_order(buyer=world.alice, store=world.carols, number=f"LC-{n}",
                           shipped_at=timezone.now() - timedelta(days=10), total=Decimal("60.00"))  # fmt: skip
        dispute = dispute_open(buyer=world.alice, order=order, reason="not_received", item_received=False,
                               refund_type="full", description="It never arrived.")  # fmt: skip
        dispute = dispute_act_by(user=world.carol, dispute=dispute, action="reject", note="It was shipped.")
        disputes.append(dispute_act_by(user=world.alice, dispute=dispute, action="escalate", note="Please decide."))
    return disputes


def test_erin_confirms_a_suggestion_and_rules_the_case_and_alice_reads_its_reason(
    browser, live_server, sign_in, world, escalated
):
    first, second, suggested = escalated
    case = case_create(staff=world.erin, public_reason=REASON, note="The carrier confirmed the loss.",
                       disputes=[first.pk, second.pk])  # fmt: skip

    erin = browser.new_page(viewport={"width": 1280, "height": 900})
    erin.goto(f"{live_server.url}/admin/")
    erin.get_by_label("Username").fill("erin")
    erin.get_by_label("Password").fill("demo")
    erin.get_by_role("button", name="Sign in").click()
    erin.get_by_role("link", name="Linked cases").first.click()
    erin.get_by_role("link", name=f"Case {case.pk}").click()
    expect(erin.get_by_role("heading", name="2 disputes in this case")).to_be_visible()
    expect(erin.locator(".case-reason")).to_have_text(REASON)

    suggestions = erin.locator("#suggestions")
    expect(suggestions).to_contain_text("the same store and reason, opened the same week")
    suggestions.get_by_role("button", name=f"Add dispute #{suggested.pk} to the case").click()
    expect(
        erin.get_by_text(f"Added dispute #{suggested.pk} ({suggested.order.number}) to case {case.pk}")
    ).to_be_visible()
    expect(erin.get_by_role("heading", name="3 disputes in this case")).to_be_visible()
    expect(erin.locator(".case-totals")).to_contain_text("$180.00")

    erin.get_by_label("Outcome").select_option("full_refund")
    erin.get_by_label("Note both parties of every dispute see").fill("The carrier lost the container: refunded.")
    erin.get_by_role("button", name="Rule the case…").click()
    confirm = erin.locator("form.confirm-box")
    expect(confirm).to_contain_text("Rule Full refund on every dispute of this case?")
    for dispute in escalated:
        expect(confirm.get_by_role("row", name=f"#{dispute.pk} · {dispute.order.number}")).to_contain_text("$60.00")
    assert not Dispute.objects.filter(state="resolved").exists()  # nothing ruled before the confirmation
    confirm.get_by_role("button", name="Yes, rule the case").click()
    expect(erin.get_by_text(f"Ruled case {case.pk}: full refund on every dispute (3)")).to_be_visible()
    members = erin.locator("table.case-members").first
    for dispute in escalated:
        row = members.locator(f"#member-{dispute.pk}")
        expect(row).to_contain_text("Resolved")
        expect(row.locator("td").last).to_have_text("$60.00")  # what the ruling gave
    assert set(Dispute.objects.values_list("state", flat=True)) == {"resolved"}

    alice = browser.new_page()
    sign_in(alice, "alice")
    alice.goto(f"{live_server.url}/disputes/{second.pk}/")
    box = alice.locator(".case-notice")
    expect(box).to_contain_text("The dispute team ruled this dispute together with others that share its cause:")
    expect(box).to_contain_text(REASON)
    body = alice.locator("main").inner_text()
    assert "LC-0" not in body and "LC-2" not in body and f"Case {case.pk}" not in body
