"""What each row of the workflow table does: its effect (the guards that may refuse it: guards.py).

An effect gets the `Step` (the dispute, locked; who acts, as which party, when; and the writer its
writes go to) and, as keyword arguments, exactly what that action takes: a key it does not name is a
TypeError, not silently dropped. It changes the dispute in memory and returns the new state; the
engine (`disputes.engine`) checks that state against the table (`disputes.workflow`), sets the
clocks and saves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from core.errors import RuleViolation
from core.money import format_money, parse_amount
from disputes.models import Cause, Dispute, Party, Proposal, ReturnCondition, State
from disputes.policy import SELLER, covers_return, postage_payer
from disputes.terms import (
    ZERO,
    agree,
    approval_threshold,
    check_amount,
    postage_due,
    propose,
    refuse_return_of,
    resolve,
    ruling_target,
)
from disputes.writes import Writes

S = State


@dataclass(frozen=True)
class Step:
    dispute: Dispute
    party: Party
    actor: User | None
    now: datetime
    note: str = ""  # every person's action may carry one; a rejection must
    writes: Writes | None = None  # None only where guards alone are asked (buttons, refusals)


# --- the parties' moves --------------------------------------------------------------------------


def opens(
    step: Step, *, reason: str, refund_amount: str, return_item: bool, items=(), from_request: int | None = None
) -> State:
    return S.AWAITING_SELLER  # the request itself is the opening's Proposal (disputes.services)


def seller_accepts(step: Step) -> State:
    request = step.writes.buyer_request(step.dispute)
    return agree(step.dispute, amount=request.refund_amount, return_item=request.return_item, cause=Cause.AGREEMENT,
                 now=step.now, writes=step.writes)  # fmt: skip


def seller_rejects(step: Step) -> State:
    """A rejection puts the buyer's turn next; a return the store's policy covers cannot simply be
    refused, so rejecting one takes the dispute to the team."""
    if not step.note.strip():
        raise RuleViolation("invalid", _("Say why you reject the request."), status=400)
    propose(step.dispute, party=Party.SELLER, kind=Proposal.Kind.REJECTION, actor=step.actor, note=step.note,
            now=step.now)  # fmt: skip
    if step.writes.buyer_request(step.dispute).return_item and covers_return(step.dispute):
        step.dispute.escalated_at = step.now
        return S.ESCALATED
    return S.AWAITING_BUYER


def seller_counters(step: Step, *, refund_amount: Decimal | None = None, return_item: bool = False) -> State:
    amount = check_amount(step.dispute, refund_amount)
    refuse_return_of(step.dispute, return_item)
    propose(step.dispute, party=Party.SELLER, kind=Proposal.Kind.COUNTER, actor=step.actor, amount=amount,
            return_item=return_item, note=step.note, now=step.now)  # fmt: skip
    return S.AWAITING_BUYER


def buyer_accepts(step: Step) -> State:
    offer = step.writes.standing_offer(step.dispute)
    return agree(step.dispute, amount=offer.refund_amount, return_item=offer.return_item, cause=Cause.AGREEMENT,
                 now=step.now, writes=step.writes)  # fmt: skip


def buyer_modifies(step: Step, *, refund_amount: Decimal | None = None, return_item: bool = False) -> State:
    amount = check_amount(step.dispute, refund_amount)
    refuse_return_of(step.dispute, return_item)
    propose(step.dispute, party=Party.BUYER, kind=Proposal.Kind.MODIFICATION, actor=step.actor, amount=amount,
            return_item=return_item, note=step.note, now=step.now)  # fmt: skip
    return S.AWAITING_SELLER


def escalates(step: Step) -> State:
    step.dispute.escalated_at = step.now
    return S.ESCALATED


def cancels(step: Step) -> State:
    return S.CANCELLED


def buyer_ships_return(
    step: Step, *, carrier=None, tracking_number: str = "", postage=None, has_receipt: bool = False
) -> State:
    if carrier is None or not (tracking_number or "").strip():
        raise RuleViolation("invalid", _("Give the return's carrier and tracking number."), status=400)
    dispute = step.dispute
    if postage not in (None, ""):
        amount = parse_amount(postage, dispute.order.currency, field="postage")
        if amount < 0:
            raise RuleViolation("invalid_amount", _("Postage cannot be negative."), status=400)
        if amount > 0 and postage_payer(dispute.order, dispute.reason) == SELLER and not has_receipt:
            raise RuleViolation(
                "photos_required",
                _("Add a photo of the postage receipt: the seller refunds the postage on its evidence."),
                status=400,
                fields={"images": [_("Add a photo of the receipt.")]},
            )
        dispute.return_postage = amount
    dispute.return_carrier = carrier
    dispute.return_tracking_number = tracking_number.strip()
    dispute.return_shipped_at = step.now
    return S.RETURN_IN_TRANSIT


def seller_confirms_return(step: Step, *, condition: str | None = None) -> State:
    dispute = step.dispute
    if condition not in ReturnCondition.values:
        raise RuleViolation("invalid", _("Give the condition: ok, damaged, empty or different."), status=400)
    dispute.return_condition = condition
    if condition == ReturnCondition.OK:
        return resolve(dispute, amount=dispute.agreed_refund_amount or ZERO, cause=dispute.agreed_cause,
                       now=step.now, writes=step.writes, postage=postage_due(dispute))  # fmt: skip
    dispute.escalated_at = step.now
    return S.ESCALATED


def appeals(step: Step) -> State:
    dispute = step.dispute
    if dispute.case_id is not None:
        # An appeal takes the dispute out of its linked case: it is reviewed alone (the event says so).
        dispute._left_case = dispute.case_id
        dispute.case = None
    if step.party == Party.BUYER:
        dispute.buyer_appealed = True
    else:
        dispute.seller_appealed = True
    dispute.excluded_reviewer = dispute.ruled_by
    dispute.assignee = None
    dispute.escalated_at = step.now
    return S.ESCALATED


# --- the team's moves ----------------------------------------------------------------------------


def team_claims(step: Step) -> State:
    step.dispute.assignee = step.actor
    step.dispute.assigned_at = step.now
    return S.UNDER_REVIEW


def team_assigns(step: Step, *, member: User | None = None) -> State:
    from disputes.routing import is_available_reviewer

    if member is None or not roles.is_dispute_team(member):
        raise RuleViolation("invalid", _("Choose an active member of the dispute team."), status=400)
    if not is_available_reviewer(member, step.dispute):
        raise RuleViolation(
            "invalid_state",
            _("%(name)s may not review this dispute: a party to the order, or the member whose ruling is appealed.")
            % {"name": member.username},
        )
    step.dispute.assignee = member
    step.dispute.assigned_at = step.now
    return S.UNDER_REVIEW


def team_rules(
    step: Step,
    *,
    outcome: str | None = None,
    refund_amount=None,
    approved_by: User | None = None,
    case: int | None = None,
) -> State:
    """The team rules: alone, or (`case`) as one of a linked case's disputes, ruled together."""
    dispute, actor, now = step.dispute, step.actor, step.now
    if dispute.case_id is not None and case is None:
        raise RuleViolation(
            "in_case",
            _("This dispute is ruled with the others of linked case %(case)s: rule the case, or take it out first.")
            % {"case": dispute.case_id},
        )
    target, return_item = ruling_target(dispute, outcome=outcome, refund_amount=refund_amount)
    limit = approval_threshold(dispute.order.currency)
    if target > limit and approved_by is None:
        raise RuleViolation(
            "approval_required",
            _("A ruling above %(limit)s needs a second team member's approval.")
            % {"limit": format_money(limit, dispute.order.currency)},
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
    dispute.ruling_note = step.note
    extra = target - dispute.refunded_amount
    if return_item:
        dispute.agreed_refund_amount = extra
        dispute.agreed_cause = Cause.RULING
        return S.AWAITING_RETURN
    # A return already made under the policy's terms: its postage goes back with any refund ruled.
    postage = postage_due(dispute) if extra > 0 else ZERO
    return resolve(dispute, amount=extra, cause=Cause.RULING, now=now, writes=step.writes, postage=postage)


def team_takes_over(step: Step) -> State:
    step.dispute.escalated_at = step.now
    return S.ESCALATED


# --- the system's moves: routing, and the clocks running out -------------------------------------


def system_assigns(step: Step) -> State:
    from disputes.routing import pick_reviewer

    reviewer = pick_reviewer(step.dispute)
    if reviewer is None:
        raise RuleViolation("no_reviewer", _("No dispute-team member is available to take this dispute."))
    step.dispute.assignee = reviewer
    step.dispute.assigned_at = step.now
    return S.UNDER_REVIEW


def releases(step: Step) -> State:
    dispute = step.dispute
    dispute._handover_from = dispute.assignee.username if dispute.assignee else None
    dispute.assignee = None
    return S.ESCALATED


def seller_silence(step: Step) -> State:
    request = step.writes.buyer_request(step.dispute)
    return agree(step.dispute, amount=request.refund_amount, return_item=request.return_item,
                 cause=Cause.SELLER_TIMEOUT, now=step.now, writes=step.writes)  # fmt: skip


def buyer_silence(step: Step) -> State:
    offer = step.writes.standing_offer(step.dispute)
    if offer is None:
        return resolve(step.dispute, amount=ZERO, cause=Cause.BUYER_TIMEOUT, now=step.now, writes=step.writes)
    return agree(step.dispute, amount=offer.refund_amount, return_item=offer.return_item, cause=Cause.BUYER_TIMEOUT,
                 now=step.now, writes=step.writes)  # fmt: skip


def return_not_shipped(step: Step) -> State:
    return resolve(step.dispute, amount=ZERO, cause=Cause.RETURN_NOT_SHIPPED, now=step.now, writes=step.writes)


def return_not_confirmed(step: Step) -> State:
    return resolve(step.dispute, amount=step.dispute.agreed_refund_amount or ZERO, cause=Cause.RETURN_NOT_CONFIRMED,
                   now=step.now, writes=step.writes, postage=postage_due(step.dispute))  # fmt: skip
