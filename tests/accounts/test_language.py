"""Which language a person reads: the one they chose on the settings page, else the one their browser
asked for when they last signed in (at any door), else what this request asks for, else English. The API
lets the request's Accept-Language win.

The strings asserted on are ones every catalog translates today ("My orders", the sign-in refusal, the
extension refusal); the catalogs are compiled as `make` compiles them."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation
from knox.models import AuthToken

from accounts.models import User
from orders.services import extension_request
from tests.conftest import api_as
from tests.factories import make_order

pytestmark = pytest.mark.django_db

MY_ORDERS = {"en": "My orders", "es": "Mis pedidos", "zh-hans": "我的订单", "fr": "Mes commandes"}
PENDING_EXTENSION = {
    "en": "You already asked for an extension; the seller has not answered yet.",
    "es": "Ya solicitó una ampliación; el vendedor todavía no ha respondido.",
    "zh-hans": "您已申请过延期，卖家尚未答复。",
}


def compile_catalogs() -> None:
    """What `make messages` does before the tests: the .mo files, compiled where a .po is newer."""
    stale = [
        po
        for po in Path(settings.LOCALE_PATHS[0]).glob("*/LC_MESSAGES/django.po")
        if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        call_command("compilemessages", locale=[po.parts[-3] for po in stale], verbosity=0)


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


@pytest.fixture(autouse=True)
def _english_after():
    yield
    translation.activate(settings.LANGUAGE_CODE)  # a request leaves its language active in this thread


def speaks(html: str, language: str) -> bool:
    return MY_ORDERS[language] in html and all(MY_ORDERS[other] not in html for other in MY_ORDERS if other != language)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def orders_page(client: Client, **headers) -> str:
    response = client.get("/orders/", **headers)
    assert response.status_code == 200
    return response.content.decode()


# --- pages ------------------------------------------------------------------------------------------


def test_a_page_speaks_the_language_the_person_chose_whatever_their_browser_asks(world):
    world.alice.language = "zh-hans"
    world.alice.save()
    html = orders_page(signed_in(world.alice), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert speaks(html, "zh-hans")
    assert '<html lang="zh-hans">' in html


def test_someone_who_never_chose_reads_what_their_browser_asked_for_at_sign_in(world):
    client = Client()
    signed = client.post(
        "/accounts/login/", {"username": "alice", "password": "demo"}, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5"
    )
    assert signed.status_code == 302
    world.alice.refresh_from_db()
    assert (world.alice.language, world.alice.signin_language) == ("", "es")
    assert speaks(orders_page(client), "es")  # later requests say nothing of languages
    assert speaks(orders_page(client, HTTP_ACCEPT_LANGUAGE="fr"), "es")  # the sign-in's language still wins


def test_the_api_token_door_records_the_sign_in_language_too(world):
    answer = api_as(None).post(
        "/api/auth/token/", {"username": "bob", "password": "demo"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-CN"
    )
    assert answer.status_code == 200
    world.bob.refresh_from_db()
    assert world.bob.signin_language == "zh-hans"  # zh-CN is written in Simplified Chinese
    assert speaks(orders_page(signed_in(world.bob)), "zh-hans")


def test_a_sign_in_without_the_header_keeps_the_last_language_and_one_we_do_not_speak_means_english(world):
    User.objects.filter(pk=world.bob.pk).update(signin_language="fr")
    assert api_as(None).post("/api/auth/token/", {"username": "bob", "password": "demo"}, format="json").status_code
    world.bob.refresh_from_db()
    assert world.bob.signin_language == "fr"  # a client that says nothing of languages changes nothing
    Client().post("/accounts/login/", {"username": "bob", "password": "demo"}, HTTP_ACCEPT_LANGUAGE="de-DE,de")
    world.bob.refresh_from_db()
    assert world.bob.signin_language == ""
    assert speaks(orders_page(signed_in(world.bob)), "en")


def test_a_failed_sign_in_records_nothing(world):
    Client().post("/accounts/login/", {"username": "bob", "password": "guess"}, HTTP_ACCEPT_LANGUAGE="es")
    world.bob.refresh_from_db()
    assert world.bob.signin_language == ""


def test_with_nothing_known_the_request_decides_and_without_a_header_it_is_english(world):
    client = signed_in(world.bob)
    assert speaks(orders_page(client, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.8"), "fr")
    assert speaks(orders_page(client), "en")
    anonymous = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="es">' in anonymous


def test_a_language_no_longer_offered_falls_back_as_if_none_was_chosen(world):
    User.objects.filter(pk=world.bob.pk).update(language="xx", signin_language="es")
    world.bob.refresh_from_db()
    assert speaks(orders_page(signed_in(world.bob), HTTP_ACCEPT_LANGUAGE="fr"), "es")


# --- the settings page ------------------------------------------------------------------------------


def test_the_settings_page_has_labelled_fields_and_is_linked_from_the_navigation(world):
    client = signed_in(world.alice)
    html = client.get("/accounts/settings/").content.decode()
    assert '<label for="id_language">' in html and '<label for="id_time_zone">' in html
    assert 'value="zh-hans"' in html and "中文" in html  # each language also in its own words
    assert 'href="/accounts/settings/"' in orders_page(client)


def test_choosing_a_language_persists_and_every_page_then_speaks_it(world):
    client = signed_in(world.alice)
    saved = client.post("/accounts/settings/", {"language": "es", "time_zone": "Europe/Madrid"})
    assert saved.status_code == 302 and saved["Location"] == "/accounts/settings/"
    world.alice.refresh_from_db()
    assert (world.alice.language, world.alice.time_zone) == ("es", "Europe/Madrid")
    after = client.get(saved["Location"]).content.decode()
    assert '<html lang="es">' in after and "Mis pedidos" in after
    assert speaks(orders_page(client, HTTP_ACCEPT_LANGUAGE="zh-CN"), "es")
    # Back to the browser's choice: blank.
    client.post("/accounts/settings/", {"language": "", "time_zone": "Europe/Madrid"})
    world.alice.refresh_from_db()
    assert world.alice.language == ""
    assert speaks(orders_page(client, HTTP_ACCEPT_LANGUAGE="zh-CN"), "zh-hans")


def test_a_refused_choice_comes_back_on_the_form_with_its_error(world):
    client = signed_in(world.alice)
    refused = client.post("/accounts/settings/", {"language": "xx", "time_zone": "Mars/Olympus"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "error-summary" in html and 'id="id_language_error"' in html and 'id="id_time_zone_error"' in html
    world.alice.refresh_from_db()
    assert (world.alice.language, world.alice.time_zone) == ("", "America/Los_Angeles")


def test_the_settings_page_is_for_signed_in_people(world):
    response = Client().get("/accounts/settings/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_probes_read_no_session_whatever_the_language(client):
    client.cookies[settings.SESSION_COOKIE_NAME] = "a" * 32
    assert client.get("/healthz", HTTP_ACCEPT_LANGUAGE="es").status_code == 200


# --- the API ------------------------------------------------------------------------------------------


@pytest.fixture
def asked_once(world):
    """Alice has asked Carol's Gadgets for more days on E-1; asking again is refused (409)."""
    order = make_order(
        buyer=world.alice, store=world.carols, number="E-1", placed_at=timezone.now() - timedelta(days=1)
    )
    extension_request(buyer=world.alice, order=order, days=5)
    return order


