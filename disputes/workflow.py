"""The dispute workflow in one place (DESIGN.md §3; drawn in docs/disputes.md).

`TRANSITIONS` is the whole table: for each action, the states it starts from, the party who may
take it, a guard that may refuse it, the states it can lead to, and its effect. `dispute_act` is
the only way a dispute changes state: it locks the row, catches up on any clock that has already
run out, checks party, state and guard, applies the effect, sets the next clock and appends one
event — all in one transaction.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import RuleViolation
from disputes import batch
from disputes.models import Cause, Dispute, DisputeEvent, Outcome, Party, Proposal, ReturnCondition, State
from disputes.payments import refund_issue

audit_log = logging.getLogger("dispute_desk.audit")

S = State


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[State, ...]
    party: Party
    targets: tuple[State, ...]
    effect: Callable[..., State]
    guard: Callable[..., str | None] | None = None
    label: str = ""
    clock: str = ""  # the deadline column a clock transition acts on


# --- helpers the effects share ------------------------------------------------------------------


def _days(name: str) -> timedelta:
    return timedelta(days=getattr(settings, name))


def _money(amount) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"))


def outcome_for(dispute: Dispute, amount: Decimal) -> str:
    if amount <= 0:
        return Outcome.NO_REFUND
    return Outcome.FULL_REFUND if amount >= dispute.order.total else Outcome.PARTIAL_REFUND


def resolve(dispute: Dispute, *, amount: Decimal, cause: str, now: datetime) -> State:
    dispute.resolution_number += 1
    dispute.outcome = outcome_for(dispute, amount)
    dispute.resolved_refund_amount = amount
    dispute.cause = cause
    dispute.resolved_at = now
    refund_issue(dispute=dispute, amount=amount, cause=cause)
    return S.RESOLVED


def agree(dispute: Dispute, *, amount: Decimal, return_item: bool, cause: str, now: datetime) -> State:
    """An outcome both sides are bound by: refund now, or after the item comes back."""
    if return_item:
        dispute.agreed_refund_amount = amount
        dispute.agreed_cause = cause
        return S.AWAITING_RETURN
    return resolve(dispute, amount=amount, cause=cause, now=now)


def latest(dispute: Dispute, party: Party) -> Proposal | None:
    preloaded = getattr(dispute, "_latest", None)  # a sweep's batch reads them for a whole chunk
    if preloaded is not None:
        return preloaded[party]
    return dispute.proposals.filter(party=party).order_by("-created_at", "-id").first()


def check_amount(dispute: Dispute, amount) -> Decimal:
    if amount is None:
        raise RuleViolation("invalid", _("Give a refund amount."), status=400)
    amount = _money(amount)
    total = dispute.order.total
    if amount <= 0 or amount > total:
        raise RuleViolation(
            "invalid_amount",
            _("The refund must be more than 0 and at most the %(total)s %(cur)s paid.")
            % {"total": total, "cur": dispute.order.currency},
            status=400,
        )
    return amount


def propose(dispute, *, party: Party, kind: str, actor: User, amount=None, return_item=False, note="", now):
    dispute.__dict__.pop("_latest", None)
    Proposal.objects.create(
        dispute=dispute,
        party=party,
        kind=kind,
        refund_amount=amount if amount is not None else Decimal("0.00"),
        return_item=bool(return_item),
        note=note or "",
        author=actor,
        created_at=now,
    )


# --- effects -------------------------------------------------------------------------------------


def seller_accepts(dispute, *, now, **_ignored):
    request = latest(dispute, Party.BUYER)
    return agree(dispute, amount=request.refund_amount, return_item=request.return_item, cause=Cause.AGREEMENT, now=now)


def seller_rejects(dispute, *, actor, now, note="", **_ignored):
    if not (note or "").strip():
        raise RuleViolation("invalid", _("Say why you reject the request."), status=400)
    propose(dispute, party=Party.SELLER, kind=Proposal.Kind.REJECTION, actor=actor, note=note, now=now)
    return S.AWAITING_BUYER


def seller_counters(dispute, *, actor, now, refund_amount=None, return_item=False, note="", **_ignored):
    amount = check_amount(dispute, refund_amount)
    propose(dispute, party=Party.SELLER, kind=Proposal.Kind.COUNTER, actor=actor, amount=amount,
            return_item=return_item, note=note, now=now)  # fmt: skip
    return S.AWAITING_BUYER


def buyer_accepts(dispute, *, now, **_ignored):
    offer = latest(dispute, Party.SELLER)
    return agree(dispute, amount=offer.refund_amount, return_item=offer.return_item, cause=Cause.AGREEMENT, now=now)


def buyer_modifies(dispute, *, actor, now, refund_amount=None, return_item=False, note="", **_ignored):
    amount = check_amount(dispute, refund_amount)
    propose(dispute, party=Party.BUYER, kind=Proposal.Kind.MODIFICATION, actor=actor, amount=amount,
            return_item=return_item, note=note, now=now)  # fmt: skip
    return S.AWAITING_SELLER


def escalates(dispute, *, now, **_ignored):
    dispute.escalated_at = now
    return S.ESCALATED


def cancels(dispute, **_ignored):
    return S.CANCELLED


def team_claims(dispute, *, actor, now, **_ignored):
    dispute.assignee = actor
    dispute.assigned_at = now
    return S.UNDER_REVIEW


def system_assigns(dispute, *, now, **_ignored):
    from disputes.routing import pick_reviewer

    reviewer = pick_reviewer(dispute)
    if reviewer is None:
        raise RuleViolation("no_reviewer", _("No dispute-team member is available to take this dispute."))
    dispute.assignee = reviewer
    dispute.assigned_at = now
    return S.UNDER_REVIEW


def team_assigns(dispute, *, now, member=None, **_ignored):
    from disputes.routing import is_available_reviewer

    if not is_available_reviewer(member):
        raise RuleViolation("invalid", _("Choose an active member of the dispute team."), status=400)
    if dispute.excluded_reviewer_id == member.pk:
        raise RuleViolation("invalid_state", _("This appeal must go to someone other than the member who ruled first."))
    dispute.assignee = member
    dispute.assigned_at = now
    return S.UNDER_REVIEW


def system_releases(dispute, **_ignored):
    dispute._handover_from = dispute.assignee.username if dispute.assignee else None
    dispute.assignee = None
    return S.ESCALATED


def team_rules(dispute, *, actor, now, outcome=None, refund_amount=None, note="", approved_by=None, **_ignored):
    total = dispute.order.total
    if outcome == "full_refund":
        amount, return_item = total, False
    elif outcome == "partial_refund":
        amount, return_item = check_amount(dispute, refund_amount), False
        if amount >= total:
            raise RuleViolation("invalid_amount", _("A partial refund is less than the total paid."), status=400)
    elif outcome == "return_and_refund":
        amount = check_amount(dispute, refund_amount) if refund_amount not in (None, "") else total
        return_item = True
    elif outcome == "no_refund":
        amount, return_item = Decimal("0.00"), False
    else:
        raise RuleViolation(
            "invalid", _("Choose full_refund, partial_refund, return_and_refund or no_refund."), status=400
        )
    from disputes.payments import refunded_so_far

    if amount > settings.RULING_APPROVAL_THRESHOLD and approved_by is None:
        raise RuleViolation(
            "approval_required",
            _("A ruling above %(limit)s %(cur)s needs a second team member's approval.")
            % {"limit": settings.RULING_APPROVAL_THRESHOLD, "cur": dispute.order.currency},
        )
    if approved_by is not None and approved_by.pk == actor.pk:
        raise RuleViolation("invalid_state", _("The second approval must come from another team member."))
    if dispute.resolution_number and amount < refunded_so_far(dispute.order):
        raise RuleViolation(
            "invalid_amount",
            _("%(paid)s %(cur)s were already refunded; an appeal ruling can add to that, not take it back.")
            % {"paid": refunded_so_far(dispute.order), "cur": dispute.order.currency},
            status=400,
        )
    if dispute.assignee_id and dispute.assignee_id != actor.pk:
        dispute._handover_from = dispute.assignee.username  # recorded in the event
    if dispute.assignee_id != actor.pk:
        dispute.assigned_at = now
    dispute.assignee = actor
    dispute.ruled_by = actor
    dispute.ruled_at = now
    dispute.ruling_note = note or ""
    # After an appeal, only what goes beyond the first refund is paid again.
    extra = amount - refunded_so_far(dispute.order) if dispute.resolution_number else amount
    if return_item:
        dispute.agreed_refund_amount = extra
        dispute.agreed_cause = Cause.RULING
        return S.AWAITING_RETURN
    state = resolve(dispute, amount=extra, cause=Cause.RULING, now=now)
    dispute.outcome = outcome_for(dispute, amount)
    dispute.resolved_refund_amount = amount
    return state


def buyer_ships_return(dispute, *, now, carrier=None, tracking_number="", **_ignored):
    if carrier is None or not (tracking_number or "").strip():
        raise RuleViolation("invalid", _("Give the return's carrier and tracking number."), status=400)
    dispute.return_carrier = carrier
    dispute.return_tracking_number = tracking_number.strip()
    dispute.return_shipped_at = now
    return S.RETURN_IN_TRANSIT


def seller_confirms_return(dispute, *, now, condition=None, **_ignored):
    if condition not in ReturnCondition.values:
        raise RuleViolation("invalid", _("Give the condition: ok, damaged, empty or different."), status=400)
    dispute.return_condition = condition
    if condition == ReturnCondition.OK:
        return resolve(
            dispute, amount=dispute.agreed_refund_amount or Decimal("0"), cause=dispute.agreed_cause, now=now
        )
    dispute.escalated_at = now
    return S.ESCALATED


def appeals(dispute, *, party, now, **_ignored):
    if party == Party.BUYER:
        dispute.buyer_appealed = True
    else:
        dispute.seller_appealed = True
    dispute.excluded_reviewer = dispute.ruled_by
    dispute.assignee = None
    dispute.escalated_at = now
    return S.ESCALATED


def seller_silence(dispute, *, now, **_ignored):
    request = latest(dispute, Party.BUYER)
    return agree(dispute, amount=request.refund_amount, return_item=request.return_item,
                 cause=Cause.SELLER_TIMEOUT, now=now)  # fmt: skip


def buyer_silence(dispute, *, now, **_ignored):
    offer = latest(dispute, Party.SELLER)
    if offer is None or offer.kind == Proposal.Kind.REJECTION:
        return resolve(dispute, amount=Decimal("0.00"), cause=Cause.BUYER_TIMEOUT, now=now)
    return agree(dispute, amount=offer.refund_amount, return_item=offer.return_item, cause=Cause.BUYER_TIMEOUT,
                 now=now)  # fmt: skip


def return_not_shipped(dispute, *, now, **_ignored):
    return resolve(dispute, amount=Decimal("0.00"), cause=Cause.RETURN_NOT_SHIPPED, now=now)


def return_not_confirmed(dispute, *, now, **_ignored):
    amount = dispute.agreed_refund_amount or Decimal("0.00")
    return resolve(dispute, amount=amount, cause=Cause.RETURN_NOT_CONFIRMED, now=now)


# --- guards --------------------------------------------------------------------------------------


def seller_has_countered(dispute, **_ignored):
    offer = latest(dispute, Party.SELLER)
    if offer is None or offer.kind != Proposal.Kind.COUNTER:
        return _("The seller rejected your request; there is no offer to accept. Modify it or escalate.")
    return None


def not_the_excluded_reviewer(dispute, *, actor, **_ignored):
    if dispute.excluded_reviewer_id and actor.pk == dispute.excluded_reviewer_id:
        return _("This appeal must be reviewed by someone other than the member who ruled first.")
    return None


def may_appeal(dispute, *, party, now, **_ignored):
    if not dispute.ruled_at:
        return _("Only a ruling by the dispute team can be appealed.")
    if now >= dispute.ruled_at + _days("APPEAL_DAYS"):
        return _("The %(n)s days to appeal this ruling have passed.") % {"n": settings.APPEAL_DAYS}
    if (party == Party.BUYER and dispute.buyer_appealed) or (party == Party.SELLER and dispute.seller_appealed):
        return _("You have already appealed this dispute once.")
    return None


def assignee_unavailable(dispute, **_ignored):
    from disputes.routing import is_available_reviewer

    if dispute.assignee_id and not is_available_reviewer(dispute.assignee):
        return None
    return _("The assignee is still an active member of the dispute team.")


def due(column: str):
    def guard(dispute, *, now, **_ignored):
        deadline = getattr(dispute, column)
        if deadline is None or now < deadline:
            return _("This deadline has not passed yet.")
        return None

    return guard


# --- the table -----------------------------------------------------------------------------------

NEGOTIATING = (S.AWAITING_SELLER, S.AWAITING_BUYER)
WITH_TEAM = (S.ESCALATED, S.UNDER_REVIEW)

TRANSITIONS: list[Transition] = [
    # action, from, who, to, effect, guard
    Transition("accept", (S.AWAITING_SELLER,), Party.SELLER, (S.RESOLVED, S.AWAITING_RETURN), seller_accepts,
               label=_("Accept the buyer's request")),
    Transition("reject", (S.AWAITING_SELLER,), Party.SELLER, (S.AWAITING_BUYER,), seller_rejects,
               label=_("Reject the request")),
    Transition("propose", (S.AWAITING_SELLER,), Party.SELLER, (S.AWAITING_BUYER,), seller_counters,
               label=_("Make a counter-offer")),
    Transition("accept", (S.AWAITING_BUYER,), Party.BUYER, (S.RESOLVED, S.AWAITING_RETURN), buyer_accepts,
               guard=seller_has_countered, label=_("Accept the seller's offer")),
    Transition("propose", (S.AWAITING_BUYER,), Party.BUYER, (S.AWAITING_SELLER,), buyer_modifies,
               label=_("Modify your request")),
    Transition("escalate", (S.AWAITING_BUYER,), Party.BUYER, (S.ESCALATED,), escalates,
               label=_("Escalate to the dispute team")),
    Transition("cancel", (*NEGOTIATING, *WITH_TEAM, S.AWAITING_RETURN), Party.BUYER, (S.CANCELLED,), cancels,
               label=_("Cancel the dispute")),
    Transition("claim", (S.ESCALATED,), Party.TEAM, (S.UNDER_REVIEW,), team_claims,
               guard=not_the_excluded_reviewer, label=_("Claim for review")),
    Transition("ruling", WITH_TEAM, Party.TEAM, (S.RESOLVED, S.AWAITING_RETURN), team_rules,
               guard=not_the_excluded_reviewer, label=_("Rule")),
    Transition("return_shipment", (S.AWAITING_RETURN,), Party.BUYER, (S.RETURN_IN_TRANSIT,), buyer_ships_return,
               label=_("Submit the return's tracking")),
    # API.md: a seller escalates only from a return (also done by reporting a bad condition).
    Transition("escalate", (S.RETURN_IN_TRANSIT,), Party.SELLER, (S.ESCALATED,), escalates,
               label=_("Escalate the return to the dispute team")),
    Transition("return_received", (S.RETURN_IN_TRANSIT,), Party.SELLER, (S.RESOLVED, S.ESCALATED),
               seller_confirms_return, label=_("Confirm the returned item")),
    Transition("appeal", (S.RESOLVED, S.AWAITING_RETURN), Party.BUYER, (S.ESCALATED,), appeals, guard=may_appeal,
               label=_("Appeal the ruling")),
    Transition("appeal", (S.RESOLVED, S.AWAITING_RETURN), Party.SELLER, (S.ESCALATED,), appeals, guard=may_appeal,
               label=_("Appeal the ruling")),
    Transition("assign_to", WITH_TEAM, Party.TEAM, (S.UNDER_REVIEW,), team_assigns, label=_("Assign to a member")),
    Transition("release", (S.UNDER_REVIEW,), Party.TEAM, (S.ESCALATED,), system_releases,
               label=_("Release to the queue")),
    # Routing to the review queue.
    Transition("assign", (S.ESCALATED,), Party.SYSTEM, (S.UNDER_REVIEW,), system_assigns),
    Transition("release", (S.UNDER_REVIEW,), Party.SYSTEM, (S.ESCALATED,), system_releases,
               guard=assignee_unavailable),
    # The clocks (DESIGN.md §2): the system acts when a party stays silent.
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

# Which clock each waiting state runs, and who is being waited for.
AWAITING = {
    S.AWAITING_SELLER: "seller",
    S.AWAITING_BUYER: "buyer",
    S.ESCALATED: "staff",
    S.UNDER_REVIEW: "staff",
    S.AWAITING_RETURN: "buyer",
    S.RETURN_IN_TRANSIT: "seller",
}


def transitions_for(state: str, party: Party) -> list[Transition]:
    return [t for t in TRANSITIONS if t.party == party and state in t.sources]


def allowed_actions(dispute: Dispute, party: Party, *, actor: User | None = None, now=None) -> list[Transition]:
    """What this party may do now (guards included), for buttons and error messages."""
    now = now or timezone.now()
    return [
        t
        for t in transitions_for(dispute.state, party)
        if t.guard is None or t.guard(dispute, actor=actor, party=party, now=now) is None
    ]


def _set_clocks(dispute: Dispute, *, from_state: str, now: datetime) -> None:
    state = dispute.state
    if state == S.AWAITING_SELLER:
        dispute.respond_by = now + _days("SELLER_RESPONSE_DAYS")
    elif state == S.AWAITING_BUYER:
        dispute.respond_by = now + _days("BUYER_RESPONSE_DAYS")
    elif state == S.ESCALATED and from_state != S.ESCALATED:
        dispute.respond_by = now + _days("RULING_SLA_DAYS")
    elif state == S.AWAITING_RETURN:
        dispute.respond_by = now + _days("RETURN_SHIP_DAYS")
    elif state == S.RETURN_IN_TRANSIT:
        dispute.respond_by = now + _days("RETURN_CONFIRM_DAYS")
    elif state in (S.RESOLVED, S.CANCELLED):
        dispute.respond_by = None
    if state not in NEGOTIATING:
        dispute.escalate_at = None


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
    audit_log.info("dispute=%s refused action=%s party=%s state=%s", dispute.pk, action, party, dispute.state)
    return RuleViolation("invalid_state", detail)


def _apply(dispute: Dispute, transition: Transition, *, actor: User | None, now, payload: dict) -> None:
    from_state = dispute.state
    dispute.refund_issued = None  # set by refund_issue, for the notifications
    dispute.state = transition.effect(dispute, actor=actor, party=transition.party, now=now, **payload)
    _set_clocks(dispute, from_state=from_state, now=now)
    pending = batch.current()
    if pending:
        pending.save_dispute(dispute)
    else:
        dispute.save()
    event_payload = {k: str(v) if not isinstance(v, (str, int, bool, type(None))) else v for k, v in payload.items()}
    if getattr(dispute, "_handover_from", None):
        event_payload["handover_from"] = dispute._handover_from
    if dispute.state == S.RESOLVED and from_state != S.RESOLVED:
        event_payload.update(outcome=dispute.outcome, refund_amount=str(dispute.resolved_refund_amount),
                             cause=dispute.cause)  # fmt: skip
    event = DisputeEvent(
        dispute=dispute,
        actor=actor,
        actor_party=transition.party,
        action=transition.action,
        from_state=from_state,
        to_state=dispute.state,
        payload=event_payload,
        created_at=now,
    )
    event.refund = dispute.refund_issued
    if pending:
        pending.add_event(dispute, event)  # written, then notified, with the rest of the chunk
    else:
        event.save()
        from disputes.notices import notify_event

        notify_event(dispute, event)
    audit_log.info(
        "dispute=%s action=%s party=%s actor=%s %s->%s",
        dispute.pk,
        transition.action,
        transition.party,
        actor.username if actor else "system",
        from_state,
        dispute.state,
    )


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
        run_clocks(dispute, now=now)
    return dispute


def run_clocks(dispute: Dispute, *, now: datetime) -> None:
    """The clock transitions of one dispute, already locked by the caller (`catch_up`, or a sweep
    acting on a chunk of locked rows inside a batch)."""
    for _round in range(5):  # one clock can lead to another (e.g. two overdue steps)
        overdue = [
            t
            for t in transitions_for(dispute.state, Party.SYSTEM)
            if t.clock and t.guard(dispute, actor=None, now=now) is None
        ]
        if not overdue:
            break
        # When two clocks have both run out, the one that ran out first decides.
        due_now = min(overdue, key=lambda t: getattr(dispute, t.clock))
        _apply(dispute, due_now, actor=None, now=now, payload={})


def dispute_act(*, dispute: Dispute, action: str, party: Party, actor: User | None, **payload) -> Dispute:
    """Take `action` on the dispute as `party`. The one way a dispute changes state."""
    now = timezone.now()
    if party != Party.SYSTEM:
        # A deadline that has passed is enforced now, not only when the sweep comes by.
        catch_up(dispute.pk, now=now)
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
        transition = candidates[0]
        if transition.guard is not None:
            problem = transition.guard(dispute, actor=actor, party=party, now=now)
            if problem:
                audit_log.info("dispute=%s refused action=%s party=%s why=%s", dispute.pk, action, party, problem)
                raise RuleViolation("invalid_state", problem)
        _apply(dispute, transition, actor=actor, now=now, payload=payload)
    return dispute
