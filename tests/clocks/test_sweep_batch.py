"""The sweep acts on a chunk of due disputes together (disputes/writes.py, GatheredWrites). What it writes must be
exactly what acting on each dispute alone writes; its cost must not grow with the rows; a row
that fails must not hold up the others."""

import logging
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from disputes.engine import catch_up
from disputes.models import Dispute, DisputeEvent, Refund
from disputes.services import dispute_act_by
from disputes.sweeps import sweep_clocks
from notifications import services as notification_services
from notifications.models import Notification
from notifications.render import render
from orders.models import Order
from tests.disputes.helpers import OPEN_AT, dispute_in, open_dispute

pytestmark = pytest.mark.django_db
LATER = OPEN_AT + timedelta(days=16)  # every answer, return and escalation clock has run out


def one_of_each_clock(world) -> list[Dispute]:
    """A due dispute for every clock the sweep runs, reached through the real services."""
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        disputes = [
            dispute_in(world, "awaiting_seller", number="C-1"),  # seller silence: full refund
            open_dispute(world, number="C-2", return_item=True),  # seller silence: the item goes back first
            dispute_in(world, "awaiting_buyer", number="C-3"),  # buyer silence: the seller's 30.00 offer
            dispute_in(world, "awaiting_return", number="C-5"),  # return not shipped
            dispute_in(world, "return_in_transit", number="C-6"),  # return not confirmed: refund
            dispute_in(world, "escalated", number="C-7"),  # not a party's clock: left alone
        ]
        rejected = open_dispute(world, number="C-4")
        disputes.append(dispute_act_by(user=world.carol, dispute=rejected, action="reject", note="Delivered."))
        negotiating = open_dispute(world, number="C-8")  # still talking on day 15: escalates
        for day, who in ((4, world.carol), (8, world.alice), (12, world.carol)):
            traveller.move_to(OPEN_AT + timedelta(days=day))
            amount = Decimal("40.00") + day
            negotiating = dispute_act_by(user=who, dispute=negotiating, action="propose", refund_amount=amount)
        disputes.append(negotiating)
    return disputes


def written() -> dict:
    """Everything the clocks write, with database ids replaced by what they stand for."""
    events = {event.pk: f"{event.dispute.order.number}/{event.action}" for event in DisputeEvent.objects.all()}
    fields = [f.attname for f in Dispute._meta.concrete_fields if f.attname not in ("id", "updated_at")]
    disputes = Dispute.objects.select_related("order")
    return {
        "disputes": {d.order.number: {f: getattr(d, f) for f in fields} for d in disputes},
        "events": sorted(
            (
                e.dispute.order.number,
                e.action,
                e.actor_party,
                e.from_state,
                e.to_state,
                sorted(e.payload.items()),
                e.created_at,
            )
            for e in DisputeEvent.objects.select_related("dispute__order")
        ),
        "refunds": sorted(
            (r.order.number, r.resolution_number, r.amount, r.currency, r.cause, r.gateway_reference)
            for r in Refund.objects.select_related("order")
        ),
        "orders": sorted(Order.objects.values_list("number", "status")),
        "notifications": sorted(
            (
                n.recipient.username,
                n.kind,
                sorted((n.params or {}).items()),
                n.url,
                re.sub(r":event:(\d+):", lambda m: f":event:{events[int(m[1])]}:", n.dedupe_key),
            )
            for n in Notification.objects.select_related("recipient")
        ),
    }


@pytest.fixture
def no_fallback(caplog):
    """The chunk must go through together: the row-by-row fallback would write the same."""
    with caplog.at_level(logging.INFO, logger="dispute_desk.sweeps"):
        yield
    assert "acting one at a time" not in caplog.text


