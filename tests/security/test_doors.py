"""Password guessing, from outside, at each of the three doors that check a password: the sign-in
page, admin (which signs in through the same page) and the API token endpoint."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import SignInFailure
from accounts.throttle import forget_old_failures
from tests.conftest import api_as

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ATTACKER = "203.0.113.66"
OWNER_HOME = "198.51.100.7"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def page_sign_in(client, username, password, address=ATTACKER, **headers):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address,
                       **headers)  # fmt: skip


def token(username, password, address=ATTACKER, **headers):
    return api_as(None).post("/api/auth/token/", {"username": username, "password": password}, format="json",
                             REMOTE_ADDR=address, **headers)  # fmt: skip


def test_the_page_answers_429_with_when_to_retry_after_five_wrong_passwords_from_one_place(client, world, clock):
    for _ in range(5):
        assert page_sign_in(client, "alice", "guess").status_code == 200
    refused = page_sign_in(client, "alice", "demo")  # even the right password is not checked now
    assert refused.status_code == 429
    assert (
        "Too many failed sign-ins" in refused.content.decode() and "Try again in 1 minutes" in refused.content.decode()
    )
    assert "_auth_user_id" not in client.session
    clock.shift(timedelta(seconds=31))
    assert page_sign_in(client, "alice", "demo").status_code == 302


def test_each_further_failure_doubles_the_wait_up_to_the_cap(world, clock):
    waits = []
    for _ in range(12):
        token("erin", "guess")
        refused = token("erin", "guess")
        if refused.status_code == 429:
            waits.append(int(refused["Retry-After"]))
            clock.shift(timedelta(seconds=int(refused["Retry-After"])))
    assert waits[:4] == sorted(waits[:4]) and waits[1] >= 2 * waits[0] - 2
    assert max(waits) <= 901  # never a lock for good: at most the 15-minute cap


def test_the_admin_door_is_the_page_door_and_is_throttled_the_same(client, world, clock):
    redirect = client.get("/admin/login/?next=/admin/")
    assert redirect.status_code == 302 and redirect["Location"].startswith("/accounts/login/?next=/admin/")
    for _ in range(5):
        page_sign_in(client, "erin", "guess")
    assert page_sign_in(client, "erin", "demo").status_code == 429


def test_the_api_token_door_is_throttled_and_refusals_are_audited(world, clock, caplog):
    for _ in range(5):
        assert token("alice", "guess").status_code == 400
    with caplog.at_level(logging.INFO, logger="dispute_desk.audit"):
        refused = token("alice", "demo")
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_requests" and "Try again in" in refused.json()["detail"]
    refusals = [r for r in caplog.records if r.getMessage() == "signin.refused"]
    assert [(r.audit["door"], r.audit["username"]) for r in refusals] == [("api", "alice")]


def test_many_addresses_guessing_one_account_delay_only_addresses_that_never_signed_in_to_it(client, world, clock):
    assert page_sign_in(client, "alice", "demo", address=OWNER_HOME).status_code == 302  # alice at home, once
    client.logout()
    for n in range(12):  # a botnet, two guesses per address: no single address reaches its own limit
        token("alice", "guess", address=f"192.0.2.{n // 2}")
    assert token("alice", "demo", address="192.0.2.200").status_code == 429  # a new place waits
    # The owner, from a place she has signed in from before, is not delayed.
    assert page_sign_in(client, "alice", "demo", address=OWNER_HOME).status_code == 302
    assert token("alice", "demo", address=OWNER_HOME).status_code == 200


def test_one_place_trying_many_accounts_is_slowed_down_for_all_of_them(world, clock, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 8
    for n in range(8):
        token(f"someone{n}", "guess")
    assert token("bob", "demo").status_code == 429
    assert token("bob", "demo", address="198.51.100.99").status_code == 200


def test_a_spoofed_forwarded_for_header_is_ignored_without_a_trusted_proxy(world, clock):
    for n in range(5):
        token("alice", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")  # "a new address" each time
    assert token("alice", "demo", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429
    assert set(SignInFailure.objects.values_list("address", flat=True)) == {ATTACKER}


def test_behind_one_trusted_proxy_the_address_it_saw_counts_not_what_the_client_wrote(world, clock, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.1.1.1"
    for n in range(5):  # the client writes a fake first hop; our proxy appends the real address
        token("alice", "guess", address=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, {ATTACKER}")
    assert token("alice", "demo", address=proxy, HTTP_X_FORWARDED_FOR=f"9.9.9.9, {ATTACKER}").status_code == 429
    # Another client behind the same proxy is not the attacker.
    assert token("alice", "demo", address=proxy, HTTP_X_FORWARDED_FOR=OWNER_HOME).status_code == 200


def test_a_cached_drf_throttle_keys_on_the_same_address(world, settings):
    from rest_framework.settings import api_settings

    assert api_settings.NUM_PROXIES == settings.TRUSTED_PROXY_COUNT == 0  # None would believe any header


def test_old_failures_are_forgotten_by_the_sweep(world, clock):
    for _ in range(3):
        token("alice", "guess")
    clock.shift(timedelta(minutes=16))
    assert forget_old_failures() == 3 and not SignInFailure.objects.exists()


def test_parallel_guesses_cannot_slip_under_the_limit(world, clock, transactional_db):
    """Each attempt is written before its password is checked, so racing requests see each other."""
    import threading

    from django.db import connection

    results: list[int] = []

    def guess(n: int) -> None:
        try:
            results.append(token("dave", f"guess{n}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(400) <= 5 + 1 and results.count(429) >= 6, results
    assert SignInFailure.objects.count() <= 6


def test_a_blank_password_or_username_is_a_form_message_not_an_error(client, world):
    for body in ({"username": "alice"}, {"password": "demo"}, {"username": "alice", "password": ""}):
        response = client.post("/accounts/login/", body)
        assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not SignInFailure.objects.exists()


def test_a_garbled_token_or_a_nul_in_an_order_number_is_refused_not_a_crash(world):
    client = api_as(None)
    client.credentials(HTTP_AUTHORIZATION="Token \xe9\xe9".encode("latin-1").decode("latin-1"))
    assert client.get("/api/orders/").status_code == 401
    alice = api_as(world.alice)
    assert alice.get("/api/orders/%00/").status_code == 404
    assert alice.get("/api/orders/%00/messages/").status_code == 404


def test_a_request_django_refuses_early_answers_in_the_api_error_shape(world, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.disputes.helpers import SHIPPED
    from tests.factories import make_order

    order = make_order(buyer=world.alice, store=world.carols, number="B-1", shipped_at=SHIPPED)
    files = [SimpleUploadedFile(f"{n}.jpg", b"x", content_type="image/jpeg") for n in range(3)]
    response = api_as(world.alice).post(f"/api/orders/{order.number}/messages/", {"images": files})
    # docs/rules.md: refused before any view (too many file parts) is 400 bad_request.
    assert response.status_code == 400 and response.json()["code"] == "bad_request"
    assert response.json()["detail"]
