"""A Celery worker killed with SIGKILL in the middle of a task: the broker gives the task back (after the
visibility timeout: 4 s here, an hour in production), a new worker runs it, and every clock has acted once,
every refund is in the ledger once, every email has gone out, and once, but for the one moment email
cannot cover (the last test)."""

from collections import Counter

import pytest
import time_machine

from disputes.models import Dispute, DisputeEvent, Refund
from disputes.tasks import run_sweeps
from notifications.delivery import message_id
from notifications.models import Notification
from notifications.tasks import deliver_notifications
from tests.chaos.mail_sink import sent
from tests.chaos.processes import paused, payments_asked, start_worker, wait_until
from tests.clocks.broker import broker
from tests.disputes.helpers import OPEN_AT, dispute_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LONG_AGO = OPEN_AT.replace(year=2000)


@pytest.fixture
def due(world) -> list[Dispute]:
    """Four disputes whose seller never answered, due on the real clock (the worker's)."""
    with time_machine.travel(OPEN_AT, tick=False):
        disputes = [dispute_in(world, "awaiting_seller", number=f"K-{i}") for i in range(4)]
    Dispute.objects.filter(pk__in=[d.pk for d in disputes]).update(respond_by=LONG_AGO)
    assert not Notification.objects.filter(delivered_at__isnull=True).exists()  # the openings' went out
    return disputes


@pytest.fixture
def undelivered(world) -> list[Notification]:
    """Three notifications whose delivery tasks were lost (the sellers hear of three disputes)."""
    with time_machine.travel(OPEN_AT, tick=False):
        for i in range(3):
            dispute_in(world, "awaiting_seller", number=f"M-{i}")
    notes = Notification.objects.order_by("pk")
    notes.update(delivered_at=None)
    return list(notes)


def start(name: str, private_redis, sink, logs, processes, *, pause: str = ""):
    worker = start_worker(name, redis_url=private_redis.url(), sink=sink, logs=logs, pause=pause)
    processes.append(worker)
    return worker


def publish(private_redis, task, *args) -> None:
    with broker(private_redis.url()):
        task.apply_async(args=args)


def assert_each_clock_ran_once_and_each_email_went_once(disputes, sink, worker):
    def all_resolved():
        return not Dispute.objects.filter(pk__in=[d.pk for d in disputes]).exclude(state="resolved").exists()

    wait_until(all_resolved, timeout=60, what="the second worker ran the sweep", log=worker.log)
    wait_until(
        lambda: not Notification.objects.filter(delivered_at__isnull=True).exists(),
        timeout=60,
        what="every notification delivered",
        log=worker.log,
    )
    for dispute in disputes:
        assert list(dispute.events.values_list("action", flat=True)) == ["open", "seller_timeout"]
        assert Refund.objects.filter(dispute=dispute).count() == 1
    notes = Notification.objects.exclude(kind="dispute_opened")  # the openings' went out before the sweep
    assert notes.count() == 3 * len(disputes)  # resolved, to each side, and refunded, to the buyer
    assert Counter(sent(sink)) == {message_id(note): 1 for note in notes}


def test_a_worker_killed_halfway_through_a_sweeps_chunk_leaves_nothing_and_the_next_runs_each_clock_once(
    due, private_redis, sink, logs, processes
):
    first = start("first", private_redis, sink, logs, processes, pause="clocks:3")
    publish(private_redis, run_sweeps)
    assert paused(first, logs).startswith("clocks:3")
    # Two disputes' clocks have run and their refunds were asked for, inside the chunk's transaction:
    # nothing of it is visible outside.
    assert len(payments_asked(sink)) == 2
    assert not DisputeEvent.objects.filter(action="seller_timeout").exists()
    assert not Refund.objects.exists()
    first.kill()  # PostgreSQL sees the connection drop and rolls the chunk back

    second = start("second", private_redis, sink, logs, processes)
    assert_each_clock_ran_once_and_each_email_went_once(due, sink, second)
    assert "Task disputes.tasks.run_sweeps" in second.output()  # given back by the broker, not run by beat
    # The ledger holds one refund per dispute, but the gateway was asked twice for the two refunds the killed
    # chunk had made, with the same reference each time: a real provider must deduplicate on it.
    asked = Counter(payments_asked(sink))
    assert sorted(asked.values()) == [1, 1, 2, 2]
    assert set(asked) == {f"dispute-{d.pk}-resolution-1" for d in due}


def test_a_worker_killed_after_the_sweep_committed_but_before_acknowledging_it_repeats_it_to_no_effect(
    due, private_redis, sink, logs, processes
):
    first = start("first", private_redis, sink, logs, processes, pause="swept:1")
    publish(private_redis, run_sweeps)
    paused(first, logs)
    assert not Dispute.objects.exclude(state="resolved").exists()  # committed; the task not acknowledged
    first.kill()

    second = start("second", private_redis, sink, logs, processes)
    wait_until(
        lambda: second.output().count("Task disputes.tasks.run_sweeps") >= 2,  # received, succeeded
        timeout=60,
        what="the sweep given back and run again",
        log=second.log,
    )
    assert_each_clock_ran_once_and_each_email_went_once(due, sink, second)
    assert Counter(payments_asked(sink)) == {f"dispute-{d.pk}-resolution-1": 1 for d in due}


def test_a_worker_killed_while_the_mail_server_takes_an_email_sends_it_after_a_restart_once(
    undelivered, private_redis, sink, logs, processes
):
    first = start("first", private_redis, sink, logs, processes, pause="mail_before:2")
    publish(private_redis, deliver_notifications, [note.pk for note in undelivered])
    paused(first, logs)
    one, two, three = undelivered
    assert list(Notification.objects.filter(delivered_at__isnull=False).values_list("pk", flat=True)) == [one.pk]
    first.kill()

    second = start("second", private_redis, sink, logs, processes)
    wait_until(
        lambda: not Notification.objects.filter(delivered_at__isnull=True).exists(),
        timeout=60,
        what="every notification delivered",
        log=second.log,
    )
    assert Counter(sent(sink)) == {message_id(one): 1, message_id(two): 1, message_id(three): 1}


def test_an_email_the_mail_server_took_just_before_the_worker_died_goes_again_with_the_same_message_id(
    undelivered, private_redis, sink, logs, processes
):
    """The one duplicate by design: the server said "250 OK", the worker died before its COMMIT. Marking the
    email sent before sending would lose it instead; the same Message-ID lets mail clients show it once."""
    first = start("first", private_redis, sink, logs, processes, pause="mail_after:2")
    publish(private_redis, deliver_notifications, [note.pk for note in undelivered])
    paused(first, logs)
    one, two, three = undelivered
    first.kill()

    second = start("second", private_redis, sink, logs, processes)
    wait_until(
        lambda: not Notification.objects.filter(delivered_at__isnull=True).exists(),
        timeout=60,
        what="every notification delivered",
        log=second.log,
    )
    assert Counter(sent(sink)) == {message_id(one): 1, message_id(two): 2, message_id(three): 1}
