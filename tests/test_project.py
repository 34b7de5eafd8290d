"""Project-level promises: production settings pass the deploy check, the schema builds, errors have one shape."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from orders.models import Order
from tests.conftest import api_as

ROOT = Path(__file__).resolve().parent.parent


def test_production_settings_pass_the_deploy_check():
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE is a test-only switch; a deployment has none.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x7" * 30 + "-a-long-random-secret-for-the-check",
        "ALLOWED_HOSTS": "disputes.example.com",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/dispute_desk"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"),
        "EMAIL_URL": "smtp+tls://mailer:secret@mail.example.com:587",
        "SITE_URL": "https://desk.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_a_missing_secret_key():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_malformed_environment_variable_fails_loudly():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DEBUG": "perhaps"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


@pytest.mark.django_db
def test_openapi_schema_builds_and_names_the_contract_paths(world):
    response = api_as(world.alice).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/auth/token/",
        "/api/orders/",
        "/api/orders/{number}/",
        "/api/orders/{number}/shipment/",
        "/api/orders/{number}/delivery/",
        "/api/orders/{number}/extension/",
        "/api/orders/{number}/extension/grant/",
        "/api/carriers/",
        "/api/sellers/{slug}/return-policy/",
    ]:
        assert path in paths, path


@pytest.mark.django_db
def test_api_docs_page_uses_no_cdn(client, world):
    client.force_login(world.alice)
    body = client.get("/api/docs/").content.decode()
    assert "swagger" in body.lower()
    assert "cdn.jsdelivr" not in body and "unpkg" not in body


@pytest.mark.django_db
def test_unknown_api_path_is_json_404_and_unknown_page_is_friendly(client, world):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    client.force_login(world.alice)
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "We could not find that page" in page.content.decode()


@pytest.mark.django_db
def test_seed_demo_refuses_unless_demo_data_is_on():
    with override_settings(DEMO_DATA=False), pytest.raises(CommandError, match="DEMO_DATA"):
        call_command("seed_demo")
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_seed_demo_covers_every_carrier_and_window_state_and_is_safe_twice(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with override_settings(DEMO_DATA=True):
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
        count = Order.objects.count()
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert Order.objects.count() == count
    states = {(o.carrier.code, o.dispute_window().state.value) for o in Order.objects.select_related("carrier")}
    for code in ["dhl", "tnt", "ups", "fedex", "japan_post_ems", "sf_express", "china_post", "hongkong_post"]:
        for state in ["not_yet_open", "open", "closed"]:
            assert (code, state) in states
    unshipped_open = [
        o for o in Order.objects.filter(shipped_at__isnull=True) if o.dispute_window().state.value == "open"
    ]
    assert unshipped_open, "an unshipped order past its ship-by date"
    from messaging.models import Message, Photo

    # Not doubled by the second run.
    assert Message.objects.count() == 4 and Photo.objects.filter(message__isnull=False).count() == 2
    from disputes.models import Dispute, State

    assert set(Dispute.objects.values_list("state", flat=True)) == set(State.values)  # every state to try
    buyers = set(Order.objects.values_list("buyer__username", flat=True))
    stores = set(Order.objects.values_list("store__slug", flat=True))
    assert buyers == {"alice", "bob"} and stores == {"carols-gadgets", "daves-outlet"}
