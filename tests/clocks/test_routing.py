"""Routing escalated disputes to the dispute team."""

from datetime import timedelta

import pytest
import time_machine

from disputes.services import dispute_act_by
from disputes.sweeps import sweep_routing
from tests.disputes.helpers import OPEN_AT, dispute_in
from tests.factories import team_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(OPEN_AT, tick=False) as traveller:
        yield traveller


def escalated(world, number):
    return dispute_in(world, "escalated", number=number)


def test_an_escalated_dispute_goes_to_the_member_with_the_least_open_work(world, clock):
    frank = team_member("frank")
    first = escalated(world, "R-1")
    dispute_act_by(user=world.erin, dispute=first, action="claim")  # erin now has one
    second = escalated(world, "R-2")
    sweep_routing()
    second.refresh_from_db()
    assert (second.state, second.assignee) == ("under_review", frank)


def test_ties_go_to_the_member_idle_longest(world, clock):
    frank = team_member("frank")
    # Both have no open work; frank was assigned (and finished) more recently than erin.
    old = escalated(world, "R-1")
    dispute_act_by(user=world.erin, dispute=old, action="claim")
    dispute_act_by(user=world.erin, dispute=old, action="ruling", outcome="no_refund", note="x")
    clock.shift(timedelta(hours=1))
    newer = escalated(world, "R-2")
    dispute_act_by(user=frank, dispute=newer, action="claim")
    dispute_act_by(user=frank, dispute=newer, action="ruling", outcome="no_refund", note="x")
    clock.shift(timedelta(hours=1))
    waiting = escalated(world, "R-3")
    sweep_routing()
    waiting.refresh_from_db()
    assert waiting.assignee == world.erin


def test_a_deactivated_members_work_goes_back_to_the_queue_and_is_rerouted(world, clock):
    frank = team_member("frank")
    dispute = escalated(world, "R-1")
    dispute_act_by(user=world.erin, dispute=dispute, action="claim")
    world.erin.is_active = False
    world.erin.save()
    sweep_routing()
    dispute.refresh_from_db()
    assert (dispute.state, dispute.assignee) == ("under_review", frank)
    actions = list(dispute.events.values_list("action", flat=True))
    assert actions[-2:] == ["release", "assign"]


def test_a_member_removed_from_the_team_is_treated_like_a_departed_one(world, clock):
    frank = team_member("frank")
    dispute = escalated(world, "R-1")
    dispute_act_by(user=world.erin, dispute=dispute, action="claim")
    world.erin.groups.clear()
    sweep_routing()
    dispute.refresh_from_db()
    assert dispute.assignee == frank


def test_an_appeal_goes_to_someone_other_than_the_first_ruler(world, clock):
    frank = team_member("frank")
    dispute = escalated(world, "R-1")
    dispute_act_by(user=world.erin, dispute=dispute, action="claim")
    dispute_act_by(user=world.erin, dispute=dispute, action="ruling", outcome="no_refund", note="Delivered.")
    # erin now has no open work and would win on load; the appeal must still go to frank.
    dispute_act_by(user=world.alice, dispute=dispute, action="appeal", note="Please look again.")
    sweep_routing()
    dispute.refresh_from_db()
    assert (dispute.state, dispute.assignee) == ("under_review", frank)


def test_with_nobody_available_the_dispute_waits_in_the_queue(world, clock):
    dispute = escalated(world, "R-1")
    world.erin.is_active = False
    world.erin.save()
    sweep_routing()
    dispute.refresh_from_db()
    assert (dispute.state, dispute.assignee) == ("escalated", None)
