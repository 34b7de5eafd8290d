"""The dispute workflow in one place (DESIGN.md §3; drawn in docs/disputes.md).

`TRANSITIONS` is the whole table: for each action, the states it starts from, the party who may
take it, a guard that may refuse it, the states it can lead to, and its effect. `CLOCKS`
(disputes/states.py, re-exported here) says which state runs which clock and which system row acts
when it runs out. `dispute_act` is the only way a dispute changes state: it locks the row, catches
up on any clock that has already run out, checks party, state and guard, applies the effect, sets
the next clock and appends one event, all in one transaction. docs/disputes.md lists the promises
the table keeps (money, liveness, finality, appeals, sense, the team); disputes/invariants.py
checks them.
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

from accounts import roles
from accounts.models import User
from config.errors import RuleViolation
from disputes import batch
from disputes.models import (
    Cause,
    Dispute,
    DisputeEvent,
    Outcome,
    Party,
    PendingRuling,
    Proposal,
    Reason,
    ReturnCondition,
    State,
)
from disputes.payments import refund_issue, refund_position, refunded_so_far
from disputes.states import AWAITING, CLOCKS, DEADLINE_COLUMNS, NEGOTIATING, NEW, WITH_TEAM, Clock

audit_log = logging.getLogger("dispute_desk.audit")
log = logging.getLogger("dispute_desk.sweeps")

S = State
ZERO = Decimal("0.00")
# A dispute set aside (a clock or routing step failed) is tried again this long after.
RETRY_AFTER = timedelta(hours=1)

__all__ = ["AWAITING", "CLOCKS", "TRANSITIONS", "Clock", "dispute_act"]


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
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


def return_possible(*, reason: str, item_received: bool) -> bool:
    """An item that never arrived cannot be sent back: "not received" never asks for a return."""
    return item_received and reason != Reason.NOT_RECEIVED


def can_return(dispute: Dispute) -> bool:
    return return_possible(reason=dispute.reason, item_received=dispute.item_received)


def refuse_impossible_return(*, reason: str, item_received: bool, return_item) -> None:
    """Opening, offers and rulings alike: asking for the item back when it never arrived is refused."""
    if return_item and not return_possible(reason=reason, item_received=item_received):
        raise RuleViolation(
            "return_not_possible",
            _("The item never arrived, so there is nothing to send back: ask for a refund only."),
            status=400,
        )


def _no_return(dispute: Dispute, return_item) -> None:
    refuse_impossible_return(reason=dispute.reason, item_received=dispute.item_received, return_item=return_item)


def resolve(dispute: Dispute, *, amount: Decimal, cause: str, now: datetime) -> State:
    """Close the dispute, refunding `amount` now (at most what is left to refund on the order).
    The recorded outcome and amount say what the buyer got from this dispute in all."""
    order, already = refund_position(dispute)
    amount = max(ZERO, min(amount, order.total - already))
    dispute.resolution_number += 1
    refund_issue(dispute=dispute, amount=amount, cause=cause, order=order, already=already)
    dispute.resolved_refund_amount = dispute.refunded_amount
    dispute.cause = cause
    dispute.resolved_at = now
    if dispute.refunded_amount <= 0:
        dispute.outcome = Outcome.NO_REFUND
    elif already + amount >= order.total:
        dispute.outcome = Outcome.FULL_REFUND
    else:
        dispute.outcome = Outcome.PARTIAL_REFUND
    return S.RESOLVED


def agree(dispute: Dispute, *, amount: Decimal, return_item: bool, cause: str, now: datetime) -> State:
    """An outcome both sides are bound by: refund now, or after the item comes back."""
    if return_item and can_return(dispute):
        dispute.agreed_refund_amount = amount
        dispute.agreed_cause = cause
        return S.AWAITING_RETURN
    return resolve(dispute, amount=amount, cause=cause, now=now)


def _preloaded(dispute: Dispute, party: Party):
    preloaded = getattr(dispute, "_latest", None)  # a sweep's batch reads them for a whole chunk
    return (True, preloaded[party]) if preloaded is not None else (False, None)


def buyer_request(dispute: Dispute) -> Proposal:
    """The buyer's latest word: the request as opened, or as last modified."""
    found, proposal = _preloaded(dispute, Party.BUYER)
    if found:
        return proposal
    return dispute.proposals.filter(party=Party.BUYER).order_by("-created_at", "-id").first()


