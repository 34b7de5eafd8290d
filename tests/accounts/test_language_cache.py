"""Kept pages and kept API reads (core/read_cache.py, disputes/page_cache.py) are keyed by the language
actually active for the request, as the language middleware decided it: a page kept in one language is
never served in another. These tests commit (transaction=True), as the cache needs."""

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from accounts.models import User
from tests.accounts.test_language import compile_catalogs
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, open_dispute

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


@pytest.fixture(autouse=True)
def _english_after():
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def opened(world):
    with time_machine.travel(OPEN_AT, tick=False):
        return open_dispute(world)


def browser(user) -> Client:
    """A signed-in browser after its first visit (the session and the CSRF cookie: what a kept page needs)."""
    client = Client()
    client.force_login(user)
    with time_machine.travel(OPEN_AT, tick=False):
        client.get("/accounts/login/")
    client.cookies.load({settings.CSRF_COOKIE_NAME: "a" * 32})
    return client


def page(client, path, **headers) -> str:
    with time_machine.travel(OPEN_AT, tick=False):
        response = client.get(path, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def kept(kind: str) -> int:
    return len(list(cache._cache.get_client().scan_iter(f"*read:{kind}*")))


def test_a_kept_page_is_kept_per_language_the_request_is_answered_in(world, opened):
    alice = browser(world.alice)  # never chose: the request's Accept-Language decides
    path = f"/disputes/{opened.pk}/"
    spanish = page(alice, path, HTTP_ACCEPT_LANGUAGE="es")
    assert "Mis pedidos" in spanish
    english = page(alice, path)
    assert "My orders" in english and "Mis pedidos" not in english
    assert page(alice, path, HTTP_ACCEPT_LANGUAGE="es") == spanish
    assert kept("page:dispute") == 2


def test_a_language_chosen_is_seen_on_the_next_read_of_a_kept_page(world, opened):
    alice = browser(world.alice)
    path = f"/disputes/{opened.pk}/"
    assert "My orders" in page(alice, path)
    User.objects.filter(pk=world.alice.pk).update(language="zh-hans")
    assert "我的订单" in page(alice, path)


def test_a_kept_api_read_is_kept_per_language(world, opened):
    client = api_as(world.alice)
    with time_machine.travel(OPEN_AT, tick=False):
        assert client.get(f"/api/disputes/{opened.pk}/", HTTP_ACCEPT_LANGUAGE="es").status_code == 200
        assert client.get(f"/api/disputes/{opened.pk}/", HTTP_ACCEPT_LANGUAGE="zh-CN").status_code == 200
        assert client.get(f"/api/disputes/{opened.pk}/", HTTP_ACCEPT_LANGUAGE="es-ES").status_code == 200
    assert kept("dispute") == 2
