"""The engine that runs the workflow table (disputes/workflow.py): one transition at a time, on a
locked row, in one transaction; the clocks that have run out; and setting a dispute aside for a
person when a clock cannot run."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.audit import audit
from core.errors import RuleViolation
from core.money import money_str
from disputes.effects import Step
from disputes.models import Dispute, DisputeEvent, Party, PendingRuling, State
from disputes.states import CLOCKS, DEADLINE_COLUMNS, LIVE_STATES, NEW, WITH_TEAM
from disputes.workflow import TRANSITIONS, Transition, allowed_actions, transitions_for
from disputes.writes import Writes

log = logging.getLogger("dispute_desk.sweeps")

S = State
# A dispute set aside (a clock or routing step failed) is tried again this long after.
RETRY_AFTER = timedelta(hours=1)


def _set_clocks(dispute: Dispute, *, from_state: str, now: datetime) -> None:
    """Each deadline column follows CLOCKS: a clock starts when the dispute enters its states
    from outside them, keeps running while it moves within them, and is cleared when it leaves."""
    for column in DEADLINE_COLUMNS:
        clock = next((c for c in CLOCKS if c.column == column and dispute.state in c.states), None)
        if clock is None:
            setattr(dispute, column, None)
        elif from_state not in clock.states or getattr(dispute, column) is None:
            setattr(dispute, column, now + clock.length)


def _thaw(dispute: Dispute, *, at: datetime) -> None:
    """A paused dispute's deadlines as they would stand had its clocks started again `at`."""
    for column in DEADLINE_COLUMNS:
        left = dispute.paused_left.get(column)
        setattr(dispute, column, None if left is None else at + timedelta(seconds=left))


def freeze_clocks(dispute: Dispute, *, at: datetime) -> None:
    """Stop every running clock `at`: what each has left is kept, and its deadline column is emptied, so
    no sweep, reminder or page sees a deadline while the dispute is paused. Always a new dict: the
    gathering writer tells what changed by comparing with the row as it was loaded."""
    dispute.paused_left = {
        column: (getattr(dispute, column) - at).total_seconds()
        for column in DEADLINE_COLUMNS
        if getattr(dispute, column) is not None
    }
    for column in DEADLINE_COLUMNS:
        setattr(dispute, column, None)


def _clear_pause(dispute: Dispute) -> None:
    dispute.paused_at = dispute.paused_until = None
    dispute.pause_reason, dispute.pause_note, dispute.paused_left = "", "", {}


def pause_end(dispute: Dispute, *, step: Step, at: datetime) -> None:
    """End the pause of a dispute the caller holds locked: each clock gets back exactly the time it had
    left when it was paused, counted from `at` (now when ended by hand; the pause's own end when it ran
    its course, however late the sweep comes by). One event, seen by both parties."""
    since, until = dispute.paused_at, dispute.paused_until
    reason = dispute.pause_reason
    _thaw(dispute, at=at)
    _clear_pause(dispute)
    step.writes.save_dispute(dispute)
    payload = {"reason": reason, "since": since.isoformat(), "until": until.isoformat(), "resumed_at": at.isoformat(),
               "by_hand": step.actor is not None}  # fmt: skip
    for column in DEADLINE_COLUMNS:
        if getattr(dispute, column) is not None:
            payload[column] = getattr(dispute, column).isoformat()
    event = DisputeEvent(
        dispute=dispute,
        actor=step.actor,
        actor_party=step.party,
        action="resume",
        from_state=dispute.state,
        to_state=dispute.state,
        payload=payload,
        created_at=step.now,
    )
    step.writes.save_event(dispute, event)
    audit("dispute.resumed", dispute=dispute.pk, actor=step.actor.username if step.actor else "system",
          reason=reason, at=at.isoformat())  # fmt: skip


def _invalid(dispute: Dispute, party: Party, action: str, now) -> RuleViolation:
    options = [t.action for t in allowed_actions(dispute, party, now=now)]
    state = State(dispute.state).label
    if options:
        detail = _("The dispute is now: %(state)s. You can: %(options)s.") % {
            "state": state,
            "options": ", ".join(options),
        }
    else:
        detail = _("The dispute is now: %(state)s. There is nothing for you to do at this point.") % {"state": state}
    audit("dispute.refused", dispute=dispute.pk, action=action, party=party, state=dispute.state)
    return RuleViolation("invalid_state", detail)


