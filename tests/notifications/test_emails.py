"""Emails go out as HTML and plain text from templates, in the recipient's words and zone, with
an absolute link that works from a mail client."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import override_settings

from disputes.services import dispute_act_by
from disputes.tasks import run_all_sweeps
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run what is queued after commit (the email tasks), as a real commit would."""
    mail.outbox.clear()
    return lambda: django_capture_on_commit_callbacks(execute=True)


def html_of(email) -> str:
    (html, kind), *_ = email.alternatives
    assert kind == "text/html"
    return html


@override_settings(SITE_URL="https://disputes.example.com")
def test_a_notice_email_has_the_amount_the_deadline_and_an_absolute_link_in_text_and_html(world, sent):
    with time_machine.travel(OPEN_AT, tick=False), sent():
        dispute = dispute_in(world, "awaiting_buyer")
    email = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert email.subject == "Order D-1: the seller offers $30.00"
    link = f"https://disputes.example.com/disputes/{dispute.pk}/"
    for text in (email.body, html_of(email)):
        assert "Hello Alice," in text
        assert "$30.00" in text and "$80.00" in text
        assert "Sat 14 Mar 2026 at 05:00 (Los Angeles time)" in text
        assert "the seller" in text and "offer is accepted for you" in text
        assert link in text
    assert f'href="{link}"' in html_of(email)
    assert "https://disputes.example.com/notifications/" in email.body


def test_what_people_wrote_is_escaped_in_the_html_email(world, sent):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_buyer")
        with sent():
            dispute_act_by(user=world.alice, dispute=dispute, action="propose", refund_amount=Decimal("50.00"),
                           note="<script>alert(1)</script>")  # fmt: skip
    (email,) = mail.outbox
    assert "<script>" not in html_of(email) and "&lt;script&gt;" in html_of(email)
    assert "<script>alert(1)</script>" in email.body  # plain text is not HTML


def test_a_sweep_builds_its_links_from_site_url(world, sent):
    site = override_settings(SITE_URL="https://disputes.example.com")
    with site, time_machine.travel(OPEN_AT, tick=False) as clock:
        order = make_order(buyer=world.bob, store=world.daves, number="W-1", shipped_at=OPEN_AT - timedelta(days=7))
        clock.shift(timedelta(minutes=1))
        with sent():
            run_all_sweeps()
    (email,) = [m for m in mail.outbox if m.to == ["bob@example.com"]]
    assert "https://disputes.example.com/orders/W-1/" in email.body
    assert order.window_closes_at.strftime("%-d %b %Y") in email.body


def test_a_message_email_has_html_and_an_absolute_link_to_the_thread(world, sent):
    make_order(buyer=world.alice, store=world.carols, number="M-1")
    with override_settings(SITE_URL="https://disputes.example.com"), sent():
        api_as(world.alice).post("/api/orders/M-1/messages/", {"body": "Is it <b>on its way</b>?"}, format="json")
    (email,) = mail.outbox
    assert email.subject == "New message about order M-1"
    for text in (email.body, html_of(email)):
        assert "https://disputes.example.com/orders/M-1/#thread" in text
    assert "Is it <b>on its way</b>?" in email.body and "&lt;b&gt;on its way&lt;/b&gt;" in html_of(email)