def test_a_chunk_writes_exactly_what_acting_on_each_dispute_alone_writes(world, no_fallback):
    disputes = one_of_each_clock(world)
    with time_machine.travel(LATER, tick=False):
        with transaction.atomic():
            for dispute in disputes:
                catch_up(dispute.pk, now=LATER)
            alone = written()
            transaction.set_rollback(True)
        acted = sweep_clocks(now=LATER)
    together = written()
    assert acted == 7  # all but the escalated one
    assert together == alone
    states = {number: row["state"] for number, row in together["disputes"].items()}
    assert states == {
        "C-1": "resolved", "C-2": "awaiting_return", "C-3": "resolved", "C-4": "resolved",
        "C-5": "resolved", "C-6": "resolved", "C-7": "escalated", "C-8": "escalated",
    }  # fmt: skip
    assert len(together["refunds"]) == 3  # C-1 in full, C-3's 30.00 offer, C-6's return


def test_the_sweep_makes_the_same_number_of_queries_for_three_due_disputes_or_twelve(world, no_fallback):
    def queries_to_sweep(count: int, prefix: str) -> int:
        with time_machine.travel(OPEN_AT, tick=False):
            due = [dispute_in(world, "awaiting_seller", number=f"{prefix}-{i}") for i in range(count)]
        with CaptureQueriesContext(connection) as queries, time_machine.travel(LATER, tick=False):
            assert sweep_clocks(now=LATER) == count
        assert all(d.state == "resolved" for d in Dispute.objects.filter(pk__in=[d.pk for d in due]))
        return len(queries)

    assert queries_to_sweep(3, "Q") == queries_to_sweep(12, "R")


class GatewayDownFor:
    """A payment provider that refuses every refund for one order (a real outage, a frozen account)."""

    name = "flaky"
    order_number = "F-2"

    def refund(self, *, order, amount, currency, reference):
        if order.number == self.order_number:
            raise ConnectionError(f"the provider refused the refund for {order.number}")
        return f"ok-{reference}"


def test_a_row_that_fails_is_set_aside_and_the_rest_of_its_chunk_goes_ahead(world, caplog, settings):
    settings.PAYMENT_GATEWAY = "tests.clocks.test_sweep_batch.GatewayDownFor"
    with time_machine.travel(OPEN_AT, tick=False):
        due = [dispute_in(world, "awaiting_seller", number=f"F-{i}") for i in range(4)]
    with caplog.at_level(logging.INFO, logger="dispute_desk.sweeps"):
        acted = sweep_clocks(now=LATER)
    assert acted == 3
    states = dict(Dispute.objects.values_list("order__number", "state"))
    assert states == {"F-0": "resolved", "F-1": "resolved", "F-2": "awaiting_seller", "F-3": "resolved"}
    failed = [r.dispute for r in caplog.records if r.getMessage().startswith("clock sweep failed for a dispute")]
    assert "acting one at a time" in caplog.text and failed == [due[2].pk]
    assert not DisputeEvent.objects.filter(dispute=due[2], action="seller_timeout").exists()
    assert not Refund.objects.filter(dispute=due[2]).exists()
    stuck = Dispute.objects.get(pk=due[2].pk)
    assert stuck.set_aside_at == LATER and "refused the refund" in stuck.set_aside_reason
    assert stuck.retry_at == LATER + timedelta(hours=1)
    alerts = Notification.objects.filter(kind="needs_person")
    assert list(alerts.values_list("recipient__username", flat=True)) == ["erin"]


@pytest.mark.django_db(transaction=True)
def test_a_chunks_notifications_are_delivered_once_by_one_task(world, monkeypatch, no_fallback):
    with time_machine.travel(OPEN_AT, tick=False):
        for i in range(3):
            dispute_in(world, "awaiting_seller", number=f"N-{i}")
    Notification.objects.update(delivered_at=OPEN_AT)  # the openings' notices went out already
    mail.outbox.clear()
    published = []
    real_enqueue = notification_services.enqueue
    monkeypatch.setattr(
        notification_services, "enqueue", lambda task, *args: published.append(task.name) or real_enqueue(task, *args)
    )
    with time_machine.travel(LATER, tick=False):
        assert sweep_clocks(now=LATER) == 3
    assert published == ["messaging.tasks.deliver_notifications"]
    notes = Notification.objects.filter(created_at__gte=LATER)
    assert notes.count() == 9  # resolved to both sides and refunded to the buyer, for each
    assert not notes.filter(delivered_at__isnull=True).exists()
    assert len(mail.outbox) == 9


