"""In Chromium: a team member sets up two-step sign-in and signs in with a code; no page logs a
Content-Security-Policy violation."""

import base64
import re
import time
from datetime import timedelta

import pytest
import time_machine
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests.disputes.helpers import OPEN_AT, dispute_in

pytestmark = pytest.mark.django_db(transaction=True)


def code_from_secret(secret: str, *, later: int = 0) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key)
    totp.time = time.time() + later
    return f"{totp.token():06d}"


def test_erin_sets_up_two_step_sign_in_and_then_signs_in_with_a_code(browser, live_server, world, settings):
    settings.TWO_STEP_REQUIRED_FOR_TEAM = True
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    # No authenticator yet: the setup page, and nothing else.
    expect(page.get_by_text("you must use two-step sign-in")).to_be_visible()
    page.get_by_role("button", name="Set up two-step sign-in").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator("code").first.inner_text().replace(" ", "")
    page.get_by_label("The 6-digit code the app shows").fill(code_from_secret(secret))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.get_by_text("Keep these backup codes somewhere safe")).to_be_visible()
    assert len(page.locator("ul.backup-codes li").all()) == 10
    page.get_by_role("link", name="I have saved them, continue").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))

    # Next time: the password, then the code.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/admin/")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code from your authenticator app, or a backup code").fill(code_from_secret(secret, later=30))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("link", name="Review queue").first).to_be_visible()


def test_no_page_logs_a_content_security_policy_violation(browser, live_server, sign_in, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "escalated")
    violations: list[str] = []

    def watch(page):
        def record(message) -> None:
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
                violations.append(f"{page.url}: {message.text}")

        page.on("console", record)
        return page

    visits = {
        "alice": ["/orders/", f"/orders/{dispute.order.number}/", f"/disputes/{dispute.pk}/", "/notifications/",
                  "/accounts/two-step/", "/api/docs/"],
        "carol": ["/seller/orders/", "/seller/inbox/", "/seller/policy/"],
        "erin": ["/admin/", "/admin/disputes/reviewqueueitem/", "/admin/disputes/reviewqueueitem/dashboard/",
                 f"/admin/disputes/reviewqueueitem/{dispute.pk}/review/", "/admin/orders/order/"],
    }  # fmt: skip
    anonymous = watch(browser.new_page())
    anonymous.goto(f"{live_server.url}/accounts/login/")
    anonymous.wait_for_load_state("networkidle")
    for username, paths in visits.items():
        context = browser.new_context()
        page = watch(context.new_page())
        sign_in(page, username)
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
        context.close()
    assert violations == []


def test_the_api_docs_page_still_works_under_the_policy(browser, live_server, sign_in, world):
    page = browser.new_page()
    sign_in(page, "alice")
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("Dispute desk API").first).to_be_visible(timeout=timedelta(seconds=20).seconds * 1000)
