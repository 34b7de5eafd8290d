"""Who hears about each step of a dispute. Rows are written in the step's transaction."""

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext as _

from disputes.models import Dispute, DisputeEvent, Outcome, State
from disputes.states import AWAITING
from notifications.models import Notification
from notifications.services import notify

if TYPE_CHECKING:
    from disputes.writes import Writes

K = Notification.Kind


def _url(dispute: Dispute) -> str:
    """The dispute's page: `reverse("disputes:detail")`, worked out once per URL configuration and
    script prefix (a sweep links thousands of notices; reversing each was a twentieth of it)."""
    return _detail_prefix(settings.ROOT_URLCONF, get_urlconf(), get_script_prefix()) + f"{dispute.pk}/"


@cache
def _detail_prefix(root_urlconf: str, urlconf, script_prefix: str) -> str:
    return reverse("disputes:detail", args=[0], urlconf=urlconf).removesuffix("0/")


def notify_event(dispute: Dispute, event: DisputeEvent, *, writes: "Writes") -> None:
    """The notifications one event causes, handed to the writer's sink. Reads the state from the
    event, not the dispute: a sweep's gathering writer notifies after a chunk's transitions are done."""

    def _tell(user, dispute, event, kind, title) -> None:
        key = f"dispute:{dispute.pk}:event:{event.pk}:{kind}:{user.pk if user else 0}"
        writes.notifications.notify(recipient=user, kind=kind, key=key, title=title, url=event.url)

    order = dispute.order
    buyer, seller = order.buyer, order.store.owner
    number = order.number
    state = event.to_state
    event.url = _url(dispute)
    if event.action == "open":
        _tell(seller, dispute, event, K.DISPUTE_OPENED,
              _("A dispute was opened on order %(n)s: please answer within %(days)s days.")
              % {"n": number, "days": settings.SELLER_RESPONSE_DAYS})  # fmt: skip
        return
    if state == State.ESCALATED and event.from_state != State.ESCALATED:
        for user in (buyer, seller):
            _tell(user, dispute, event, K.ESCALATED,
                  _("The dispute on order %(n)s went to the dispute team.") % {"n": number})  # fmt: skip
        writes.route_after_commit(dispute.pk)
    if event.action in ("assign", "claim") or (event.action == "ruling" and event.payload.get("handover_from")):
        _tell(dispute.assignee, dispute, event, K.ASSIGNED,
              _("Dispute #%(id)s on order %(n)s is assigned to you.") % {"id": dispute.pk, "n": number})  # fmt: skip
    if event.action == "ruling":
        for user in (buyer, seller):
            _tell(user, dispute, event, K.RULED, _("The dispute team ruled on order %(n)s.") % {"n": number})
    # Whoever the new state's clock waits for (the clock table) hears it is their turn.
    turn = {"buyer": buyer, "seller": seller}.get(AWAITING.get(state))
    if turn is not None:
        _tell(turn, dispute, event, K.YOUR_TURN,
              _("Your turn in the dispute on order %(n)s.") % {"n": number})  # fmt: skip
    if state == State.RESOLVED and event.from_state != State.RESOLVED:
        outcome = str(Outcome(event.payload["outcome"]).label)
        for user in (buyer, seller):
            title = _("The dispute on order %(n)s is resolved: %(outcome)s.") % {"n": number, "outcome": outcome}
            _tell(user, dispute, event, K.RESOLVED, title)
        if getattr(event, "refund", None) is not None:
            _tell(buyer, dispute, event, K.REFUNDED,
                  _("You were refunded for order %(n)s.") % {"n": number})  # fmt: skip


def tell_ruling_withdrawn(dispute: Dispute, ruling, *, action: str) -> None:
    """The member who proposed a ruling hears that it was withdrawn because the dispute moved on."""
    notify(
        recipient=ruling.proposed_by,
        kind=K.RULING_WITHDRAWN,
        key=f"pending_ruling:{ruling.pk}:withdrawn",
        title=_("Your proposed ruling on dispute #%(id)s was withdrawn: the dispute moved on (%(action)s).")
        % {"id": dispute.pk, "action": action},
        url=reverse("admin:disputes_dispute_change", args=[dispute.pk]),
    )


def alert_needs_person(dispute: Dispute, *, reason: str) -> None:
    """Every active team member and every superuser hears that a dispute needs a person: once
    per setting aside (the key names when it was set aside)."""
    from django.db.models import Q

    from accounts.models import User
    from accounts.roles import team_members

    people = User.objects.filter(Q(pk__in=team_members().values("pk")) | Q(is_superuser=True, is_active=True))
    title = _("Dispute #%(id)s on order %(n)s needs a person: %(why)s") % {
        "id": dispute.pk,
        "n": dispute.order.number,
        "why": reason[:120],
    }
    for person in people:
        notify(
            recipient=person,
            kind=K.NEEDS_PERSON,
            key=f"dispute:{dispute.pk}:needs_person:{dispute.set_aside_at.isoformat()}:{person.pk}",
            title=title,
            body=reason,
            url=reverse("admin:disputes_reviewqueueitem_changelist") + "?needs_person=yes",
        )
