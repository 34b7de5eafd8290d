"""A buyer and a seller who read different languages each see a "Translate" link on the other's
messages: a plain page with the original and its translation (MESSAGE_TRANSLATOR), for the order's
parties and the dispute team only."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from accounts.models import User
from messaging.services import message_post
from messaging.translation import NoTranslation, TranslationProvider, message_translate
from tests.factories import make_order

pytestmark = pytest.mark.django_db

TRANSLATOR = f"{__name__}.BracketTranslator"


class BracketTranslator(TranslationProvider):
    """Stands in for a real service: says what it was asked, and remembers each call."""

    calls: list[tuple[str, str, str]] = []

    def translate(self, text: str, source: str, target: str) -> str | None:
        BracketTranslator.calls.append((text, source, target))
        return f"[{source}→{target}] {text}"


class BrokenTranslator(TranslationProvider):
    def translate(self, text: str, source: str, target: str) -> str | None:
        raise ConnectionError("the translation service is down")


@pytest.fixture(autouse=True)
def _fresh():
    BracketTranslator.calls = []
    cache.clear()
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def conversation(world):
    """Order T-1: Alice (Spanish) asks, Carol (Chinese) answers."""
    User.objects.filter(pk=world.alice.pk).update(language="es")
    User.objects.filter(pk=world.carol.pk).update(language="zh-hans")
    order = make_order(buyer=world.alice, store=world.carols, number="T-1")
    asked = message_post(author=User.objects.get(pk=world.alice.pk), order=order, body="¿Dónde está mi pedido?")
    answered = message_post(author=User.objects.get(pk=world.carol.pk), order=order, body="已经发货了。")
    return asked, answered


def as_user(user: User) -> Client:
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    return client


def link(message) -> str:
    return f"/orders/T-1/messages/{message.pk}/translation/"


def test_each_party_sees_translate_on_the_others_message_only(world, conversation):
    asked, answered = conversation
    alices = as_user(world.alice).get("/orders/T-1/").content.decode()
    assert link(answered) in alices and link(asked) not in alices
    carols = as_user(world.carol).get("/orders/T-1/").content.decode()
    assert link(asked) in carols and link(answered) not in carols


def test_no_translate_link_between_people_who_read_the_same_language(world, conversation):
    _asked, answered = conversation
    User.objects.filter(pk=world.alice.pk).update(language="zh-hans")
    assert link(answered) not in as_user(world.alice).get("/orders/T-1/").content.decode()


def test_the_translation_page_shows_the_original_and_the_providers_translation(world, conversation, settings):
    settings.MESSAGE_TRANSLATOR = TRANSLATOR
    _asked, answered = conversation
    page = as_user(world.alice).get(link(answered))
    assert page.status_code == 200
    html = page.content.decode()
    assert "已经发货了。" in html and "[zh-hans→es] 已经发货了。" in html
    assert 'lang="zh-hans"' in html and 'lang="es"' in html
    as_user(world.alice).get(link(answered))
    assert BracketTranslator.calls == [("已经发货了。", "zh-hans", "es")]  # a message never changes: asked once


def test_by_default_nothing_is_sent_anywhere_and_the_page_says_translation_is_unavailable(world, conversation):
    assert settings.MESSAGE_TRANSLATOR == "messaging.translation.NoTranslation"
    asked, _answered = conversation
    User.objects.filter(pk=world.carol.pk).update(language="")  # Carol reads English (the string is English today)
    html = as_user(world.carol).get(link(asked)).content.decode()
    assert "¿Dónde está mi pedido?" in html
    assert "Translation unavailable" in html
    assert NoTranslation().translate("hola", "es", "en") is None


def test_a_provider_that_fails_counts_as_unavailable(world, conversation, settings):
    settings.MESSAGE_TRANSLATOR = f"{__name__}.BrokenTranslator"
    asked, _answered = conversation
    assert message_translate(message=asked, target="zh-hans").text is None
    User.objects.filter(pk=world.carol.pk).update(language="")
    assert "Translation unavailable" in as_user(world.carol).get(link(asked)).content.decode()


def test_the_dispute_team_may_read_a_translation(world, conversation, settings):
    settings.MESSAGE_TRANSLATOR = TRANSLATOR
    asked, _answered = conversation
    assert as_user(world.erin).get(link(asked)).status_code == 200


def test_strangers_the_platform_and_wrong_orders_get_404(world, conversation):
    asked, _answered = conversation
    assert as_user(world.bob).get(link(asked)).status_code == 404  # not a party
    assert as_user(world.platform).get(link(asked)).status_code == 404  # reads orders, never conversations
    make_order(buyer=world.bob, store=world.daves, number="T-2")
    other_order = f"/orders/T-2/messages/{asked.pk}/translation/"
    assert as_user(world.bob).get(other_order).status_code == 404  # his order, another order's message
    assert as_user(world.alice).get(f"/orders/T-1/messages/{asked.pk + 1000}/translation/").status_code == 404
    signed_out = Client().get(link(asked))
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/accounts/login/")
