"""Write and upload limits, the Content-Security-Policy, the API docs, and the demo seeder."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accounts.models import User
from messaging.models import Message
from messaging.photos import PixelBudget
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in
from tests.factories import UserFactory, make_order
from tests.messaging.images import jpeg_bytes

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def low_limits(settings):
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    rates.update(messages="3/hour", evidence="2/hour", dispute_open="2/hour", extension="2/hour")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates  # read once at import by DRF
    yield
    SimpleRateThrottle.THROTTLE_RATES = original


def photo():
    return SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")


def test_messages_with_photos_past_the_limit_get_429_in_the_error_shape(world, low_limits):
    order = make_order(buyer=world.alice, store=world.carols, number="L-1", shipped_at=SHIPPED)
    client = api_as(world.alice)
    for _ in range(3):
        assert (
            client.post(f"/api/orders/{order.number}/messages/", {"body": "hi", "images": [photo()]}).status_code == 201
        )
    refused = client.post(f"/api/orders/{order.number}/messages/", {"body": "hi", "images": [photo()]})
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_requests" and "available in" in refused.json()["detail"]
    assert Message.objects.count() == 3
    # Another user is not held back by alice's limit, and reading is never limited.
    assert api_as(world.carol).post(f"/api/orders/{order.number}/messages/", {"body": "ok"}).status_code == 201
    assert client.get(f"/api/orders/{order.number}/messages/").status_code == 200


def test_evidence_and_dispute_openings_are_limited_on_the_pages_too(client, world, low_limits):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "escalated")
        client.force_login(world.alice)
        for _ in range(2):
            client.post(f"/disputes/{dispute.pk}/evidence/", {"evidence-note": "more"})
        page = client.post(f"/disputes/{dispute.pk}/evidence/", {"evidence-note": "more"})
        assert page.status_code == 429 and "try again in" in page.content.decode()
        # Opening a dispute from the order page: two tries an hour (the first opens it, the second is
        # refused as a dispute that exists), then the limit.
        make_order(buyer=world.alice, store=world.carols, number="L-2", shipped_at=SHIPPED)
        form = {"item_received": "no", "reason": "not_received", "refund_type": "full", "return_item": "no",
                "description": "Never came.", "why_unresolved": "No answer."}  # fmt: skip
        assert client.post("/orders/L-2/dispute/new/", form).status_code == 302
        assert client.post("/orders/L-2/dispute/new/", form).status_code == 400
        page = client.post("/orders/L-2/dispute/new/", form)
    assert page.status_code == 429 and "try again in" in page.content.decode()


def test_photo_decoding_holds_a_bounded_number_of_pixels_at_once():
    budget = PixelBudget(capacity=100, wait_seconds=5)
    order: list[str] = []

    def work(name: str, pixels: int, hold: float) -> None:
        with budget.hold(pixels):
            order.append(f"{name}+")
            assert budget.in_flight <= 100 or budget.in_flight == pixels
            time.sleep(hold)
            order.append(f"{name}-")

    first = threading.Thread(target=work, args=("a", 80, 0.2))
    first.start()
    time.sleep(0.05)
    second = threading.Thread(target=work, args=("b", 50, 0))
    second.start()
    first.join()
    second.join()
    assert order == ["a+", "a-", "b+", "b-"]  # b waited until a's pixels were released
    with budget.hold(500):  # one photo over the budget still runs, alone
        assert budget.in_flight == 500


PAGES = {
    "alice": ["/orders/", "/disputes/", "/notifications/", "/messages/unread/", "/accounts/two-step/"],
    "carol": ["/seller/orders/", "/seller/inbox/", "/seller/policy/"],
    "erin": ["/admin/", "/admin/disputes/reviewqueueitem/", "/admin/disputes/reviewqueueitem/dashboard/"],
}


def test_every_page_sends_the_content_security_policy(client, world):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "escalated")
    pages = {name: [*paths] for name, paths in PAGES.items()}
    pages["alice"] += [f"/disputes/{dispute.pk}/", f"/orders/{dispute.order.number}/"]
    pages["erin"] += [f"/admin/disputes/reviewqueueitem/{dispute.pk}/review/"]
    for username, paths in pages.items():
        client.force_login(User.objects.get(username=username))
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (username, path, response.status_code)
            policy = response["Content-Security-Policy"]
            assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
            assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, path
            # Django names a nonce in the header only when the page used one.
            nonce = policy.split("'nonce-")[1].split("'")[0] if "'nonce-" in policy else None
            body = response.content.decode()
            for tag in ("<script", "<style"):
                for chunk in body.split(tag)[1:]:
                    opening = chunk.split(">", 1)[0]
                    assert "src=" in opening or (nonce and f'nonce="{nonce}"' in opening), (path, tag, opening)
            assert ' style="' not in body, path
    client.logout()
    assert "default-src 'self'" in client.get("/accounts/login/")["Content-Security-Policy"]


def test_the_api_docs_need_a_sign_in_when_not_public(client, world, settings):
    settings.API_DOCS_PUBLIC = False
    assert api_as(None).get("/api/schema/").status_code == 401
    assert api_as(None).get("/api/docs/").status_code == 401
    assert api_as(world.alice).get("/api/schema/").status_code == 200


def test_seed_demo_refuses_production_settings_whatever_debug_and_demo_data_say():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x7" * 30 + "-a-long-random-secret-for-the-check",
        "ALLOWED_HOSTS": "disputes.example.com",
        "DEBUG": "true",
        "DEMO_DATA": "true",
        "EMAIL_URL": "smtp+tls://mailer:secret@mail.example.com:587",
        "SITE_URL": "https://desk.example.com",
    }
    result = subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.returncode != 0 and "refuses to run under production settings" in result.stderr


def test_seed_demo_follows_demo_data_not_debug(settings):
    from django.apps import apps

    from orders.reference import seed_reference_data

    seed_reference_data(apps)
    settings.DEBUG, settings.DEMO_DATA = True, False
    with pytest.raises(CommandError, match="unless DEMO_DATA is on"):
        call_command("seed_demo")
    assert not User.objects.exists()
    settings.DEBUG, settings.DEMO_DATA = False, True  # `make run`: DEBUG off, the demo loads
    call_command("seed_demo")
    assert User.objects.filter(username="alice").exists()


def test_the_local_settings_turn_demo_data_on_and_debug_off_by_default():
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DEMO_DATA", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    code = "from django.conf import settings as s; print(s.DEBUG, s.DEMO_DATA)"
    shown = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert shown.stdout.split()[-2:] == ["False", "True"], shown.stderr
    env["DEBUG"] = "true"  # the developers' switch (make run DEBUG=true)
    shown = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert shown.stdout.split()[-2:] == ["True", "True"], shown.stderr


def test_seed_demo_refuses_a_database_with_real_users_and_never_resets_a_password(settings):
    settings.DEMO_DATA = True
    from django.apps import apps

    from orders.reference import seed_reference_data

    seed_reference_data(apps)
    call_command("seed_demo")  # an empty database: fine
    alice = User.objects.get(username="alice")
    alice.set_password("alices-own-secret")
    alice.save()
    call_command("seed_demo")  # again: nobody's password changes
    alice.refresh_from_db()
    assert alice.check_password("alices-own-secret")
    UserFactory(username="a-real-customer")
    with pytest.raises(CommandError, match="did not create"):
        call_command("seed_demo")
