"""The sweeps that make the dispute clocks act (run every minute by Celery beat, or
`manage.py run_deadlines`). Each finds due rows with an index, a limited number at a time, claims each row with
SELECT ... FOR UPDATE SKIP LOCKED (so two workers never take the same row) and calls the same
service a person's action would. Running a sweep twice does nothing the second time."""

import logging
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.roles import team_members
from core.errors import RuleViolation
from disputes.engine import catch_up, dispute_set_aside, dispute_transition, run_clocks
from disputes.models import CLOCK_STATES, NEGOTIATING, Dispute, EvidenceRequest, Party, Proposal, State
from disputes.states import AWAITING
from disputes.writes import gathered
from notifications.models import Notification
from notifications.services import notify

log = logging.getLogger("dispute_desk.sweeps")

LIMIT = 500


def _claim(dispute_id: int) -> bool:  # one row; sweep_clocks claims in chunks
    """Lock the row for this transaction, or say another worker has it."""
    return Dispute.objects.select_for_update(skip_locked=True).filter(pk=dispute_id).exists()


def due_clocks(now: datetime):
    return Dispute.objects.filter(set_aside_at__isnull=True, paused_at__isnull=True).filter(
        Q(state__in=CLOCK_STATES, respond_by__lte=now) | Q(state__in=NEGOTIATING, escalate_at__lte=now)
    ) | pauses_ended(now)


def pauses_ended(now: datetime):
    """Paused disputes whose pause has run its course: the sweep gives their clocks back (read from the
    pause index, Dispute.Meta)."""
    return Dispute.objects.filter(paused_at__isnull=False, set_aside_at__isnull=True, paused_until__lte=now)


def due_queries(now: datetime):
    """What is due, by answer deadline and by age, each in deadline order: each is read from its
    partial index (Dispute.Meta), which holds only the disputes whose clock can run out and that
    are neither set aside nor paused (the pauses that have ended come from theirs: `pauses_ended`)."""
    live = Dispute.objects.filter(set_aside_at__isnull=True, paused_at__isnull=True)
    return (
        live.filter(state__in=CLOCK_STATES, respond_by__lte=now).order_by("respond_by"),
        live.filter(state__in=NEGOTIATING, escalate_at__lte=now).order_by("escalate_at"),
    )


def retries_due(now: datetime):
    """Set-aside disputes whose hourly retry has come."""
    return Dispute.objects.filter(set_aside_at__isnull=False, retry_at__lte=now).order_by("retry_at")


def _due_ids(now: datetime, limit: int) -> list[int]:
    """One index range scan per deadline column, and one for the pauses; an OR would walk a whole index."""
    ids: list[int] = []
    for due in (*due_queries(now), pauses_ended(now).order_by("paused_until")):
        if len(ids) >= limit:
            break
        seen = set(ids)
        ids += [pk for pk in due.values_list("pk", flat=True)[: limit - len(ids)] if pk not in seen]
    return ids[:limit]


def sweep_clocks(*, now: datetime | None = None, limit: int = LIMIT, chunk: int = LIMIT) -> int:
    """Seller silence, buyer silence, auto-escalation, returns not shipped or not confirmed.

    Rows are claimed `chunk` at a time in one transaction (SKIP LOCKED: another worker takes other
    rows) and run through the workflow's clocks together, their writes gathered (`disputes.writes.gathered`).
    If anything in a chunk fails, the chunk is undone and redone one row at a time, each row in its
    own savepoint, so one bad row never holds up the others."""
    now = now or timezone.now()
    acted = _retry_set_aside(now, limit)
    while True:
        ids = _due_ids(now, limit)
        progressed = 0
        for start in range(0, len(ids), chunk):
            progressed += _act_on_chunk(ids[start : start + chunk], now=now)
        acted += progressed
        if len(ids) < limit or not progressed:
            return acted


def _act_on_chunk(ids: list[int], *, now: datetime) -> int:
    with transaction.atomic():
        # of=("self",): lock the disputes only; the gathering writer locks their orders, which it needs.
        disputes = list(
            Dispute.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order")  # stores and the people to notify: once per chunk (the writer)
            .defer("order__return_policy_snapshot")  # no clock reads it; decoding it cost a tenth of a sweep
            .filter(pk__in=ids)
            .order_by("pk")
        )
        before = {dispute.pk: dispute.state for dispute in disputes}
        try:
            with transaction.atomic(), gathered(disputes) as writes:
                for dispute in disputes:
                    run_clocks(dispute, now=now, writes=writes)
            return sum(dispute.state != before[dispute.pk] for dispute in disputes)
        except SoftTimeLimitExceeded:
            raise  # out of task time: not a bad row; this chunk is undone and the next run takes it
        except Exception:
            log.exception(
                "clock sweep: a chunk failed together; acting one at a time", extra={"disputes": len(disputes)}
            )
    return sum(_catch_up_one(dispute_id, state, now=now) for dispute_id, state in before.items())