def standing_offer(dispute: Dispute) -> Proposal | None:
    """The seller's counter-offer stands until the seller replaces it with another: a later
    rejection of a modified request does not take it back."""
    found, proposal = _preloaded(dispute, Party.SELLER)
    if found:
        return proposal
    return (
        dispute.proposals.filter(party=Party.SELLER, kind=Proposal.Kind.COUNTER).order_by("-created_at", "-id").first()
    )


def latest(dispute: Dispute, party: Party) -> Proposal | None:
    """What each side stands on: the buyer's latest request, the seller's standing offer."""
    return buyer_request(dispute) if party == Party.BUYER else standing_offer(dispute)


def refundable(dispute: Dispute) -> Decimal:
    """What is left to refund on the dispute's order (what was paid less every refund so far)."""
    return dispute.order.total - refunded_so_far(dispute.order)


def check_amount(dispute: Dispute, amount) -> Decimal:
    """A request or counter-offer asks at most for what is left to refund."""
    if amount is None or amount == "":
        raise RuleViolation("invalid", _("Give a refund amount."), status=400)
    amount = _money(amount)
    left = refundable(dispute)
    if amount <= 0 or amount > left:
        raise RuleViolation(
            "invalid_amount",
            _("The refund must be more than 0 and at most the %(left)s %(cur)s left to refund.")
            % {"left": left, "cur": dispute.order.currency},
            status=400,
        )
    return amount


def propose(dispute, *, party: Party, kind: str, actor: User, amount=None, return_item=False, note="", now):
    dispute.__dict__.pop("_latest", None)
    Proposal.objects.create(
        dispute=dispute,
        party=party,
        kind=kind,
        refund_amount=amount if amount is not None else ZERO,
        return_item=bool(return_item),
        note=note or "",
        author=actor,
        created_at=now,
    )


# --- effects -------------------------------------------------------------------------------------


def opens(dispute, **_ignored):
    return S.AWAITING_SELLER


def seller_accepts(dispute, *, now, **_ignored):
    request = buyer_request(dispute)
    return agree(dispute, amount=request.refund_amount, return_item=request.return_item, cause=Cause.AGREEMENT, now=now)


def seller_rejects(dispute, *, actor, now, note="", **_ignored):
    if not (note or "").strip():
        raise RuleViolation("invalid", _("Say why you reject the request."), status=400)
    propose(dispute, party=Party.SELLER, kind=Proposal.Kind.REJECTION, actor=actor, note=note, now=now)
    return S.AWAITING_BUYER


def seller_counters(dispute, *, actor, now, refund_amount=None, return_item=False, note="", **_ignored):
    amount = check_amount(dispute, refund_amount)
    _no_return(dispute, return_item)
    propose(dispute, party=Party.SELLER, kind=Proposal.Kind.COUNTER, actor=actor, amount=amount,
            return_item=return_item, note=note, now=now)  # fmt: skip
    return S.AWAITING_BUYER


def buyer_accepts(dispute, *, now, **_ignored):
    offer = standing_offer(dispute)
    return agree(dispute, amount=offer.refund_amount, return_item=offer.return_item, cause=Cause.AGREEMENT, now=now)


def buyer_modifies(dispute, *, actor, now, refund_amount=None, return_item=False, note="", **_ignored):
    amount = check_amount(dispute, refund_amount)
    _no_return(dispute, return_item)
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

    if member is None or not roles.is_dispute_team(member):
        raise RuleViolation("invalid", _("Choose an active member of the dispute team."), status=400)
    if not is_available_reviewer(member, dispute):
        raise RuleViolation(
            "invalid_state",
            _("%(name)s may not review this dispute: a party to the order, or the member whose ruling is appealed.")
            % {"name": member.username},
        )
    dispute.assignee = member
    dispute.assigned_at = now
    return S.UNDER_REVIEW


