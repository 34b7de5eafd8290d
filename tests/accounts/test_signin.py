"""Signing in on the pages: failed attempts are limited per account and per network address."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
START = datetime(2026, 3, 10, 12, 0, 30, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def sign_in(client, username, password, address="198.51.100.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_ten_wrong_passwords_lock_the_account_even_against_the_right_one(client, world, clock):
    for _ in range(10):
        response = sign_in(client, "alice", "wrong")
        assert response.status_code == 200 and not signed_in(client)
    refused = sign_in(client, "alice", "demo")
    assert refused.status_code == 429 and not signed_in(client)
    # Ten failures in the window that began at 12:00: locked until the one after next, 12:30.
    page = refused.content.decode()
    assert "Too many failed sign-ins" in page and "Try again in 30 minutes" in page
    # The lock ends: after two windows the right password works again.
    clock.shift(timedelta(minutes=31))
    assert sign_in(client, "alice", "demo").status_code == 302 and signed_in(client)


def test_a_lock_ends_when_the_windows_holding_the_failures_have_passed(client, world, clock):
    clock.move_to(START + timedelta(minutes=10))  # 12:10:30, in the window from 12:00
    for _ in range(6):
        sign_in(client, "alice", "wrong")
    clock.move_to(START + timedelta(minutes=16))  # 12:16:30, in the window from 12:15
    for _ in range(4):
        sign_in(client, "alice", "wrong")
    refused = sign_in(client, "alice", "demo")
    assert refused.status_code == 429 and "Try again in 14 minutes" in refused.content.decode()
    clock.move_to(START + timedelta(minutes=30))  # 12:30:30: only the four from 12:16 still count
    assert sign_in(client, "alice", "demo").status_code == 302


def test_one_accounts_failures_do_not_lock_another_from_the_same_network(client, world, clock):
    for _ in range(10):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "bob", "demo").status_code == 302


def test_many_failures_from_one_address_lock_every_account_from_it_but_not_others(client, world, clock, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 5
    for i in range(5):
        sign_in(client, f"nobody-{i}", "guess")
    assert sign_in(client, "bob", "demo").status_code == 429
    assert sign_in(client, "bob", "demo", address="203.0.113.9").status_code == 302


def test_a_good_sign_in_forgets_the_accounts_earlier_failures(client, world, clock):
    for _ in range(9):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "demo").status_code == 302
    client.logout()
    for _ in range(9):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "demo").status_code == 302


def test_usernames_are_counted_whatever_their_case(client, world, clock):
    for i in range(10):
        sign_in(client, "ALICE" if i % 2 else "alice", "wrong")
    assert sign_in(client, "Alice", "demo").status_code == 429


def test_sign_in_still_works_when_the_cache_is_down(client, world, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache unavailable")

    for name in ("get_many", "add", "incr", "delete_many"):
        monkeypatch.setattr(cache, name, down)
    assert sign_in(client, "alice", "wrong").status_code == 200
    assert sign_in(client, "alice", "demo").status_code == 302


def test_an_inactive_user_is_told_nothing_more_than_a_wrong_password(client, reference_data):
    UserFactory(username="gone", is_active=False)
    assert not signed_in(client) and sign_in(client, "gone", "demo").status_code == 200