def ask_again(client, **headers):
    answer = client.post("/api/orders/E-1/extension/", {"days": 3}, format="json", **headers)
    assert answer.status_code == 409
    assert answer.json()["code"] == "extension_pending"  # the code never changes with the language
    return answer


def test_the_api_answers_a_refusal_in_the_language_accept_language_asks_for(world, asked_once):
    answer = ask_again(api_as(world.alice), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert answer.json()["detail"] == PENDING_EXTENSION["es"]
    assert answer["Content-Language"] == "es"


def test_on_the_api_the_header_wins_over_the_persons_choice(world, asked_once):
    world.alice.language = "zh-hans"
    world.alice.save()
    assert ask_again(api_as(world.alice), HTTP_ACCEPT_LANGUAGE="es").json()["detail"] == PENDING_EXTENSION["es"]


def test_on_the_api_without_a_header_a_signed_in_person_reads_their_choice(world, asked_once):
    world.alice.language = "zh-hans"
    world.alice.save()
    session = Client()
    session.force_login(world.alice)
    answer = session.post("/api/orders/E-1/extension/", {"days": 3}, content_type="application/json")
    assert answer.status_code == 409
    assert answer.json()["detail"] == PENDING_EXTENSION["zh-hans"]


def test_on_the_api_without_a_header_a_token_holder_reads_their_choice(world, asked_once):
    world.alice.language = "zh-hans"
    world.alice.save()
    _token, key = AuthToken.objects.create(world.alice)
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert ask_again(client).json()["detail"] == PENDING_EXTENSION["zh-hans"]


def test_on_the_api_without_a_header_or_a_choice_it_is_english(world, asked_once):
    assert ask_again(api_as(world.alice)).json()["detail"] == PENDING_EXTENSION["en"]


def test_a_refusal_at_the_token_door_speaks_the_header(world):
    answer = api_as(None).post(
        "/api/auth/token/", {"username": "alice", "password": "guess"}, format="json", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert answer.status_code == 400
    assert answer.json()["detail"] == "No se puede iniciar sesión con ese nombre de usuario y esa contraseña."


def test_the_actions_a_party_may_take_are_named_in_their_language(world):
    """The workflow's action labels are read when a page is drawn, in its reader's language (a label
    translated once, when the module was imported, would stay in the language of the first request)."""
    import time_machine

    from tests.disputes.helpers import OPEN_AT, open_dispute

    with time_machine.travel(OPEN_AT, tick=False):
        dispute = open_dispute(world, number="L-ES")
        User.objects.filter(pk=world.carol.pk).update(language="es")
        body = signed_in(User.objects.get(pk=world.carol.pk)).get(f"/disputes/{dispute.pk}/").content.decode()
    with translation.override("es"):
        accept = translation.gettext("Accept the buyer's request")
    assert accept != "Accept the buyer's request" and accept in body
    assert "Accept the buyer's request" not in body
