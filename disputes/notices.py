"""Who hears about each step of a dispute. Rows are written in the step's transaction."""

from functools import cache

from django.conf import settings
from django.db import transaction
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext as _

from config.queue import enqueue
from disputes.models import Dispute, DisputeEvent, Outcome, State
from disputes.states import AWAITING
from messaging.models import Notification
from messaging.notifications import notify

K = Notification.Kind


def _url(dispute: Dispute) -> str:
    """The dispute's page: `reverse("disputes:detail")`, worked out once per URL configuration and
    script prefix (a sweep links thousands of notices; reversing each was a twentieth of it)."""
    return _detail_prefix(settings.ROOT_URLCONF, get_urlconf(), get_script_prefix()) + f"{dispute.pk}/"


@cache
def _detail_prefix(root_urlconf: str, urlconf, script_prefix: str) -> str:
    return reverse("disputes:detail", args=[0], urlconf=urlconf).removesuffix("0/")


def _tell(user, dispute, event, kind, title) -> None:
    notify(recipient=user, kind=kind, key=f"dispute:{dispute.pk}:event:{event.pk}:{kind}:{user.pk if user else 0}",
           title=title, url=event.url)  # fmt: skip


def notify_event(dispute: Dispute, event: DisputeEvent) -> None:
    """The notifications one event causes. Reads the state from the event, not the dispute: a
    sweep's batch notifies after all of a chunk's transitions are done."""
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
        _route_after_commit(dispute.pk)
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


def _route_after_commit(dispute_id: int) -> None:
    from disputes import batch

    pending = batch.current()
    if pending:
        pending.route_later(dispute_id)  # one routing task for the chunk
        return
    from disputes.tasks import route_dispute

    transaction.on_commit(lambda: enqueue(route_dispute, dispute_id))


def tell_ruling_withdrawn(dispute: Dispute, ruling, *, action: str) -> None:
    """The member who proposed a ruling hears that it was withdrawn because the dispute moved on."""
    notify(
        recipient=ruling.proposed_by,
        kind=K.RULING_WITHDRAWN,
        key=f"pending_ruling:{ruling.pk}:withdrawn",
        title=_("Your proposed ruling on dispute #%(id)s was withdrawn: the dispute moved on (%(action)s).")
        % {"id": dispute.pk, "action": action},
        url=f"/admin/disputes/dispute/{dispute.pk}/change/",
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
            url="/admin/disputes/reviewqueueitem/?needs_person=yes",
        )
