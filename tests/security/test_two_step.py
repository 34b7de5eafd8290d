"""Two-step sign-in: required of the dispute team (as in production settings), optional for others,
asked at every door: the page, admin and the API token endpoint."""

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(settings):
    settings.TWO_STEP_REQUIRED_FOR_TEAM = True


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def code_for(device: TOTPDevice) -> str:
    """The code the app shows now. A code is accepted once: the next use waits for the next one."""
    time_machine_now = datetime.now(UTC)
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time_machine_now.timestamp()
    return f"{totp.token():06d}"


def set_up(client, user) -> tuple[TOTPDevice, list[str]]:
    """What a person does on /accounts/two-step/: start, scan, confirm with the first code."""
    client.force_login(user)
    client.post("/accounts/two-step/", {"step": "start"})
    page = client.get("/accounts/two-step/").content.decode()
    assert "<svg" in page and "Scan this code" in page
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", page).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    done = client.post("/accounts/two-step/", {"step": "confirm", "code": code_for(device)})
    codes = re.findall(r"<li><code>([0-9a-f]+)</code></li>", done.content.decode())
    assert len(codes) == 10
    client.logout()
    device.refresh_from_db()
    return device, codes


def test_a_team_member_without_an_authenticator_reaches_only_the_setup_page(client, world, required):
    client.post("/accounts/login/", {"username": "erin", "password": "demo"})
    admin = client.get("/admin/")
    assert admin.status_code == 302 and admin["Location"].startswith("/accounts/two-step/")
    assert client.get("/orders/").status_code == 302
    refused = api_as(None).post("/api/auth/token/", {"username": "erin", "password": "demo"}, format="json")
    assert refused.status_code == 401 and refused.json()["code"] == "otp_required"


def test_with_an_authenticator_every_door_asks_for_the_code(client, world, required, clock):
    device, backup_codes = set_up(client, world.erin)
    # The page (and so admin): the password, then the code.
    step_one = client.post("/accounts/login/?next=/admin/", {"username": "erin", "password": "demo", "next": "/admin/"})
    assert step_one.status_code == 302 and step_one["Location"] == "/accounts/login/code/"
    assert client.get("/admin/").status_code == 302  # not signed in yet
    wrong = client.post("/accounts/login/code/", {"code": "000000"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    clock.shift(timedelta(seconds=30))
    right = client.post("/accounts/login/code/", {"code": code_for(device)})
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # The API token door: 401 otp_required without the code, a token with it.
    api = api_as(None)
    no_code = api.post("/api/auth/token/", {"username": "erin", "password": "demo"}, format="json")
    assert no_code.status_code == 401 and no_code.json()["code"] == "otp_required"
    bad = api.post("/api/auth/token/", {"username": "erin", "password": "demo", "otp": "123"}, format="json")
    assert bad.status_code == 401 and bad.json()["code"] == "otp_invalid"
    clock.shift(timedelta(seconds=5))  # django-otp itself also slows down guesses after a wrong code
    good = api.post("/api/auth/token/", {"username": "erin", "password": "demo", "otp": backup_codes[0]},
                    format="json")  # fmt: skip
    assert good.status_code == 200 and good.json()["token"]
    # A backup code works once.
    assert not StaticToken.objects.filter(token=backup_codes[0]).exists()


def test_a_team_member_cannot_turn_it_off_while_the_team_must_use_it(client, world, required):
    device, _codes = set_up(client, world.erin)
    client.force_login(world.erin)
    refused = client.post("/accounts/two-step/", {"step": "off", "code": code_for(device)})
    assert refused.status_code == 400 and TOTPDevice.objects.filter(user=world.erin, confirmed=True).exists()


def test_a_buyer_may_turn_it_on_and_then_the_password_alone_is_not_enough(client, world, clock):
    device, _codes = set_up(client, world.alice)
    client.post("/accounts/login/", {"username": "alice", "password": "demo"})
    assert "_auth_user_id" not in client.session
    no_code = api_as(None).post("/api/auth/token/", {"username": "alice", "password": "demo"}, format="json")
    assert no_code.status_code == 401 and no_code.json()["code"] == "otp_required"
    client.force_login(world.alice)
    clock.shift(timedelta(seconds=30))
    assert client.post("/accounts/two-step/", {"step": "off", "code": code_for(device)}).status_code == 302
    assert (
        api_as(None).post("/api/auth/token/", {"username": "alice", "password": "demo"}, format="json").status_code
        == 200
    )


def test_wrong_codes_are_throttled_like_wrong_passwords(client, world, required):
    set_up(client, world.erin)
    client.post("/accounts/login/", {"username": "erin", "password": "demo"})
    for _ in range(5):
        client.post("/accounts/login/code/", {"code": "000000"})
    assert client.post("/accounts/login/code/", {"code": "000000"}).status_code == 429


def test_production_settings_require_two_step_for_the_team_and_hide_the_docs():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x7" * 30 + "-a-long-random-secret-for-the-check",
        "ALLOWED_HOSTS": "disputes.example.com",
        "EMAIL_URL": "smtp+tls://mailer:secret@mail.example.com:587",
        "SITE_URL": "https://desk.example.com",
        "TWO_STEP_REQUIRED_FOR_TEAM": "false",  # an operator cannot turn it off in production
    }
    script = (
        "from django.conf import settings as s; "
        "print(s.TWO_STEP_REQUIRED_FOR_TEAM, s.API_DOCS_PUBLIC, s.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES'])"
    )
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], env=env, capture_output=True,
                            text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "True False ['rest_framework.renderers.JSONRenderer']", (
        result.stderr
    )


def test_a_session_with_only_the_password_reaches_no_api_and_no_admin(client, world, required):
    client.post("/accounts/login/", {"username": "erin", "password": "demo"})  # no authenticator yet
    refused = client.get("/api/disputes/")
    assert refused.status_code == 401 and refused.json()["code"] == "otp_required"
    admin = client.get("/admin/disputes/reviewqueueitem/")
    assert admin.status_code == 302 and admin["Location"].startswith("/accounts/two-step/")


def test_every_staff_account_must_use_two_step_not_only_the_team(client, world, required):
    from tests.factories import UserFactory

    UserFactory(username="root", is_staff=True, is_superuser=True)
    client.post("/accounts/login/", {"username": "root", "password": "demo"})
    admin = client.get("/admin/")
    assert admin.status_code == 302 and admin["Location"].startswith("/accounts/two-step/")


def test_the_password_step_alone_neither_knows_the_address_nor_forgets_failures(client, world, clock):
    from accounts.models import KnownAddress, SignInFailure

    set_up(client, world.alice)
    KnownAddress.objects.all().delete()
    client.post("/accounts/login/", {"username": "alice", "password": "demo"})
    client.post("/accounts/login/code/", {"code": "000000"})
    client.post("/accounts/login/", {"username": "alice", "password": "demo"})  # the password again
    assert not KnownAddress.objects.exists()
    assert SignInFailure.objects.count() == 1  # the wrong code still counts


def test_while_django_otp_makes_codes_wait_the_page_says_so(client, world, clock):
    device, _codes = set_up(client, world.alice)
    client.post("/accounts/login/", {"username": "alice", "password": "demo"})
    clock.shift(timedelta(seconds=30))
    client.post("/accounts/login/code/", {"code": "000000"})
    waiting = client.post("/accounts/login/code/", {"code": code_for(device)})  # the right code, too soon
    assert waiting.status_code == 429 and "Wait 2 seconds" in waiting.content.decode()
    clock.shift(timedelta(seconds=2))
    assert client.post("/accounts/login/code/", {"code": code_for(device)}).status_code == 302
