"""Pauses and agreed extensions of a dispute's clocks (docs/rules.md, "Linked cases and pauses").

- The dispute team pauses a live dispute's clocks for a reason both parties see, for at most
  PAUSE_MAX_DAYS days. While paused no clock acts: the deadline columns are empty and `paused_left`
  keeps what each clock had left. When the pause ends (by hand, or when `paused_until` passes: the clock
  sweep, or the next action on the dispute) each clock gets back exactly that time.
- Either party may ask the other once per dispute for up to MORE_TIME_MAX_DAYS more days on the current
  step's deadline; the other side accepts or declines. Accepted, the step's answer deadline
  (`respond_by`) and the auto-escalation clock (`escalate_at`, while it runs) move by those days. A
  request still waiting when the dispute's state moves on lapses (disputes/engine.py).

Each runs on the dispute's locked row in one transaction, after enforcing any clock that has already
run out (as every action does), and writes one timeline event that both parties are told about.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from core.audit import audit
from core.errors import RuleViolation
from disputes.effects import Step
from disputes.engine import catch_up, dispute_set_aside, freeze_clocks, pause_end
from disputes.models import Dispute, DisputeEvent, MoreTime, Party, PauseReason, State
from disputes.services import party_of
from disputes.states import AWAITING, DEADLINE_COLUMNS, LIVE_STATES
from disputes.writes import Writes

log = logging.getLogger("dispute_desk.sweeps")

# The states whose answer clock waits for a party: the deadlines more time can be asked on.
PARTY_CLOCK_STATES = [state for state, who in AWAITING.items() if who in (Party.BUYER, Party.SELLER)]


def _locked(dispute_id: int) -> Dispute:
    return (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("order__store__owner", "order__buyer")
        .get(pk=dispute_id)
    )


def _catch_up_first(dispute: Dispute, now) -> None:
    """A deadline that has passed is enforced before the pause or the extension, as before any action
    (disputes.engine.dispute_transition); a clock that fails sets the dispute aside and the action goes on."""
    try:
        catch_up(dispute.pk, now=now)
    except Exception as error:
        log.exception("dispute clock failed before a pause or extension", extra={"dispute": dispute.pk})
        dispute_set_aside(dispute.pk, reason=f"{type(error).__name__}: {error}", now=now)


def _event(dispute: Dispute, *, actor: User, party: str, action: str, payload: dict, now) -> DisputeEvent:
    event = DisputeEvent(dispute=dispute, actor=actor, actor_party=party, action=action, from_state=dispute.state,
                         to_state=dispute.state, payload=payload, created_at=now)  # fmt: skip
    Writes().save_event(dispute, event)
    return event


def _refused(code: str, detail: str, dispute: Dispute, action: str, actor: User) -> RuleViolation:
    audit("dispute.refused", dispute=dispute.pk, action=action, actor=actor.username, why=code)
    return RuleViolation(code, detail)


def _days(days, most: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= most:
        raise RuleViolation(
            "invalid",
            _("Give a number of days from 1 to %(n)s.") % {"n": most},
            status=400,
            fields={"days": [_("From 1 to %(n)s.") % {"n": most}]},
        )
    return days


# --- pauses (the dispute team) --------------------------------------------------------------------


def dispute_pause(*, staff: User, dispute: Dispute, reason: str, note: str = "", days: int) -> Dispute:
    """A team member who is not a party to the order pauses a live dispute's running clocks for 1 to
    PAUSE_MAX_DAYS days, for one of the listed reasons. Refused while it is already paused."""
    if not roles.is_dispute_team(staff):
        raise _refused(
            "invalid_state", _("Only the dispute team can pause a dispute's clocks."), dispute, "pause", staff
        )
    if reason not in PauseReason.values:
        raise RuleViolation(
            "invalid",
            _("Choose a reason: %(reasons)s.") % {"reasons": ", ".join(PauseReason.values)},
            status=400,
            fields={"reason": [_("Choose one of: %(reasons)s.") % {"reasons": ", ".join(PauseReason.values)}]},
        )
    days = _days(days, settings.PAUSE_MAX_DAYS)
    now = timezone.now()
    _catch_up_first(dispute, now)
    with transaction.atomic():
        dispute = _locked(dispute.pk)
        if roles.is_party_to(staff, dispute.order):
            raise _refused("invalid_state", _("You are a party to this order: another team member must pause it."),
                           dispute, "pause", staff)  # fmt: skip
        if dispute.paused_at is not None:
            raise _refused(
                "already_paused",
                _("This dispute is already paused until %(until)s; resume it first.")
                % {"until": timezone.localtime(dispute.paused_until).strftime("%Y-%m-%d %H:%M %Z")},
                dispute,
                "pause",
                staff,
            )
        if dispute.state not in LIVE_STATES or all(getattr(dispute, c) is None for c in DEADLINE_COLUMNS):
            raise _refused("invalid_state", _("The dispute is now: %(state)s. No clock is running to pause.")
                           % {"state": State(dispute.state).label}, dispute, "pause", staff)  # fmt: skip
        until = now + timedelta(days=days)
        freeze_clocks(dispute, at=now)
        dispute.paused_at, dispute.paused_until = now, until
        dispute.pause_reason, dispute.pause_note = reason, note.strip()[:2000]
        dispute.save()
        payload = {"reason": reason, "note": dispute.pause_note, "days": days, "until": until.isoformat(),
                   "time_left": dict(dispute.paused_left)}  # fmt: skip
        _event(dispute, actor=staff, party=Party.TEAM, action="pause", payload=payload, now=now)
        audit("dispute.paused", dispute=dispute.pk, actor=staff.username, reason=reason, until=until.isoformat())
    return dispute


def dispute_resume(*, staff: User, dispute: Dispute) -> Dispute:
    """A team member ends a pause by hand: each clock gets back exactly the time it had left."""
    if not roles.is_dispute_team(staff):
        raise _refused("invalid_state", _("Only the dispute team can resume a dispute's clocks."), dispute, "resume",
                       staff)  # fmt: skip
    now = timezone.now()
    _catch_up_first(dispute, now)  # a pause that has already run its course ends there, by itself
    with transaction.atomic():
        dispute = _locked(dispute.pk)
        if dispute.paused_at is None:
            raise _refused("not_paused", _("This dispute is not paused."), dispute, "resume", staff)
        step = Step(dispute=dispute, party=Party.TEAM, actor=staff, now=now, writes=Writes())
        pause_end(dispute, step=step, at=now)
    return dispute


# --- more time (the parties) ----------------------------------------------------------------------


def _party(user: User, dispute: Dispute, action: str) -> str:
    party = party_of(user, dispute)
    if party not in (Party.BUYER, Party.SELLER):
        raise _refused("invalid_state", _("Only the buyer or the seller can ask each other for more time."),
                       dispute, action, user)  # fmt: skip
    return party


def more_time_ask(*, user: User, dispute: Dispute, days: int, note: str = "") -> MoreTime:
    """A party asks the other for 1 to MORE_TIME_MAX_DAYS more days on the current step's deadline, once
    per side per dispute, while the step waits for a party's answer and no other request waits."""
    party = _party(user, dispute, "more_time")
    days = _days(days, settings.MORE_TIME_MAX_DAYS)
    now = timezone.now()
    _catch_up_first(dispute, now)
    with transaction.atomic():
        dispute = _locked(dispute.pk)
        if dispute.state not in PARTY_CLOCK_STATES:
            raise _refused("invalid_state", _("The dispute is now: %(state)s. There is no deadline of the buyer's "
                           "or the seller's to extend.") % {"state": State(dispute.state).label}, dispute,
                           "more_time", user)  # fmt: skip
        if MoreTime.objects.filter(dispute=dispute, party=party).exists():
            raise _refused("more_time_used", _("You have already asked for more time on this dispute: "
                           "each side may ask once."), dispute, "more_time", user)  # fmt: skip
        if dispute.more_time_asked_by:
            raise _refused("more_time_pending", _("A request for more time already waits for an answer."),
                           dispute, "more_time", user)  # fmt: skip
        asked = MoreTime.objects.create(dispute=dispute, party=party, asked_by=user, days=days,
                                        note=note.strip()[:2000], state=dispute.state, asked_at=now)  # fmt: skip
        dispute.more_time_asked_by = party
        dispute.save(update_fields=["more_time_asked_by", "updated_at"])
        payload = {"more_time": asked.pk, "days": days, "note": asked.note}
        _event(dispute, actor=user, party=party, action="more_time", payload=payload, now=now)
        audit("dispute.more_time_asked", dispute=dispute.pk, actor=user.username, party=party, days=days)
    return asked


