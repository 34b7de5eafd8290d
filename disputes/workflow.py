"""The dispute workflow's table (drawn in docs/disputes.md); disputes/engine.py runs it.

`TRANSITIONS` is the whole table: for each action, the states it starts from, the party who may
take it, a guard that may refuse it, the states it can lead to, and its effect (disputes/effects.py).
`CLOCKS` (disputes/states.py) says which state runs which clock and which system row acts when it
runs out. `engine.dispute_transition` is the only way a dispute changes state: it locks the row, catches up
on any clock that has already run out, checks party, state and guard, applies the effect, sets the
next clock and appends one event, all in one transaction. docs/disputes.md lists the promises the
table keeps; disputes/invariants.py checks them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from disputes.effects import (
    Step,
    appeals,
    buyer_accepts,
    buyer_modifies,
    buyer_ships_return,
    buyer_silence,
    cancels,
    escalates,
    opens,
    releases,
    return_not_confirmed,
    return_not_shipped,
    seller_accepts,
    seller_confirms_return,
    seller_counters,
    seller_rejects,
    seller_silence,
    system_assigns,
    team_assigns,
    team_claims,
    team_rules,
    team_takes_over,
)
from disputes.guards import (
    assignee_unavailable,
    due,
    is_set_aside,
    may_appeal,
    may_cancel,
    may_review,
    return_reported_bad,
    seller_has_answered,
    seller_has_countered,
)
from disputes.models import Dispute, Party, State
from disputes.states import AWAITING, CLOCKS, NEGOTIATING, NEW, WITH_TEAM, Clock

S = State

__all__ = ["AWAITING", "CLOCKS", "TRANSITIONS", "Clock", "Transition", "allowed_actions", "transitions_for"]


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    party: Party
    targets: tuple[State, ...]
    effect: Callable[..., State]
    guard: Callable[[Step], str | None] | None = None
    label: str = ""
    clock: str = ""  # the deadline column a clock transition acts on


# --- the table -----------------------------------------------------------------------------------

TRANSITIONS: list[Transition] = [
    # action, from, who, to, effect, guard
    Transition("open", (NEW,), Party.BUYER, (S.AWAITING_SELLER,), opens, label=_("Open a dispute")),
    Transition("accept", (S.AWAITING_SELLER,), Party.SELLER, (S.RESOLVED, S.AWAITING_RETURN), seller_accepts,
               label=_("Accept the buyer's request")),
    Transition("reject", (S.AWAITING_SELLER,), Party.SELLER, (S.AWAITING_BUYER, S.ESCALATED), seller_rejects,
               label=_("Reject the request")),
    Transition("propose", (S.AWAITING_SELLER,), Party.SELLER, (S.AWAITING_BUYER,), seller_counters,
               label=_("Make a counter-offer")),
    Transition("accept", (S.AWAITING_BUYER,), Party.BUYER, (S.RESOLVED, S.AWAITING_RETURN), buyer_accepts,
               guard=seller_has_countered, label=_("Accept the seller's offer")),
    Transition("propose", (S.AWAITING_BUYER,), Party.BUYER, (S.AWAITING_SELLER,), buyer_modifies,
               label=_("Modify your request")),
    Transition("escalate", NEGOTIATING, Party.BUYER, (S.ESCALATED,), escalates, guard=seller_has_answered,
               label=_("Escalate to the dispute team")),
    # Not once the team has ruled, not while an appeal is pending, not once the return is on its way.
    Transition("cancel", (*NEGOTIATING, *WITH_TEAM, S.AWAITING_RETURN), Party.BUYER, (S.CANCELLED,), cancels,
               guard=may_cancel, label=_("Cancel the dispute")),
    Transition("claim", (S.ESCALATED,), Party.TEAM, (S.UNDER_REVIEW,), team_claims,
               guard=may_review, label=_("Claim for review")),
    Transition("ruling", WITH_TEAM, Party.TEAM, (S.RESOLVED, S.AWAITING_RETURN), team_rules,
               guard=may_review, label=_("Rule")),
    Transition("return_shipment", (S.AWAITING_RETURN,), Party.BUYER, (S.RETURN_IN_TRANSIT,), buyer_ships_return,
               label=_("Submit the return's tracking")),
    # A seller escalates only from a return (docs/rules.md §2, Escalation; also by reporting a bad condition).
    Transition("escalate", (S.RETURN_IN_TRANSIT,), Party.SELLER, (S.ESCALATED,), escalates,
               label=_("Escalate the return to the dispute team")),
    Transition("return_received", (S.RETURN_IN_TRANSIT,), Party.SELLER, (S.RESOLVED, S.ESCALATED),
               seller_confirms_return, label=_("Confirm the returned item")),
    Transition("appeal", (S.RESOLVED, S.AWAITING_RETURN), Party.BUYER, (S.ESCALATED,), appeals, guard=may_appeal,
               label=_("Appeal the ruling")),
    Transition("appeal", (S.RESOLVED, S.AWAITING_RETURN), Party.SELLER, (S.ESCALATED,), appeals, guard=may_appeal,
               label=_("Appeal the ruling")),
    Transition("assign_to", WITH_TEAM, Party.TEAM, (S.UNDER_REVIEW,), team_assigns, label=_("Assign to a member")),
    Transition("release", (S.UNDER_REVIEW,), Party.TEAM, (S.ESCALATED,), releases,
               label=_("Release to the queue")),
    # A clock that failed set the dispute aside: the team takes it into the review queue.
    Transition("take_over", (*NEGOTIATING, S.AWAITING_RETURN, S.RETURN_IN_TRANSIT), Party.TEAM, (S.ESCALATED,),
               team_takes_over, guard=is_set_aside, label=_("Take over for review")),
    # A return made under a request came back not as expected: the dispute it becomes goes to the team.
    Transition("return_disputed", (S.AWAITING_SELLER,), Party.SYSTEM, (S.ESCALATED,), escalates,
               guard=return_reported_bad),
    # Routing to the review queue.
    Transition("assign", (S.ESCALATED,), Party.SYSTEM, (S.UNDER_REVIEW,), system_assigns),
    Transition("release", (S.UNDER_REVIEW,), Party.SYSTEM, (S.ESCALATED,), releases,
               guard=assignee_unavailable),
    # The clocks (CLOCKS, docs/rules.md §2): the system acts when a party stays silent.
    Transition("auto_escalate", NEGOTIATING, Party.SYSTEM, (S.ESCALATED,), escalates, guard=due("escalate_at"),
               clock="escalate_at"),
    Transition("seller_timeout", (S.AWAITING_SELLER,), Party.SYSTEM, (S.RESOLVED, S.AWAITING_RETURN), seller_silence,
               guard=due("respond_by"), clock="respond_by"),
    Transition("buyer_timeout", (S.AWAITING_BUYER,), Party.SYSTEM, (S.RESOLVED, S.AWAITING_RETURN), buyer_silence,
               guard=due("respond_by"), clock="respond_by"),
    Transition("return_not_shipped", (S.AWAITING_RETURN,), Party.SYSTEM, (S.RESOLVED,), return_not_shipped,
               guard=due("respond_by"), clock="respond_by"),
    Transition("return_not_confirmed", (S.RETURN_IN_TRANSIT,), Party.SYSTEM, (S.RESOLVED,), return_not_confirmed,
               guard=due("respond_by"), clock="respond_by"),
]  # fmt: skip


def transitions_for(state: str, party: Party) -> list[Transition]:
    return [t for t in TRANSITIONS if t.party == party and state in t.sources]


def clock_transition(clock: Clock) -> Transition | None:
    """The system's row that acts when `clock` runs out (None for the ruling SLA, which only alerts)."""
    return next((t for t in TRANSITIONS if t.party == Party.SYSTEM and t.action == clock.expiry), None)


def allowed_actions(dispute: Dispute, party: Party, *, actor: User | None = None, now=None) -> list[Transition]:
    """What this party may do now (guards included), for buttons and error messages."""
    step = Step(dispute=dispute, party=party, actor=actor, now=now or timezone.now())
    return [t for t in transitions_for(dispute.state, party) if t.guard is None or t.guard(step) is None]