@pytest.mark.django_db(transaction=True)
def test_a_delivery_task_out_of_time_hands_back_the_rest_and_sends_nothing_twice(world, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from notifications import delivery as notifications
    from notifications.tasks import deliver_notifications

    with time_machine.travel(OPEN_AT, tick=False):
        for i in range(3):
            dispute_in(world, "awaiting_seller", number=f"T-{i}")
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 3
    Notification.objects.update(delivered_at=None)  # as if their own tasks were lost
    mail.outbox.clear()
    real_send, calls = notifications.send_mail, []

    def slow_then_fine(**kwargs):  # the second email is where the task's soft time limit strikes
        calls.append(kwargs["subject"])
        if len(calls) == 2:
            raise SoftTimeLimitExceeded()
        return real_send(**kwargs)

    monkeypatch.setattr(notifications, "send_mail", slow_then_fine)
    deliver_notifications.apply(args=[ids], throw=False)  # eager: the retry runs straight away
    first, second, third = [render(n).title for n in Notification.objects.filter(pk__in=ids).order_by("pk")]
    # It stops where time ran out (the third is not tried on borrowed time); the retry goes on
    # from there and does not send the first again.
    assert calls == [first, second, second, third]
    assert len(mail.outbox) == 3
    assert not Notification.objects.filter(pk__in=ids, delivered_at__isnull=True).exists()


def test_a_sweep_out_of_task_time_stops_at_once_and_leaves_its_chunk_whole(world, monkeypatch, no_fallback):
    from celery.exceptions import SoftTimeLimitExceeded

    from disputes import sweeps

    with time_machine.travel(OPEN_AT, tick=False):
        due = [dispute_in(world, "awaiting_seller", number=f"L-{i}") for i in range(3)]
    real_run_clocks, seen = sweeps.run_clocks, []

    def time_runs_out_on_the_second(dispute, *, now, writes):
        seen.append(dispute.pk)
        if len(seen) == 2:
            raise SoftTimeLimitExceeded()
        real_run_clocks(dispute, now=now, writes=writes)

    monkeypatch.setattr(sweeps, "run_clocks", time_runs_out_on_the_second)
    monkeypatch.setattr(sweeps, "catch_up", lambda *args, **kwargs: pytest.fail("no row-by-row retry on borrowed time"))
    with pytest.raises(SoftTimeLimitExceeded):
        sweep_clocks(now=LATER)
    assert seen == [due[0].pk, due[1].pk]
    # The chunk is undone as a whole, the first dispute's resolution with it; the next run does it all.
    assert set(Dispute.objects.filter(pk__in=[d.pk for d in due]).values_list("state", flat=True)) == {
        "awaiting_seller"
    }
    assert not Refund.objects.exists() and not DisputeEvent.objects.filter(action="seller_timeout").exists()
    monkeypatch.setattr(sweeps, "run_clocks", real_run_clocks)
    assert sweep_clocks(now=LATER) == 3


@pytest.mark.parametrize("script_prefix", ["/", "/desk/"])
def test_notice_links_are_the_dispute_pages_address(script_prefix):
    from django.urls import reverse, set_script_prefix

    from disputes.notices import _url

    set_script_prefix(script_prefix)
    try:
        for pk in (7, 10, 12345):
            assert _url(Dispute(pk=pk)) == reverse("disputes:detail", args=[pk])
    finally:
        set_script_prefix("/")