def withdraw_pending_rulings(dispute: Dispute, *, keep: int | None, action: str) -> None:
    """A ruling waiting for a second approval is withdrawn when the dispute moves on (another
    ruling, a cancel, an appeal, a return), and its proposer is told."""
    from disputes.notices import tell_ruling_withdrawn

    pending = list(
        PendingRuling.objects.select_for_update()
        .filter(dispute=dispute, status=PendingRuling.Status.PENDING)
        .exclude(pk=keep)
        .select_related("proposed_by")
    )
    for ruling in pending:
        ruling.status = PendingRuling.Status.WITHDRAWN
        ruling.decided_at = timezone.now()
        ruling.save(update_fields=["status", "decided_at"])
        tell_ruling_withdrawn(dispute, ruling, action=action)
        audit("dispute.ruling_withdrawn", dispute=dispute.pk, pending=ruling.pk, why=action)


def _apply(
    transition: Transition, step: Step, *, payload: dict, note: str | None = None, pending_ruling: int | None = None
) -> None:
    dispute = step.dispute
    from_state = dispute.state
    dispute.refund_issued = None  # set by refund_issue, for the notifications
    new_state = transition.effect(step, **payload)
    if new_state not in transition.targets:
        # The table is the contract: an effect may not lead anywhere its row does not say.
        raise RuntimeError(f"{transition.action} by {transition.party} led to {new_state}, not {transition.targets}")
    dispute.state = new_state
    if dispute.case_id is not None and dispute.ruled_at is not None and new_state in WITH_TEAM:
        # Back with the team after its case's ruling (an appeal, a return found damaged, a seller escalating
        # a return): the case ruled once, so the dispute leaves it and is reviewed alone.
        dispute._left_case = dispute.case_id
        dispute.case = None
    paused = dispute.paused_at is not None
    if paused:
        # A pause stops the clocks, not the parties: across a move the clocks that keep running keep the
        # time they had left, a clock the new state starts is frozen at its full length, and the pause
        # ends with the dispute.
        _thaw(dispute, at=step.now)
    _set_clocks(dispute, from_state=from_state, now=step.now)
    if paused and new_state in LIVE_STATES:
        freeze_clocks(dispute, at=step.now)
    elif paused:
        _clear_pause(dispute)
    # A request for more time is about the step it was asked in: it lapses when the state moves on.
    lapsed = bool(dispute.more_time_asked_by) and new_state != from_state
    if lapsed:
        step.writes.lapse_more_time(dispute, at=step.now)
        dispute.more_time_asked_by = ""
    # The dispute moved on: whatever set it aside is behind it.
    dispute.set_aside_at, dispute.set_aside_reason, dispute.retry_at = None, "", None
    step.writes.save_dispute(dispute)
    if (from_state in LIVE_STATES) != (new_state in LIVE_STATES) and from_state != NEW:
        step.writes.claims_live(dispute, new_state in LIVE_STATES)
    if from_state in WITH_TEAM and (new_state not in WITH_TEAM or transition.action == "ruling"):
        withdraw_pending_rulings(dispute, keep=pending_ruling, action=transition.action)
    event_payload = {k: str(v) if not isinstance(v, (str, int, bool, type(None))) else v for k, v in payload.items()}
    if note is not None:  # recorded as the caller gave it, as before the effects took it from the step
        event_payload["note"] = note
    if pending_ruling is not None:
        event_payload["pending_ruling"] = pending_ruling
    if lapsed:
        event_payload["more_time_lapsed"] = True
    if paused and new_state not in LIVE_STATES:
        event_payload["pause_ended"] = True
    if getattr(dispute, "_handover_from", None):
        event_payload["handover_from"] = dispute._handover_from
    if getattr(dispute, "_left_case", None):
        event_payload["left_case"] = dispute._left_case
    if dispute.state == S.RESOLVED and from_state != S.RESOLVED:
        amount = money_str(dispute.resolved_refund_amount, dispute.order.currency)
        event_payload.update(outcome=dispute.outcome, refund_amount=amount, cause=dispute.cause)
    if dispute.refund_issued is not None:
        event_payload["refunded_now"] = money_str(dispute.refund_issued.amount, dispute.refund_issued.currency)
    event = DisputeEvent(
        dispute=dispute,
        actor=step.actor,
        actor_party=transition.party,
        action=transition.action,
        from_state=from_state,
        to_state=dispute.state,
        payload=event_payload,
        created_at=step.now,
    )
    event.refund = dispute.refund_issued
    step.writes.save_event(dispute, event)  # notified now, or with the rest of a sweep's chunk
    audit(
        "dispute.transition",
        dispute=dispute.pk,
        action=transition.action,
        party=transition.party,
        actor=step.actor.username if step.actor else "system",
        from_state=from_state or "new",
        to_state=dispute.state,
    )


def dispute_start(dispute: Dispute, *, actor: User, now: datetime, payload: dict) -> None:
    """Opening is a row of the table like any other: the new dispute enters its first state,
    its clocks start, and the event is written. The caller holds the order's lock."""
    transition = next(t for t in TRANSITIONS if t.action == "open")
    dispute.state = NEW
    step = Step(dispute=dispute, party=Party.BUYER, actor=actor, now=now, writes=Writes())
    _apply(transition, step, payload=payload)


