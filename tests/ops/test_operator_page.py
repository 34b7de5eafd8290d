"""The operator's page in admin: superusers see readiness, the sweeps, the queue, the disputes that
need a person and the last reconciliation; the dispute team and everyone else are refused."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone

from core.heartbeat import SWEEPS, beat
from disputes.models import Dispute
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGE = "/admin/operator/"
LATER = OPEN_AT + timedelta(days=6)  # the seller's five days to answer have run out


@pytest.fixture
def superuser():
    return UserFactory(username="root-operator", is_staff=True, is_superuser=True)


@pytest.fixture
def placeholders(monkeypatch):
    """What the other parts of the page report, set per test: the queue depth and the last run."""
    found = SimpleNamespace(depth=None, run=None)
    monkeypatch.setattr("core.metrics.queue_depth", lambda: found.depth)
    monkeypatch.setattr("disputes.reconcile.last_run", lambda: found.run)
    return found


def page(client, user) -> str:
    client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


def test_a_superuser_sees_readiness_sweeps_queue_and_the_disputes_that_need_a_person(
    client, world, superuser, placeholders
):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "awaiting_seller", number="OP-1")  # the seller's five days run out before LATER
        stuck = dispute_in(world, "awaiting_seller", number="OP-2")
    with time_machine.travel(LATER, tick=False):
        Dispute.objects.filter(pk=stuck.pk).update(set_aside_at=timezone.now(), set_aside_reason="The refund failed.")
        beat(SWEEPS, at=timezone.now() - timedelta(seconds=42))
        html = page(client, superuser)
    # The same checks as /readyz, by name.
    for label in ("Database", "Migrations", "Redis cache", "Celery broker", "Media storage", "Beat heartbeat"):
        assert f'<th scope="row">{label}</th>' in html
    assert "42 s ago" in html
    # One clock overdue (the set-aside dispute is the team's now, not the sweep's), a day old.
    assert "<strong>1</strong>clocks overdue" in html
    assert "(1\xa0day ago)" in html  # timesince joins with a no-break space
    # Set aside: counted, listed with its reason, linked.
    assert "1 dispute set aside" in html
    assert "The refund failed." in html
    assert f"/admin/disputes/dispute/{stuck.pk}/change/" in html
    assert "/admin/disputes/dispute/?needs_person=yes" in html
    # The queue depth and the reconciliation, before either is known.
    assert "<strong>unknown</strong>tasks waiting in the Celery queue" in html
    assert "Never run." in html


def test_the_queue_depth_and_the_last_reconciliation_show_when_known(client, superuser, placeholders):
    placeholders.depth = 7
    placeholders.run = SimpleNamespace(at=timezone.now(), ok=False, mismatches=3, report="3 refunds disagree.")
    html = page(client, superuser)
    assert "7 tasks waiting" in html
    assert "3 mismatches" in html
    assert "3 refunds disagree." in html
    # A dict will do, and a missing field is shown as unknown rather than failing the page.
    placeholders.run = {"at": timezone.now(), "mismatches": 0}
    html = page(client, superuser)
    assert "no mismatch" in html


def test_the_set_aside_filter_lists_only_the_disputes_that_need_a_person(client, world, superuser):
    with time_machine.travel(OPEN_AT, tick=False):
        fine = dispute_in(world, "awaiting_seller", number="OP-1")
        stuck = dispute_in(world, "awaiting_seller", number="OP-2")
    Dispute.objects.filter(pk=stuck.pk).update(set_aside_at=timezone.now())
    client.force_login(superuser)
    response = client.get("/admin/disputes/dispute/?needs_person=yes")
    assert response.status_code == 200
    assert [d.pk for d in response.context["cl"].result_list] == [stuck.pk]
    assert fine.pk != stuck.pk


def test_the_admin_index_links_the_page_for_superusers_only(client, world, superuser):
    client.force_login(superuser)
    assert PAGE in client.get("/admin/").content.decode()
    client.force_login(world.erin)
    index = client.get("/admin/")
    assert index.status_code == 200
    assert PAGE not in index.content.decode()


def test_the_dispute_team_is_refused(client, world):
    client.force_login(world.erin)  # staff, in the team, not a superuser
    assert client.get(PAGE).status_code == 403


def test_a_person_who_is_not_staff_is_sent_to_sign_in(client, world):
    client.force_login(world.alice)
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={PAGE}"
