"""Notices and emails go out in their recipient's language, not in the language of the request or sweep
that sent them: a Chinese-speaking seller and a Spanish-speaking buyer on the same dispute.

The strings asserted on are translated in both catalogs today: "Order %(n)s: %(what)s", "the buyer opened
a dispute asking for %(amount)s", "the seller offers %(offer)s", "Hello %(name)s,", "New message about
order %(number)s"; amounts as each language writes them (Babel)."""

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import translation

from accounts.models import User
from notifications.models import Notification
from notifications.render import language_of, render
from tests.accounts.test_language import compile_catalogs
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


@pytest.fixture(autouse=True)
def _english_after():
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def speakers(world):
    """Carol chose Chinese on her settings page; Alice never chose, and last signed in from a Spanish browser."""
    User.objects.filter(pk=world.carol.pk).update(language="zh-hans")
    User.objects.filter(pk=world.alice.pk).update(signin_language="es")
    world.carol.refresh_from_db()
    world.alice.refresh_from_db()
    return world


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    mail.outbox.clear()
    return lambda: django_capture_on_commit_callbacks(execute=True)


def html_of(email) -> str:
    (html, _kind), *_ = email.alternatives
    return html


def test_each_party_reads_the_language_we_know_of_them_and_anyone_else_english(speakers):
    assert (language_of(speakers.carol), language_of(speakers.alice), language_of(speakers.bob)) == (
        "zh-hans",
        "es",
        "en",
    )


def test_a_notice_and_an_email_to_a_chinese_seller_are_in_chinese_and_the_buyers_in_spanish(speakers, sent):
    # Whatever language the acting request speaks (here French), each recipient reads their own.
    with time_machine.travel(OPEN_AT, tick=False), translation.override("fr"), sent():
        dispute_in(speakers, "awaiting_buyer")

    (to_carol,) = [m for m in mail.outbox if m.to == ["carol@example.com"]]
    assert to_carol.subject == "订单 D-1：买家已发起纠纷，申请退款 US$80.00"
    assert to_carol.extra_headers["Content-Language"] == "zh-hans"
    for text in (to_carol.body, html_of(to_carol)):
        assert "Carol，您好：" in text and "买家已发起纠纷" in text
    assert '<html lang="zh-hans">' in html_of(to_carol)

    to_alice = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    offer = next(m for m in to_alice if "el vendedor ofrece" in m.subject)
    assert offer.subject == "Pedido D-1: el vendedor ofrece 30,00 US$"  # a Spanish decimal comma
    assert offer.extra_headers["Content-Language"] == "es"
    for text in (offer.body, html_of(offer)):
        assert "Hola, Alice:" in text
    assert all("Hello" not in m.body for m in mail.outbox)

    # The same notices on the page and in the API, read by each of them.
    carols = Notification.objects.filter(recipient=speakers.carol)
    assert any(render(note).title.startswith("订单 D-1：") for note in carols)
    alices = Notification.objects.filter(recipient=speakers.alice)
    assert any(render(note).title.startswith("Pedido D-1: el vendedor ofrece") for note in alices)
    page = Client()
    page.force_login(speakers.carol)
    assert "订单 D-1：买家已发起纠纷" in page.get("/notifications/").content.decode()


def test_the_email_about_a_new_message_is_in_the_recipients_language_not_the_senders(speakers, sent):
    make_order(buyer=speakers.alice, store=speakers.carols, number="M-1")
    with sent():
        answer = api_as(speakers.alice).post(
            "/api/orders/M-1/messages/", {"body": "¿Dónde está mi pedido?"}, format="json", HTTP_ACCEPT_LANGUAGE="es"
        )
    assert answer.status_code == 201
    (email,) = mail.outbox
    assert email.to == ["carol@example.com"]
    assert email.subject == "关于订单 M-1 的新消息"
    assert "Carol，您好：" in html_of(email) and "¿Dónde está mi pedido?" in email.body