def _catch_up_one(dispute_id: int, state: str, *, now: datetime) -> int:
    """Run one dispute's clocks in its own savepoint. If they fail, the dispute is set aside for a
    person (retried hourly), and the rest of the sweep goes on: no clock fails every minute forever."""
    try:
        with transaction.atomic():
            return int(catch_up(dispute_id, now=now).state != state)
    except SoftTimeLimitExceeded:
        raise
    except Exception as error:
        log.exception("clock sweep failed for a dispute; setting it aside", extra={"dispute": dispute_id})
        dispute_set_aside(dispute_id, reason=f"{type(error).__name__}: {error}", now=now)
        return 0


def _retry_set_aside(now: datetime, limit: int) -> int:
    """The hourly retry of set-aside disputes whose clock failed (routing retries its own)."""
    acted = 0
    for dispute_id, state in list(retries_due(now).filter(state__in=CLOCK_STATES).values_list("pk", "state")[:limit]):
        acted += _catch_up_one(dispute_id, state, now=now)
    return acted


def route(dispute_id: int) -> bool:
    """Assign one escalated dispute to a reviewer; False if it is not waiting or nobody is free."""
    with transaction.atomic():
        if not _claim(dispute_id):
            return False
        dispute = Dispute.objects.get(pk=dispute_id)
        if dispute.state != State.ESCALATED or dispute.assignee_id:
            return False
        try:
            with transaction.atomic():
                dispute_transition(dispute=dispute, action="assign", party=Party.SYSTEM, actor=None)
        except RuleViolation as refusal:
            # Nobody can take it (no active member, or only the order's own parties): every member
            # and the superusers are alerted, and routing tries again within the hour.
            log.warning("dispute not routed", extra={"dispute": dispute_id, "why": refusal.detail})
            dispute_set_aside(dispute_id, reason=refusal.detail)
            return False
    return True


def sweep_routing(*, limit: int = LIMIT) -> int:
    """Route escalated disputes nobody has yet, and give back the work of members who left."""
    released = 0
    members = team_members()
    stranded = (
        Dispute.objects.filter(state=State.UNDER_REVIEW)
        .exclude(assignee__in=members)
        .values_list("pk", flat=True)[:limit]
    )
    for dispute_id in list(stranded):
        with transaction.atomic():
            if not _claim(dispute_id):
                continue
            try:
                dispute_transition(dispute=Dispute(pk=dispute_id), action="release", party=Party.SYSTEM, actor=None)
                released += 1
            except RuleViolation:
                continue
    # Set aside for want of a reviewer: tried again hourly, not every minute.
    now = timezone.now()
    waiting = (
        Dispute.objects.filter(state=State.ESCALATED, assignee__isnull=True)
        .exclude(set_aside_at__isnull=False, retry_at__gt=now)
        .order_by("escalated_at")
    )
    routed = sum(route(pk) for pk in list(waiting.values_list("pk", flat=True)[:limit]))
    return routed + released


def _keyset_pages(rows: QuerySet, field: str, limit: int):
    """All of `rows` in `field` order, `limit` rows a page (keyset: each page starts after the last
    row of the one before), so a window holding more than a page is still read to its end."""
    rows = rows.order_by(field, "pk")
    after = Q()
    while chunk := list(rows.filter(after)[:limit]):
        yield chunk
        if len(chunk) < limit:
            return
        last = chunk[-1]
        value = getattr(last, field)
        after = Q(**{f"{field}__gt": value}) | Q(**{field: value, "pk__gt": last.pk})


