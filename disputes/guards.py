"""The guards of the workflow table: each gets the Step and returns why the action is refused
now (a sentence for the person), or None when it may go ahead."""

from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from accounts import roles
from disputes.effects import Step
from disputes.models import Party, State
from disputes.terms import standing_offer

S = State


def seller_has_countered(step: Step) -> str | None:
    if standing_offer(step.dispute) is None:
        return _("The seller rejected your request; there is no offer to accept. Modify it or escalate.")
    return None


def seller_has_answered(step: Step) -> str | None:
    """The buyer may escalate once the seller has rejected or countered (docs/rules.md §2),
    including while the seller considers a modified request."""
    dispute = step.dispute
    if dispute.state == S.AWAITING_BUYER:
        return None
    if not dispute.proposals.filter(party=Party.SELLER).exists():
        return _("The seller has %(n)s days to answer your request first; after a rejection or a counter-offer "
                 "you can escalate.") % {"n": settings.SELLER_RESPONSE_DAYS}  # fmt: skip
    return None


def may_cancel(step: Step) -> str | None:
    """Finality: a ruling can't be escaped by cancelling and reopening."""
    dispute = step.dispute
    if dispute.buyer_appealed or dispute.seller_appealed:
        return _("An appeal has been made on this dispute; it can no longer be cancelled.")
    if dispute.ruled_at or dispute.resolution_number:
        return _("The dispute team has ruled on this dispute; it can be appealed, not cancelled.")
    return None


def may_review(step: Step) -> str | None:
    """Only an active team member who is neither party to the order nor the member whose ruling
    is appealed may claim or rule."""
    from disputes.routing import is_available_reviewer

    dispute, actor = step.dispute, step.actor
    if actor is None or is_available_reviewer(actor, dispute):
        return None
    if dispute.excluded_reviewer_id and actor.pk == dispute.excluded_reviewer_id:
        return _("This appeal must be reviewed by someone other than the member who ruled first.")
    if roles.is_party_to(actor, dispute.order):
        return _("You are a party to this order, so another team member must review its dispute.")
    return _("Only an active member of the dispute team can review disputes.")


def may_appeal(step: Step) -> str | None:
    dispute = step.dispute
    if not dispute.ruled_at:
        return _("Only a ruling by the dispute team can be appealed.")
    if step.now >= dispute.ruled_at + timedelta(days=settings.APPEAL_DAYS):
        return _("The %(n)s days to appeal this ruling have passed.") % {"n": settings.APPEAL_DAYS}
    appealed = dispute.buyer_appealed if step.party == Party.BUYER else dispute.seller_appealed
    if appealed:
        return _("You have already appealed this dispute once.")
    return None


def assignee_unavailable(step: Step) -> str | None:
    from disputes.routing import is_available_reviewer

    dispute = step.dispute
    if dispute.assignee_id and not is_available_reviewer(dispute.assignee, dispute):
        return None
    return _("The assignee is still an active member of the dispute team.")


def is_set_aside(step: Step) -> str | None:
    if step.dispute.set_aside_at is None:
        return _("Only a dispute set aside as needing a person can be taken over.")
    return None


def due(column: str):
    """The guard of a clock's row: its deadline has passed."""

    def guard(step: Step) -> str | None:
        deadline = getattr(step.dispute, column)
        if deadline is None or step.now < deadline:
            return _("This deadline has not passed yet.")
        return None

    return guard


def return_reported_bad(step: Step) -> str | None:
    """The dispute comes from a request whose return the seller reported damaged, empty or different."""
    from disputes.models import ReturnCondition, ReturnRequest

    bad = [c for c in ReturnCondition.values if c != ReturnCondition.OK]
    if ReturnRequest.objects.filter(dispute=step.dispute, return_condition__in=bad).exists():
        return None
    return _("Only a return reported not as expected goes to the team this way.")