def more_time_answer(*, user: User, dispute: Dispute, accept: bool) -> MoreTime:
    """The other side answers a waiting request for more time. Accepted: the step's answer deadline and
    the auto-escalation clock (while it runs) move by the days asked, paused or not."""
    party = _party(user, dispute, "more_time_answer")
    now = timezone.now()
    _catch_up_first(dispute, now)  # a deadline already passed moved the dispute on: the request lapsed
    with transaction.atomic():
        dispute = _locked(dispute.pk)
        asked = MoreTime.objects.select_for_update().filter(dispute=dispute, status=MoreTime.Status.PENDING).first()
        if asked is None:
            raise _refused("no_more_time_request", _("No request for more time waits for an answer."), dispute,
                           "more_time_answer", user)  # fmt: skip
        if asked.party == party:
            raise _refused("own_more_time_request", _("You asked for this time; the other side answers it."),
                           dispute, "more_time_answer", user)  # fmt: skip
        payload = {"more_time": asked.pk, "days": asked.days, "accepted": bool(accept), "asked_by": asked.party}
        if accept:
            extra = timedelta(days=asked.days)
            if dispute.paused_at is not None:
                left = dict(dispute.paused_left)
                for column in DEADLINE_COLUMNS:
                    if column in left:
                        left[column] += extra.total_seconds()
                dispute.paused_left = left
            else:
                for column in DEADLINE_COLUMNS:
                    if getattr(dispute, column) is not None:
                        setattr(dispute, column, getattr(dispute, column) + extra)
                        payload[column] = getattr(dispute, column).isoformat()
        asked.status = MoreTime.Status.ACCEPTED if accept else MoreTime.Status.DECLINED
        asked.answered_by, asked.answered_at = user, now
        asked.save(update_fields=["status", "answered_by", "answered_at"])
        dispute.more_time_asked_by = ""
        dispute.save()
        _event(dispute, actor=user, party=party, action="more_time_answer", payload=payload, now=now)
        audit("dispute.more_time_answered", dispute=dispute.pk, actor=user.username, party=party,
              accepted=bool(accept), days=asked.days)  # fmt: skip
    return asked