def _send_new(notices: list[tuple], *, amounts: bool = False) -> int:
    """Send each (recipient, kind, key, params, url) whose key has not been used; one query to
    find those already sent, however many there are. With `amounts`, the fresh ones' params get
    each side's latest amount (one more query for them all)."""
    notices = [notice for notice in notices if notice[0] is not None]
    keys = [notice[2] for notice in notices]
    already = set(Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    fresh = [notice for notice in notices if notice[2] not in already]
    if amounts and fresh:
        _add_positions([notice[3] for notice in fresh])
    for recipient, kind, key, params, url in fresh:
        notify(recipient=recipient, kind=kind, key=key, params=params, url=url)
    return len(fresh)


def _add_positions(params: list[dict]) -> None:
    """Each reminder's dispute: the buyer's latest request and the seller's standing offer."""
    latest: dict[tuple[int, str], tuple] = {}
    proposals = (
        Proposal.objects.filter(dispute_id__in={p["dispute"] for p in params})
        .filter(Q(party=Party.BUYER) | Q(party=Party.SELLER, kind=Proposal.Kind.COUNTER))
        .order_by("dispute_id", "party", "-created_at", "-id")
        .values_list("dispute_id", "party", "refund_amount", "return_item")
    )
    for dispute_id, party, amount, return_item in proposals:
        latest.setdefault((dispute_id, party), (str(amount), return_item))
    for p in params:
        request = latest.get((p["dispute"], Party.BUYER), (None, False))
        offer = latest.get((p["dispute"], Party.SELLER), (None, False))
        p["request"], p["offer"] = request[0], offer[0]
        p["return_item"] = offer[1] if p.get("state") == State.AWAITING_BUYER else request[1]


def _money(amount) -> str | None:
    return None if amount is None else str(amount)


def _dispute_params(dispute: Dispute, **more) -> dict:
    return {"order": dispute.order.number, "dispute": dispute.pk, "state": dispute.state,
            "currency": dispute.order.currency, **more}  # fmt: skip


def sweep_reminders(*, now: datetime | None = None, limit: int = 2000) -> int:
    """A day before any clock runs out, whoever can still act hears about it: the party an answer
    or a return waits for, the assignee of a ruling, both parties before a dispute escalates by
    itself, the party asked for evidence. An overdue ruling is flagged to its assignee. Keyed on
    the deadline, so each is sent once; every row in the window is read, however many."""
    now = now or timezone.now()
    tomorrow = now + timedelta(days=1)
    day_left = Notification.Kind.DAY_LEFT
    sent = 0
    parties = ("order__buyer", "order__store__owner")
    soon = Dispute.objects.filter(state__in=list(AWAITING), respond_by__gt=now, respond_by__lte=tomorrow)
    for chunk in _keyset_pages(soon.select_related(*parties, "assignee"), "respond_by", limit):
        notices = []
        for dispute in chunk:
            who = AWAITING[dispute.state]
            user = {"buyer": dispute.order.buyer, "seller": dispute.order.store.owner, "staff": dispute.assignee}[who]
            key = f"dispute:{dispute.pk}:day_left:{dispute.state}:{dispute.respond_by.isoformat()}"
            params = _dispute_params(dispute, event="answer", role="team" if who == "staff" else who,
                                     deadline=dispute.respond_by.isoformat(),
                                     amount=_money(dispute.agreed_refund_amount))  # fmt: skip
            # The team works a dispute in the review screen; the parties on the dispute's page.
            page = "admin:disputes_reviewqueueitem_review" if who == "staff" else "disputes:detail"
            notices.append((user, day_left, key, params, reverse(page, args=[dispute.pk])))
        sent += _send_new(notices, amounts=True)
    escalating = Dispute.objects.filter(state__in=NEGOTIATING, escalate_at__gt=now, escalate_at__lte=tomorrow)
    for chunk in _keyset_pages(escalating.select_related(*parties), "escalate_at", limit):
        notices = []
        for dispute in chunk:
            for user, role in ((dispute.order.buyer, "buyer"), (dispute.order.store.owner, "seller")):
                key = f"dispute:{dispute.pk}:day_left:escalation:{dispute.escalate_at.isoformat()}:{user.pk}"
                params = _dispute_params(dispute, event="escalation", role=role,
                                         deadline=dispute.escalate_at.isoformat())  # fmt: skip
                notices.append((user, day_left, key, params, reverse("disputes:detail", args=[dispute.pk])))
        sent += _send_new(notices, amounts=True)
    asked = EvidenceRequest.objects.filter(
        answered_at__isnull=True, expired_at__isnull=True, due_at__gt=now, due_at__lte=tomorrow
    ).select_related("dispute__order__buyer", "dispute__order__store__owner")
    for chunk in _keyset_pages(asked, "due_at", limit):
        notices = []
        for request in chunk:
            order = request.dispute.order
            user = order.buyer if request.party == Party.BUYER else order.store.owner
            params = _dispute_params(request.dispute, event="evidence", role=request.party, note=request.note,
                                     deadline=request.due_at.isoformat())  # fmt: skip
            key = f"evidence_request:{request.pk}:day_left"
            notices.append((user, day_left, key, params, reverse("disputes:detail", args=[request.dispute_id])))
        sent += _send_new(notices)
    overdue = Dispute.objects.filter(state__in=[State.ESCALATED, State.UNDER_REVIEW], respond_by__lte=now)
    for chunk in _keyset_pages(overdue.select_related("order", "assignee"), "respond_by", limit):
        notices = [
            (
                dispute.assignee,
                Notification.Kind.SLA_BREACHED,
                f"dispute:{dispute.pk}:sla:{dispute.respond_by.isoformat()}:{dispute.assignee_id}",
                _dispute_params(dispute, role="team", deadline=dispute.respond_by.isoformat()),
                reverse("admin:disputes_reviewqueueitem_review", args=[dispute.pk]),
            )
            for dispute in chunk
        ]
        sent += _send_new(notices)
    return sent
