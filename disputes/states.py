"""The dispute's states and the clock each one runs (docs/disputes.md draws both).

`CLOCKS` is the one place that says which state runs which clock, on which deadline column, for how
long (the setting) and what happens when it runs out (the system's row in `workflow.TRANSITIONS`).
Setting the deadlines (`engine._set_clocks`), the sweeps' partial indexes (`CLOCK_STATES`), who is
being waited for (`AWAITING`), the default-outcome text, reminders and the pages all read it.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    AWAITING_SELLER = "awaiting_seller", _("Waiting for the seller")
    AWAITING_BUYER = "awaiting_buyer", _("Waiting for the buyer")
    ESCALATED = "escalated", _("Escalated to the dispute team")
    UNDER_REVIEW = "under_review", _("Under review by the dispute team")
    AWAITING_RETURN = "awaiting_return", _("Waiting for the buyer to ship the return")
    RETURN_IN_TRANSIT = "return_in_transit", _("Return on its way to the seller")
    RESOLVED = "resolved", _("Resolved")
    CANCELLED = "cancelled", _("Cancelled by the buyer")


# Before opening a dispute has no state: the "open" row of the table starts from here.
NEW = ""

NEGOTIATING = (State.AWAITING_SELLER, State.AWAITING_BUYER)
WITH_TEAM = (State.ESCALATED, State.UNDER_REVIEW)
FINAL = (State.RESOLVED, State.CANCELLED)
LIVE_STATES = [s for s in State if s not in FINAL]


@dataclass(frozen=True)
class Clock:
    """A deadline that runs while the dispute is in one of `states`. It starts when the dispute
    enters those states from outside them (so moving within them keeps it running) and is cleared
    when the dispute leaves them."""

    name: str
    states: tuple[State, ...]
    column: str  # the deadline column on Dispute
    setting: str  # the number of days, a setting
    waits_for: str  # who can stop it: "buyer", "seller" or "staff"
    expiry: str  # the system's action when it runs out; "" = nothing moves (a reminder and an SLA alert)
    what_happens: str

    @property
    def length(self) -> timedelta:
        return timedelta(days=getattr(settings, self.setting))


CLOCKS: tuple[Clock, ...] = (
    Clock("seller_answer", (State.AWAITING_SELLER,), "respond_by", "SELLER_RESPONSE_DAYS", "seller", "seller_timeout",
          _("the buyer's latest request is executed")),
    Clock("buyer_answer", (State.AWAITING_BUYER,), "respond_by", "BUYER_RESPONSE_DAYS", "buyer", "buyer_timeout",
          _("the seller's standing offer is executed, or the dispute closes with no refund if there is none")),
    Clock("settle_by", NEGOTIATING, "escalate_at", "AUTO_ESCALATE_AFTER_DAYS", "buyer", "auto_escalate",
          _("the dispute goes to the dispute team by itself (counted from opening)")),
    Clock("ruling_sla", WITH_TEAM, "respond_by", "RULING_SLA_DAYS", "staff", "",
          _("the ruling is overdue: the assignee is alerted (a release does not restart it)")),
    Clock("return_ship", (State.AWAITING_RETURN,), "respond_by", "RETURN_SHIP_DAYS", "buyer", "return_not_shipped",
          _("the dispute closes with no further refund")),
    Clock("return_confirm", (State.RETURN_IN_TRANSIT,), "respond_by", "RETURN_CONFIRM_DAYS", "seller",
          "return_not_confirmed", _("the buyer is refunded what was agreed")),
)  # fmt: skip

DEADLINE_COLUMNS = ("respond_by", "escalate_at")


def clock_for(state: str, column: str) -> Clock | None:
    return next((clock for clock in CLOCKS if state in clock.states and clock.column == column), None)


# State -> whose move it is: "buyer", "seller" or "staff", the party whose answer stops the state's
# answer clock (respond_by). Final states are absent: nobody is waited for. Read by notices (whose
# turn it is), the pages and the API's `awaiting` field.
AWAITING: dict[State, str] = {
    state: clock.waits_for for clock in CLOCKS if clock.column == "respond_by" for state in clock.states
}
# Where a clock moves the dispute when it runs out: the sweeps look only here, through partial
# indexes holding only these rows (Dispute.Meta).
CLOCK_STATES = [s for s in State if any(c.expiry and c.column == "respond_by" and s in c.states for c in CLOCKS)]
ESCALATION_STATES = [s for s in State if any(c.expiry and c.column == "escalate_at" and s in c.states for c in CLOCKS)]
