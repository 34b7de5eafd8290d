"""A notification's email goes out once (notifications/delivery.py): its row is locked while it is sent and
marked delivered in the same transaction. In process; the worker killed mid-send is test_worker_killed.py."""

import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test import override_settings

from notifications import delivery
from notifications.models import Notification
from tests.disputes.helpers import OPEN_AT, dispute_in


@pytest.fixture
def note(world) -> Notification:
    with time_machine.travel(OPEN_AT, tick=False):
        dispute_in(world, "awaiting_seller")
    Notification.objects.update(delivered_at=None)  # as if its task were lost
    mail.outbox.clear()
    return Notification.objects.get()


@pytest.mark.django_db(transaction=True)
def test_a_notification_another_worker_is_sending_is_skipped_not_sent_twice(note):
    locked, release = threading.Event(), threading.Event()

    def another_worker_sending():
        with transaction.atomic():
            Notification.objects.select_for_update().get(pk=note.pk)
            locked.set()
            release.wait(10)
        connection.close()

    sender = threading.Thread(target=another_worker_sending)
    sender.start()
    try:
        assert locked.wait(10)
        assert delivery.deliver(note.pk) is False  # skipped at once, not waiting on the lock
        assert mail.outbox == []
    finally:
        release.set()
        sender.join()
    assert delivery.deliver(note.pk) is True  # the other one died without marking it: sent now
    assert delivery.deliver(note.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@override_settings(SITE_URL="https://disputes.example.com")
def test_a_send_that_fails_leaves_the_notification_undelivered_and_the_retry_sends_the_same_message_id(
    note, monkeypatch
):
    real_send = delivery.send_mail

    def refused(**email):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(delivery, "send_mail", refused)
    with pytest.raises(ConnectionRefusedError):
        delivery.deliver(note.pk)
    note.refresh_from_db()
    assert note.delivered_at is None

    monkeypatch.setattr(delivery, "send_mail", real_send)
    assert delivery.deliver(note.pk) is True
    (email,) = mail.outbox
    assert email.message()["Message-ID"] == delivery.message_id(note)
    assert delivery.message_id(note) == delivery.message_id(Notification.objects.get(pk=note.pk))
    assert delivery.message_id(note).startswith(f"<notification.{note.pk}.")
    assert delivery.message_id(note).endswith("@disputes.example.com>")  # the site's host