def system_releases(dispute, **_ignored):
    dispute._handover_from = dispute.assignee.username if dispute.assignee else None
    dispute.assignee = None
    return S.ESCALATED


def ruling_target(dispute: Dispute, *, outcome, refund_amount) -> tuple[Decimal, bool]:
    """What a ruling gives the buyer in total for the order, and whether the item goes back first.
    A ruling's amount is the buyer's total: at least what was already refunded (it never takes
    money back), at most what was paid. Only the difference is paid."""
    order = dispute.order
    total, already = order.total, refunded_so_far(order)

    def within(amount) -> Decimal:
        amount = _money(amount)
        if amount < already or amount > total or amount <= 0:
            raise RuleViolation(
                "invalid_amount",
                _(
                    "A ruling's amount is what the buyer gets in all: between the %(already)s %(cur)s already "
                    "refunded and the %(total)s %(cur)s paid."
                )
                % {"already": already, "total": total, "cur": order.currency},
                status=400,
            )
        return amount

    if outcome == "full_refund":
        return total, False
    if outcome == "partial_refund":
        if refund_amount in (None, ""):
            raise RuleViolation("invalid", _("Give a refund amount."), status=400)
        amount = within(refund_amount)
        if amount >= total:
            raise RuleViolation("invalid_amount", _("A partial refund is less than the total paid."), status=400)
        return amount, False
    if outcome == "return_and_refund":
        _no_return(dispute, True)
        return (within(refund_amount) if refund_amount not in (None, "") else total), True
    if outcome == "no_refund":
        return already, False  # nothing more: what was refunded stays refunded
    raise RuleViolation("invalid", _("Choose full_refund, partial_refund, return_and_refund or no_refund."), status=400)


def team_rules(dispute, *, actor, now, outcome=None, refund_amount=None, note="", approved_by=None, **_ignored):
    target, return_item = ruling_target(dispute, outcome=outcome, refund_amount=refund_amount)
    if target > settings.RULING_APPROVAL_THRESHOLD and approved_by is None:
        raise RuleViolation(
            "approval_required",
            _("A ruling above %(limit)s %(cur)s needs a second team member's approval.")
            % {"limit": settings.RULING_APPROVAL_THRESHOLD, "cur": dispute.order.currency},
        )
    if approved_by is not None:
        from disputes.routing import is_available_reviewer

        if approved_by.pk == actor.pk or not is_available_reviewer(approved_by, dispute):
            raise RuleViolation(
                "invalid_state",
                _(
                    "The second approval must come from another team member who is not a party to the order "
                    "and did not make the ruling under appeal."
                ),
            )
    if dispute.assignee_id and dispute.assignee_id != actor.pk:
        dispute._handover_from = dispute.assignee.username  # recorded in the event
    if dispute.assignee_id != actor.pk:
        dispute.assigned_at = now
    dispute.assignee = actor
    dispute.ruled_by = actor
    dispute.ruled_at = now
    dispute.ruling_note = note or ""
    extra = target - refunded_so_far(dispute.order)
    if return_item:
        dispute.agreed_refund_amount = extra
        dispute.agreed_cause = Cause.RULING
        return S.AWAITING_RETURN
    return resolve(dispute, amount=extra, cause=Cause.RULING, now=now)


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
        return resolve(dispute, amount=dispute.agreed_refund_amount or ZERO, cause=dispute.agreed_cause, now=now)
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


def team_takes_over(dispute, *, now, **_ignored):
    dispute.escalated_at = now
    return S.ESCALATED


def seller_silence(dispute, *, now, **_ignored):
    request = buyer_request(dispute)
    return agree(dispute, amount=request.refund_amount, return_item=request.return_item,
                 cause=Cause.SELLER_TIMEOUT, now=now)  # fmt: skip


def buyer_silence(dispute, *, now, **_ignored):
    offer = standing_offer(dispute)
    if offer is None:
        return resolve(dispute, amount=ZERO, cause=Cause.BUYER_TIMEOUT, now=now)
    return agree(dispute, amount=offer.refund_amount, return_item=offer.return_item, cause=Cause.BUYER_TIMEOUT,
                 now=now)  # fmt: skip