def catch_up(dispute_id: int, *, now=None) -> Dispute:
    """Run every clock of this dispute that has already run out, as the system. Idempotent:
    a clock that is not due, or was already acted on, does nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        dispute = (
            Dispute.objects.select_for_update(of=("self",))
            .select_related("order__buyer", "order__store__owner")
            .get(pk=dispute_id)
        )
        run_clocks(dispute, now=now, writes=Writes())
    return dispute


def run_clocks(dispute: Dispute, *, now: datetime, writes: Writes) -> None:
    """The clock transitions of one dispute, already locked by the caller (`catch_up`, or a sweep
    acting on a chunk of locked rows with a gathering writer)."""
    step = Step(dispute=dispute, party=Party.SYSTEM, actor=None, now=now, writes=writes)
    if dispute.paused_at is not None:
        if dispute.paused_until > now:
            return  # no clock acts on a paused dispute
        pause_end(dispute, step=step, at=dispute.paused_until)  # then its clocks run from the pause's end
    for _round in range(5):  # one clock can lead to another (e.g. two overdue steps)
        overdue = [t for t in transitions_for(dispute.state, Party.SYSTEM) if t.clock and t.guard(step) is None]
        if not overdue:
            break
        # When two clocks have both run out, the one that ran out first decides.
        due_now = min(overdue, key=lambda t: getattr(dispute, t.clock))
        _apply(due_now, step, payload={})


def dispute_set_aside(dispute_id: int, *, reason: str, now: datetime | None = None) -> bool:
    """No clock fails forever: a dispute whose clock (or routing) step failed is set aside with the
    reason and the time, shows in the review queue as needing a person, and is retried hourly and
    on any team action. Every active team member and the superusers are alerted, once per setting
    aside. Returns whether this call set it aside (False: already set aside, retry postponed)."""
    from disputes.notices import alert_needs_person

    now = now or timezone.now()
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().select_related("order").get(pk=dispute_id)
        first = dispute.set_aside_at is None
        if first:
            dispute.set_aside_at = now
            dispute.set_aside_reason = reason[:2000]
        dispute.retry_at = now + RETRY_AFTER
        dispute.save(update_fields=["set_aside_at", "set_aside_reason", "retry_at", "updated_at"])
        if first:
            alert_needs_person(dispute, reason=reason)
    log.warning("dispute set aside: it needs a person", extra={"dispute": dispute_id, "why": reason})
    audit("dispute.set_aside", dispute=dispute_id, why=reason)
    return first


def dispute_transition(
    *,
    dispute: Dispute,
    action: str,
    party: Party,
    actor: User | None,
    note: str | None = None,
    pending_ruling: int | None = None,
    **payload,
) -> Dispute:
    """Run one row of the table: `action` on the dispute as the given `party` (a person's party is
    worked out by `dispute_act_by`; the system's sweeps call this directly). The one way a dispute
    changes state. `payload` is what the action's effect takes (disputes/effects.py), by name;
    `pending_ruling` is the approved ruling that the ruling carries out (not withdrawn by it)."""
    now = timezone.now()
    if party != Party.SYSTEM:
        # A deadline that has passed is enforced now, not only when the sweep comes by. If that
        # clock fails, the dispute is set aside for the team, who may still act on it.
        try:
            catch_up(dispute.pk, now=now)
        except Exception as error:
            log.exception("dispute clock failed while a party acted", extra={"dispute": dispute.pk, "party": party})
            dispute_set_aside(dispute.pk, reason=f"{type(error).__name__}: {error}", now=now)
            if party != Party.TEAM:
                raise RuleViolation(
                    "needs_person",
                    _(
                        "This dispute is waiting for the dispute team to look at it; they have been told. "
                        "Nothing you do now is lost: try again later or add evidence."
                    ),
                ) from None
    with transaction.atomic():
        # of=("self",): lock the dispute row only; the joined rows are read, not locked.
        dispute = (
            Dispute.objects.select_for_update(of=("self",))
            .select_related("order__store", "assignee")
            .get(pk=dispute.pk)
        )
        candidates = [t for t in transitions_for(dispute.state, party) if t.action == action]
        if not candidates:
            raise _invalid(dispute, party, action, now)
        step = Step(dispute=dispute, party=party, actor=actor, now=now, note=note or "", writes=Writes())
        problems = []
        for transition in candidates:
            problem = transition.guard(step) if transition.guard else None
            if problem is None:
                break
            problems.append(problem)
        else:
            audit("dispute.refused", dispute=dispute.pk, action=action, party=party, why=problems[0])
            raise RuleViolation("invalid_state", problems[0])
        _apply(transition, step, payload=payload, note=note, pending_ruling=pending_ruling)
    return dispute
