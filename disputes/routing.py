"""Routing escalated disputes to the dispute team (review queue): who may review which dispute."""

from django.db.models import Count, F, Max, Q, QuerySet

from accounts.models import User
from accounts.roles import team_members
from disputes.models import Dispute, State

OPEN_WORK = [State.ESCALATED, State.UNDER_REVIEW]

__all__ = ["eligible_reviewers", "is_available_reviewer", "pick_reviewer"]


def eligible_reviewers(dispute: Dispute) -> QuerySet[User]:
    """Active team members who may review this dispute: never the order's buyer or seller, and
    for an appeal never the member whose ruling is appealed."""
    order = dispute.order
    members = team_members().exclude(pk__in=[order.buyer_id, order.store.owner_id])
    if dispute.excluded_reviewer_id:
        members = members.exclude(pk=dispute.excluded_reviewer_id)
    return members


def is_available_reviewer(user: User | None, dispute: Dispute | None = None) -> bool:
    if user is None:
        return False
    members = eligible_reviewers(dispute) if dispute is not None else team_members()
    return members.filter(pk=user.pk).exists()


def pick_reviewer(dispute: Dispute) -> User | None:
    """An eligible member with the least open work; ties go to the one idle longest (never
    assigned counts as idlest)."""
    return (
        eligible_reviewers(dispute)
        .annotate(
            open_work=Count("assigned_disputes", filter=Q(assigned_disputes__state__in=OPEN_WORK)),
            last_assigned=Max("assigned_disputes__assigned_at"),
        )
        .order_by("open_work", F("last_assigned").asc(nulls_first=True), "pk")
        .first()
    )