def return_not_shipped(dispute, *, now, **_ignored):
    return resolve(dispute, amount=ZERO, cause=Cause.RETURN_NOT_SHIPPED, now=now)


def return_not_confirmed(dispute, *, now, **_ignored):
    return resolve(dispute, amount=dispute.agreed_refund_amount or ZERO, cause=Cause.RETURN_NOT_CONFIRMED, now=now)


# --- guards --------------------------------------------------------------------------------------


def seller_has_countered(dispute, **_ignored):
    if standing_offer(dispute) is None:
        return _("The seller rejected your request; there is no offer to accept. Modify it or escalate.")
    return None


def seller_has_answered(dispute, **_ignored):
    """The buyer may escalate once the seller has rejected or countered (DESIGN §2), including
    while the seller considers a modified request."""
    if dispute.state == S.AWAITING_BUYER:
        return None
    if not dispute.proposals.filter(party=Party.SELLER).exists():
        return _("The seller has %(n)s days to answer your request first; after a rejection or a counter-offer "
                 "you can escalate.") % {"n": settings.SELLER_RESPONSE_DAYS}  # fmt: skip
    return None


def may_cancel(dispute, **_ignored):
    """Finality: a ruling can't be escaped by cancelling and reopening."""
    if dispute.buyer_appealed or dispute.seller_appealed:
        return _("An appeal has been made on this dispute; it can no longer be cancelled.")
    if dispute.ruled_at or dispute.resolution_number:
        return _("The dispute team has ruled on this dispute; it can be appealed, not cancelled.")
    return None


def may_review(dispute, *, actor, **_ignored):
    """Only an active team member who is neither party to the order nor the member whose ruling
    is appealed may claim or rule."""
    from disputes.routing import is_available_reviewer

    if actor is None or is_available_reviewer(actor, dispute):
        return None
    if dispute.excluded_reviewer_id and actor.pk == dispute.excluded_reviewer_id:
        return _("This appeal must be reviewed by someone other than the member who ruled first.")
    if roles.is_party_to(actor, dispute.order):
        return _("You are a party to this order, so another team member must review its dispute.")
    return _("Only an active member of the dispute team can review disputes.")


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

    if dispute.assignee_id and not is_available_reviewer(dispute.assignee, dispute):
        return None
    return _("The assignee is still an active member of the dispute team.")


def is_set_aside(dispute, **_ignored):
    if dispute.set_aside_at is None:
        return _("Only a dispute set aside as needing a person can be taken over.")
    return None


def due(column: str):
    def guard(dispute, *, now, **_ignored):
        deadline = getattr(dispute, column)
        if deadline is None or now < deadline:
            return _("This deadline has not passed yet.")
        return None

    return guard


# --- the table -----------------------------------------------------------------------------------

