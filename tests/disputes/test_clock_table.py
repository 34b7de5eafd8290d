"""The clock table (disputes/states.py CLOCKS) and every place that reads it agree."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings

from disputes.engine import _set_clocks
from disputes.models import CLOCK_STATES, Party, State
from disputes.selectors import default_outcome
from disputes.states import AWAITING, CLOCKS, NEGOTIATING, clock_for
from disputes.workflow import TRANSITIONS, clock_transition
from tests.disputes.helpers import OPEN_AT, dispute_in


def test_every_clock_that_moves_a_dispute_has_the_system_row_that_does_it():
    for clock in CLOCKS:
        if not clock.expiry:
            continue
        transition = clock_transition(clock)
        assert transition is not None, clock.name
        assert transition.clock == clock.column, clock.name
        assert set(transition.sources) == set(clock.states), clock.name
    # ...and every clock row of the table belongs to a clock.
    clocked = {(t.action, t.clock) for t in TRANSITIONS if t.clock}
    assert clocked == {(c.expiry, c.column) for c in CLOCKS if c.expiry}


def test_the_sweeps_partial_indexes_and_who_is_awaited_come_from_the_clocks():
    assert set(CLOCK_STATES) == {s for c in CLOCKS if c.expiry and c.column == "respond_by" for s in c.states}
    assert set(CLOCK_STATES) == {State.AWAITING_SELLER, State.AWAITING_BUYER, State.AWAITING_RETURN,
                                 State.RETURN_IN_TRANSIT}  # fmt: skip
    assert {c.column for c in CLOCKS if c.column == "escalate_at"} == {"escalate_at"}
    assert clock_for(State.AWAITING_BUYER, "escalate_at").states == NEGOTIATING
    for state, party in AWAITING.items():
        assert clock_for(state, "respond_by").waits_for == party
    assert State.RESOLVED not in AWAITING and State.CANCELLED not in AWAITING


@pytest.mark.parametrize("clock", CLOCKS, ids=lambda c: c.name)
def test_set_clocks_gives_each_clock_its_setting_when_its_states_are_entered(clock):
    class Row:
        respond_by = escalate_at = None

    row, now = Row(), OPEN_AT
    row.state = clock.states[0]
    _set_clocks(row, from_state="", now=now)
    assert getattr(row, clock.column) == now + timedelta(days=getattr(settings, clock.setting))
    # Moving within the clock's states keeps it running (a release does not restart the ruling SLA).
    later = now + timedelta(days=1)
    row.state = clock.states[-1]
    _set_clocks(row, from_state=clock.states[0], now=later)
    if len(clock.states) > 1:
        assert getattr(row, clock.column) == now + clock.length
    # Leaving the clock's states clears it.
    row.state = State.RESOLVED
    _set_clocks(row, from_state=clock.states[-1], now=later)
    assert row.respond_by is None and row.escalate_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("awaiting_seller", "If the seller does not answer by"),
        ("awaiting_buyer", "If the buyer does not answer by"),
        ("escalated", "The dispute team is due to rule by"),
        ("awaiting_return", "does not submit the return's tracking by"),
        ("return_in_transit", "If the seller does not confirm the returned item by"),
    ],
)
def test_the_default_outcome_is_told_for_every_clock_state(world, state, words):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, state)
        text = default_outcome(dispute)
    clock = clock_for(state, "respond_by")
    assert clock is not None and dispute.respond_by == OPEN_AT + clock.length
    assert words in text


@pytest.mark.django_db
def test_opening_is_a_row_of_the_table_and_starts_both_negotiation_clocks(world):
    opening = [t for t in TRANSITIONS if t.action == "open"]
    assert len(opening) == 1 and opening[0].party == Party.BUYER and opening[0].targets == (State.AWAITING_SELLER,)
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
    assert dispute.respond_by == OPEN_AT + clock_for(State.AWAITING_SELLER, "respond_by").length
    assert dispute.escalate_at == OPEN_AT + clock_for(State.AWAITING_SELLER, "escalate_at").length
    assert dispute.events.get().action == "open"


@pytest.mark.django_db
def test_an_effect_that_leads_outside_its_rows_targets_raises(world, monkeypatch):
    from disputes import workflow
    from disputes.services import dispute_act_by

    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        row = next(t for t in TRANSITIONS if t.action == "reject")
        broken = workflow.Transition("reject", row.sources, row.party, row.targets, lambda d, **_: State.RESOLVED)
        monkeypatch.setattr(workflow, "TRANSITIONS", [broken, *[t for t in TRANSITIONS if t is not row]])
        with pytest.raises(RuntimeError, match="led to resolved"):
            dispute_act_by(user=world.carol, dispute=dispute, action="reject", note="no")
    dispute.refresh_from_db()
    assert dispute.state == "awaiting_seller" and dispute.refunded_amount == Decimal("0.00")
