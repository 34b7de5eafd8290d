"""API tokens: stored hashed, expiring, revoked by sign-out, a password change or a deactivation."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from knox.models import AuthToken

from tests.conftest import api_as

pytestmark = pytest.mark.django_db


def new_token(username="alice", password="demo") -> dict:
    response = api_as(None).post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def get_orders(key: str):
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/orders/")


def test_a_token_works_says_when_it_expires_and_is_stored_only_hashed(world, settings):
    body = new_token()
    assert get_orders(body["token"]).status_code == 200
    stored = AuthToken.objects.get(user=world.alice)
    assert body["token"] not in (stored.digest, stored.token_key) and len(stored.token_key) < len(body["token"])
    assert abs(stored.expiry - (timezone.now() + timedelta(days=settings.API_TOKEN_DAYS))) < timedelta(minutes=1)
    assert body["expires"].startswith(str(stored.expiry.date()))


def test_an_expired_token_is_401(world):
    body = new_token()
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        response = get_orders(body["token"])
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_an_expired_token_is_deleted_when_used_and_the_sweep_deletes_the_rest(world):
    from disputes.tasks import run_all_sweeps

    used, _unused = new_token(), new_token()
    later = timezone.now() + timedelta(days=31)
    with time_machine.travel(later):
        assert get_orders(used["token"]).status_code == 401
        assert AuthToken.objects.filter(user=world.alice).count() == 1  # the one used is gone
        assert run_all_sweeps(now=later)["api_tokens_expired"] == 1
    assert not AuthToken.objects.exists()


def test_a_token_of_someone_with_two_step_is_refused_until_they_have_a_device(world, settings):
    """The token's one query also says whether its user has a two-step device (the team must)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.TWO_STEP_REQUIRED_FOR_TEAM = True
    _instance, key = AuthToken.objects.create(world.erin)
    assert get_orders(key).status_code == 401
    TOTPDevice.objects.create(user=world.erin, name="phone", confirmed=True)
    assert get_orders(key).status_code == 200


def test_logout_revokes_the_callers_token_only(world):
    first, second = new_token(), new_token()
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {first['token']}")
    assert client.post("/api/auth/logout/").status_code == 204
    assert get_orders(first["token"]).status_code == 401
    assert get_orders(second["token"]).status_code == 200


def test_a_password_change_or_a_deactivation_revokes_every_token(world):
    body = new_token()
    world.alice.set_password("a-new-long-passphrase")
    world.alice.save()
    assert get_orders(body["token"]).status_code == 401
    body = new_token("bob")
    world.bob.is_active = False
    world.bob.save()
    assert get_orders(body["token"]).status_code == 401
    assert not AuthToken.objects.filter(user__in=[world.alice, world.bob]).exists()


def test_a_made_up_or_malformed_token_is_401(world):
    assert get_orders("0" * 64).status_code == 401
    assert get_orders("not a token").status_code == 401
