"""Errors: the site's own pages for people (400, 403, 404, 500, in the site's layout), the API's
JSON shape for API paths and API clients, never a framework's page or a trace; and the local
settings (`make run`) show the same pages, with DEBUG off by default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import include, path

from config import urls as config_urls
from tests.conftest import api_as
from tests.factories import UserFactory, make_order
from tests.messaging.images import jpeg_bytes, upload

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def boom(request):
    raise RuntimeError("a bug")


# The project's URLs and error handlers, plus a page and an API path that fail.
urlpatterns = [path("boom/", boom), path("api/boom/", boom), path("", include(config_urls))]
handler400 = config_urls.handler400
handler404 = config_urls.handler404
handler500 = config_urls.handler500


def in_the_site_layout(body: str) -> bool:
    return 'class="site-header"' in body and 'class="brand"' in body and "/static/css/app.css" in body


def test_an_unknown_page_is_the_friendly_404_in_the_site_layout(client, world):
    client.force_login(world.alice)
    response = client.get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "We could not find that page" in body and in_the_site_layout(body)
    assert "Signed in as" in body and "Back to Dispute desk" in body
    assert "URLconf" not in body and "Traceback" not in body


def test_a_signed_out_visitor_gets_the_404_page_with_a_way_to_sign_in(client, world):
    body = client.get("/no-such-page/").content.decode()
    assert "We could not find that page" in body and 'href="/accounts/login/"' in body


def test_unknown_api_paths_answer_in_the_json_error_shape(client, world):
    for who in (None, world.alice):
        response = api_as(who).get("/api/no-such-thing/")
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_a_page_refused_to_the_role_is_the_friendly_403(client, world):
    client.force_login(UserFactory(username="olga", is_staff=True))  # staff, but not the dispute team
    response = client.get("/admin/disputes/reviewqueueitem/dashboard/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "This page is not open to your account" in body and in_the_site_layout(body)


def test_the_403_handler_answers_json_under_api_and_a_page_elsewhere(rf, world):
    from core.views import permission_denied

    api = permission_denied(rf.get("/api/orders/"))
    assert api.status_code == 403 and api["Content-Type"] == "application/json"
    page = permission_denied(rf.get("/orders/"))
    assert page.status_code == 403 and "This page is not open to your account" in page.content.decode()


def test_a_request_refused_before_any_view_is_the_400_page_or_json(client, world):
    make_order(buyer=world.alice, store=world.carols, number="X-1")
    client.force_login(world.alice)
    files = {f"f{n}": SimpleUploadedFile(f"{n}.txt", b"x") for n in range(13)}  # > DATA_UPLOAD_MAX_NUMBER_FILES
    page = client.post("/orders/X-1/messages/", files)
    assert page.status_code == 400
    assert "We could not accept that request" in page.content.decode() and in_the_site_layout(page.content.decode())
    api = api_as(world.alice).post("/api/orders/X-1/messages/", files, format="multipart")
    assert api.status_code == 400 and api.json()["code"] == "bad_request"


def test_a_form_without_its_csrf_token_gets_the_friendly_403(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    response = client.post("/notifications/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "That form had expired" in body and in_the_site_layout(body) and "CSRF verification failed" not in body


def test_a_request_for_a_host_not_allowed_is_the_400_page(client, world, settings):
    settings.ALLOWED_HOSTS = ["disputes.example.com"]
    response = client.get("/orders/", HTTP_HOST="evil.example")
    assert response.status_code == 400 and "We could not accept that request" in response.content.decode()
    api = client.get("/api/orders/", HTTP_HOST="evil.example")
    assert api.status_code == 400 and api.json()["code"] == "bad_request"


@pytest.mark.urls(__name__)
def test_a_server_error_is_the_friendly_500_page_or_json_never_a_trace(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.alice)
    page = client.get("/boom/")
    body = page.content.decode()
    assert page.status_code == 500
    assert "Something went wrong on our side" in body and in_the_site_layout(body)
    assert "a bug" not in body and "Traceback" not in body
    api = client.get("/api/boom/")
    assert api.status_code == 500 and api.json()["code"] == "server_error" and "a bug" not in api.content.decode()


@pytest.mark.urls(__name__)
def test_the_500_page_does_not_need_the_database(world, monkeypatch):
    """Rendered without the request: the header's counts (database queries) are not asked for."""
    from messaging import context_processors

    def broken(request):
        raise RuntimeError("the database is down")

    monkeypatch.setattr(context_processors, "unread", broken)
    client = Client(raise_request_exception=False)
    page = client.get("/boom/")
    assert page.status_code == 500 and "Something went wrong on our side" in page.content.decode()


@pytest.fixture
def strangers_photo(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_order(buyer=world.alice, store=world.carols, number="P-1")
    message = {"body": "Cracked", "images": [upload(jpeg_bytes())]}
    response = api_as(world.alice).post("/api/orders/P-1/messages/", message, format="multipart")
    assert response.status_code == 201
    return response.json()["images"][0]


def test_a_strangers_photo_is_the_friendly_404_page_for_a_browser(client, world, strangers_photo):
    client.force_login(world.bob)
    for url in (strangers_photo["url"], strangers_photo["thumbnail_url"], "/photos/not-a-photo/"):
        response = client.get(url, HTTP_ACCEPT=BROWSER)
        body = response.content.decode()
        assert response.status_code == 404, url
        assert response["Content-Type"].startswith("text/html")
        assert "We could not find that page" in body and in_the_site_layout(body)
        assert "Django REST framework" not in body and "token clients" not in body  # no browsable API, no docstring


def test_a_strangers_photo_is_json_for_an_api_client(world, strangers_photo):
    for accept in ("application/json", "*/*", None):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = api_as(world.bob).get(strangers_photo["url"], **headers)
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "detail": "Not found."}
    assert api_as(None).get(strangers_photo["url"]).json()["code"] == "not_authenticated"


def test_a_signed_out_browser_following_a_photo_link_is_asked_to_sign_in(client, world, strangers_photo):
    response = client.get(strangers_photo["url"], HTTP_ACCEPT=BROWSER)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/photos/")


def test_the_parties_still_get_their_photo(client, world, strangers_photo):
    client.force_login(world.alice)
    response = client.get(strangers_photo["url"], HTTP_ACCEPT=BROWSER)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


def test_the_local_settings_show_the_friendly_pages_and_serve_static_files_with_debug_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    code = (
        "from django.conf import settings; from django.test import Client; c = Client(HTTP_HOST='127.0.0.1');"
        "page = c.get('/no-such-page/'); css = c.get('/static/css/app.css');"
        "print(settings.DEBUG, page.status_code, 'We could not find that page' in page.content.decode(),"
        " 'URLconf' in page.content.decode(), css.status_code)"
    )
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.stdout.split()[-5:] == ["False", "404", "True", "False", "200"], result.stdout + result.stderr


@pytest.mark.django_db
def test_a_signed_in_buyer_opening_admin_is_told_it_is_for_the_team_not_sent_round_in_circles(client, world):
    client.force_login(world.alice)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) == 1  # admin → its sign-in page, which answers
    assert "dispute team" in response.content.decode()


def test_signed_out_admin_goes_to_the_sites_sign_in_with_where_to_go_next(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert follow.status_code == 302 and follow["Location"].startswith("/accounts/login/?next=")