TRANSITIONS: list[Transition] = [
    # action, from, who, to, effect, guard
    Transition("open", (NEW,), Party.BUYER, (S.AWAITING_SELLER,), opens, label=_("Open a dispute")),
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
    # A clock that failed set the dispute aside: the team takes it into the review queue.
    Transition("take_over", (*NEGOTIATING, S.AWAITING_RETURN, S.RETURN_IN_TRANSIT), Party.TEAM, (S.ESCALATED,),
               team_takes_over, guard=is_set_aside, label=_("Take over for review")),
    # Routing to the review queue.
    Transition("assign", (S.ESCALATED,), Party.SYSTEM, (S.UNDER_REVIEW,), system_assigns),
    Transition("release", (S.UNDER_REVIEW,), Party.SYSTEM, (S.ESCALATED,), system_releases,
               guard=assignee_unavailable),
    # The clocks (CLOCKS, DESIGN.md §2): the system acts when a party stays silent.
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
    now = now or timezone.now()
    return [
        t
        for t in transitions_for(dispute.state, party)
        if t.guard is None or t.guard(dispute, actor=actor, party=party, now=now) is None
    ]


def _set_clocks(dispute: Dispute, *, from_state: str, now: datetime) -> None:
    """Each deadline column follows CLOCKS: a clock starts when the dispute enters its states
    from outside them, keeps running while it moves within them, and is cleared when it leaves."""
    for column in DEADLINE_COLUMNS:
        clock = next((c for c in CLOCKS if c.column == column and dispute.state in c.states), None)
        if clock is None:
            setattr(dispute, column, None)
        elif from_state not in clock.states or getattr(dispute, column) is None:
            setattr(dispute, column, now + clock.length)


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


def _withdraw_pending_rulings(dispute: Dispute, *, keep: int | None, action: str) -> None:
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
        audit_log.info("dispute=%s action=ruling_withdrawn pending=%s why=%s", dispute.pk, ruling.pk, action)


def _apply(dispute: Dispute, transition: Transition, *, actor: User | None, now, payload: dict) -> None:
    from_state = dispute.state
    dispute.refund_issued = None  # set by refund_issue, for the notifications
    new_state = transition.effect(dispute, actor=actor, party=transition.party, now=now, **payload)
    if new_state not in transition.targets:
        # The table is the contract: an effect may not lead anywhere its row does not say.
        raise RuntimeError(f"{transition.action} by {transition.party} led to {new_state}, not {transition.targets}")
    dispute.state = new_state
    _set_clocks(dispute, from_state=from_state, now=now)
    # The dispute moved on: whatever set it aside is behind it.
    dispute.set_aside_at, dispute.set_aside_reason, dispute.retry_at = None, "", None
    pending = batch.current()
    if pending:
        pending.save_dispute(dispute)
    else:
        dispute.save()
        if from_state in WITH_TEAM and (new_state not in WITH_TEAM or transition.action == "ruling"):
            _withdraw_pending_rulings(dispute, keep=payload.get("pending_ruling"), action=transition.action)
    event_payload = {k: str(v) if not isinstance(v, (str, int, bool, type(None))) else v for k, v in payload.items()}
    if getattr(dispute, "_handover_from", None):
        event_payload["handover_from"] = dispute._handover_from
    if dispute.state == S.RESOLVED and from_state != S.RESOLVED:
        event_payload.update(outcome=dispute.outcome, refund_amount=str(dispute.resolved_refund_amount),
                             cause=dispute.cause)  # fmt: skip
    if dispute.refund_issued is not None:
        event_payload["refunded_now"] = str(dispute.refund_issued.amount)
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
        from_state or "new",
        dispute.state,
    )


def dispute_start(dispute: Dispute, *, actor: User, now: datetime, payload: dict) -> None:
    """Opening is a row of the table like any other: the new dispute enters its first state,
    its clocks start, and the event is written. The caller holds the order's lock."""
    transition = next(t for t in TRANSITIONS if t.action == "open")
    dispute.state = NEW
    _apply(dispute, transition, actor=actor, now=now, payload=payload)


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
    log.warning("dispute=%s set aside (needs a person): %s", dispute_id, reason)
    audit_log.info("dispute=%s action=set_aside why=%s", dispute_id, reason)
    return first


def dispute_act(*, dispute: Dispute, action: str, party: Party, actor: User | None, **payload) -> Dispute:
    """Take `action` on the dispute as `party`. The one way a dispute changes state."""
    now = timezone.now()
    if party != Party.SYSTEM:
        # A deadline that has passed is enforced now, not only when the sweep comes by. If that
        # clock fails, the dispute is set aside for the team, who may still act on it.
        try:
            catch_up(dispute.pk, now=now)
        except Exception as error:
            log.exception("dispute=%s clock failed while %s acted", dispute.pk, party)
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
        problems = []
        for transition in candidates:
            problem = transition.guard(dispute, actor=actor, party=party, now=now) if transition.guard else None
            if problem is None:
                break
            problems.append(problem)
        else:
            audit_log.info("dispute=%s refused action=%s party=%s why=%s", dispute.pk, action, party, problems[0])
            raise RuleViolation("invalid_state", problems[0])
        _apply(dispute, transition, actor=actor, now=now, payload=payload)
    return dispute
