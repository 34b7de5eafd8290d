"""Routing escalated disputes to the dispute team (DESIGN.md §2, review queue)."""

from django.db.models import Count, F, Max, Q

from accounts.models import DISPUTE_TEAM_GROUP, User
from disputes.models import Dispute, State

OPEN_WORK = [State.ESCALATED, State.UNDER_REVIEW]


def team_members():
    return User.objects.filter(groups__name=DISPUTE_TEAM_GROUP, is_active=True, is_staff=True)


def is_available_reviewer(user: User | None) -> bool:
    return user is not None and team_members().filter(pk=user.pk).exists()


def pick_reviewer(dispute: Dispute) -> User | None:
    """An active team member with the least open work; ties go to the one idle longest
    (never assigned counts as idlest). An appeal never goes to the member who ruled first."""
    members = team_members()
    if dispute.excluded_reviewer_id:
        members = members.exclude(pk=dispute.excluded_reviewer_id)
    return (
        members.annotate(
            open_work=Count("assigned_disputes", filter=Q(assigned_disputes__state__in=OPEN_WORK)),
            last_assigned=Max("assigned_disputes__assigned_at"),
        )
        .order_by("open_work", F("last_assigned").asc(nulls_first=True), "pk")
        .first()
    )
