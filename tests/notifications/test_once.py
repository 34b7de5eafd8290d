"""Internal moves of the dispute team (claim, release, routing) tell the parties nothing new, and a
sweep's notices are still written in one statement."""

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from disputes.services import dispute_act_by
from disputes.sweeps import sweep_routing
from notifications.models import Notification
from notifications.services import CollectingSink
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import team_member

pytestmark = pytest.mark.django_db


def test_parties_hear_once_that_their_dispute_went_to_the_team_whatever_the_team_does_after(
    world, django_capture_on_commit_callbacks
):
    with time_machine.travel(OPEN_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        dispute = dispute_in(world, "under_review")  # escalated by alice, claimed by erin
        dispute = dispute_act_by(user=world.erin, dispute=dispute, action="release")
        dispute = dispute_act_by(user=world.erin, dispute=dispute, action="claim")
        dispute = dispute_act_by(user=world.erin, dispute=dispute, action="release")
        sweep_routing()  # the system gives it to erin again
    for party in (world.alice, world.carol):
        assert Notification.objects.filter(recipient=party, kind="escalated").count() == 1
    went_to_team = [m for m in mail.outbox if "went to the dispute team" in m.subject]
    assert sorted(m.to[0] for m in went_to_team) == ["alice@example.com", "carol@example.com"]


def test_only_a_member_given_a_dispute_by_someone_else_is_told_it_is_theirs(world):
    frank = team_member("frank")
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "under_review")  # erin claimed it herself: nothing to tell her
        assert not Notification.objects.filter(kind="assigned").exists()
        dispute = dispute_act_by(user=world.erin, dispute=dispute, action="assign_to", member=frank)
    (note,) = Notification.objects.filter(kind="assigned")
    assert note.recipient == frank
    assert note.params["request"] == "80.00" and note.params["offer"] == "30.00"


def test_a_collecting_sink_writes_every_notice_with_its_parameters_in_one_statement(world):
    sink = CollectingSink()
    for i in range(300):
        sink.notify(recipient=world.alice, kind="refunded", key=f"k-{i}", url="/disputes/1/",
                    params={"order": "D-1", "currency": "USD", "amount": f"{i}.00", "role": "buyer"})  # fmt: skip
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        ids = sink.flush()
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(ids) == 300 and len(inserts) == 1
    assert Notification.objects.get(pk=ids[7]).params == {"order": "D-1", "currency": "USD", "amount": "7.00",
                                                          "role": "buyer"}  # fmt: skip
