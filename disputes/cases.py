"""Linked cases (docs/rules.md, "Linked cases and pauses"): disputes that share a cause, ruled once.

- A dispute-team member links live disputes that share a cause (one lost container, one carrier's strike,
  one store's bad batch) into a case. `case_suggestions` proposes candidates: the same shipment or return
  tracking number, the same store and reason opened within a week of each other, or the same carrier
  shipped within a week; the member confirms each one by linking it.
- One ruling applies to every live member: the same outcome, with each dispute's amount given in full,
  as a percentage of what its items are worth, or one by one. Each member is ruled through the workflow's
  own `ruling` row (disputes/workflow.py), once: the case and its members are locked, every member must be
  with the team, and a case has at most one ruling waiting or applied (a constraint), so a second ruling is
  refused. A member that closed on its own before the ruling (cancelled, agreed) is left as it closed.
- Above the approval threshold of any of its currencies (the members' total in that currency) the ruling
  waits for a second member, who approves exactly the amounts proposed.
- A dispute can be taken out before the ruling; an appeal takes it out after (disputes/effects.appeals),
  and it is reviewed alone. A member dispute is never ruled alone while it is in a case.
- The parties see their own dispute and the case's public reason, never the case's other members.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import roles
from accounts.models import User
from core.audit import audit
from core.errors import RuleViolation
from core.money import floor_minor, format_money, money_str, parse_amount
from disputes.engine import dispute_transition, withdraw_pending_rulings
from disputes.models import Case, CaseRuling, Dispute, DisputeEvent, Party, Refund
from disputes.routing import is_available_reviewer
from disputes.states import LIVE_STATES, WITH_TEAM
from disputes.terms import approval_threshold, buyer_request, cap, ruling_target
from disputes.writes import Writes
from orders.models import Order

OUTCOMES = ("full_refund", "partial_refund", "return_and_refund", "no_refund")
# Disputes opened (or shipped) less than this apart are "the same week" for a suggestion: every pair in
# one calendar week, and the pairs either side of its edge.
SAME_WEEK = timedelta(days=7)
SUGGESTIONS_SHOWN = 50
# The most disputes one case holds: a ruling applies to all of them in one transaction, on locked rows.
MAX_MEMBERS = 200
# What the parties read when the team gave no public reason of its own.
DEFAULT_PUBLIC_REASON = gettext_lazy(
    "Other disputes share the cause of this one, so the dispute team reviews and rules them together."
)


def public_reason(case: Case) -> str:
    return case.public_reason or str(DEFAULT_PUBLIC_REASON)


def _require_team(user: User, action: str) -> None:
    if not roles.is_dispute_team(user):
        audit("case.refused", action=action, actor=user.username, why="not_team")
        raise RuleViolation("forbidden", _("Only the dispute team works with linked cases."), status=403)


def _refused(code: str, detail: str, *, case: Case | None, action: str, actor: User, status: int = 409):
    audit("case.refused", case=case.pk if case else None, action=action, actor=actor.username, why=code)
    return RuleViolation(code, detail, status=status)


def _locked_case(case_id: int) -> Case:
    found = Case.objects.select_for_update().filter(pk=case_id).first()
    if found is None:
        raise RuleViolation("not_found", _("Not found."), status=404)
    return found


def _refuse_if_decided(case: Case, *, action: str, actor: User) -> None:
    if case.is_ruled:
        raise _refused("case_ruled", _("Case %(case)s is already ruled: its members can no longer change.")
                       % {"case": case.pk}, case=case, action=action, actor=actor)  # fmt: skip
    if case.rulings.filter(status=CaseRuling.Status.PENDING).exists():
        raise _refused(
            "approval_pending",
            _("A ruling on case %(case)s waits for approval: withdraw it before changing the members.")
            % {"case": case.pk},
            case=case,
            action=action,
            actor=actor,
        )


def _case_event(dispute: Dispute, *, actor: User | None, action: str, payload: dict, now) -> None:
    """One timeline event the parties see (with the case's public reason, never its id or members)."""
    party = Party.TEAM if actor is not None else Party.SYSTEM
    event = DisputeEvent(dispute=dispute, actor=actor, actor_party=party, action=action, from_state=dispute.state,
                         to_state=dispute.state, payload=payload, created_at=now)  # fmt: skip
    Writes().save_event(dispute, event)


def _link(case: Case, dispute_id, *, staff: User, now, field: str = "dispute") -> Dispute:
    """Link one dispute to the case the caller holds locked (`field`: the input that named it)."""
    try:
        dispute_id = int(dispute_id)
    except (TypeError, ValueError):
        dispute_id = None
    dispute = (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("order__store__owner", "order__buyer")
        .filter(pk=dispute_id)
        .first()
        if dispute_id
        else None
    )
    if dispute is None:
        raise RuleViolation(
            "invalid", _("There is no such dispute."), status=400, fields={field: [_("No dispute with this id.")]}
        )
    if dispute.case_id == case.pk:
        return dispute  # linked already: nothing to do again
    if dispute.case_id is not None:
        raise _refused("in_other_case", _("Dispute %(d)s is already in case %(case)s: take it out of that case first.")
                       % {"d": dispute.pk, "case": dispute.case_id}, case=case, action="link", actor=staff)  # fmt: skip
    if not dispute.is_live:
        raise _refused("invalid_state", _("Dispute %(d)s is closed: only a live dispute joins a case.")
                       % {"d": dispute.pk}, case=case, action="link", actor=staff)  # fmt: skip
    if dispute.ruled_at is not None:
        raise _refused(
            "invalid_state",
            _("Dispute %(d)s was ruled already; an appeal is reviewed alone, not in a case.") % {"d": dispute.pk},
            case=case,
            action="link",
            actor=staff,
        )
    if roles.is_party_to(staff, dispute.order):
        raise _refused("invalid_state", _("You are a party to the order of dispute %(d)s: another team member "
                       "must link it.") % {"d": dispute.pk}, case=case, action="link", actor=staff)  # fmt: skip
    if case.disputes.count() >= MAX_MEMBERS:
        raise _refused("case_full", _("A case holds at most %(n)s disputes: start another case for the rest.")
                       % {"n": MAX_MEMBERS}, case=case, action="link", actor=staff)  # fmt: skip
    dispute.case = case
    dispute.save(update_fields=["case", "updated_at"])
    # A ruling of this dispute alone that waits for approval can no longer apply: it is withdrawn, its
    # proposer told.
    withdraw_pending_rulings(dispute, keep=None, action="case_linked")
    _case_event(dispute, actor=staff, action="case_linked", payload={"case": case.pk, "reason": public_reason(case)},
                now=now)  # fmt: skip
    audit("case.linked", case=case.pk, dispute=dispute.pk, actor=staff.username)
    return dispute


def _ids(disputes) -> list[int]:
    """The dispute ids given, each once, in ascending order: the order every caller locks disputes in."""
    if disputes in (None, ""):
        return []
    try:
        if isinstance(disputes, (str, bytes, dict)):
            raise TypeError
        return sorted({int(d) for d in disputes})
    except (TypeError, ValueError):
        raise RuleViolation("invalid", _("Give the disputes as a list of ids."), status=400,
                            fields={"disputes": [_("A list of dispute ids.")]}) from None  # fmt: skip


def case_create(*, staff: User, public_reason: str = "", note: str = "", disputes=None) -> Case:
    """A new case, with the disputes named (all of them or none: one that cannot join refuses the lot)."""
    _require_team(staff, "create")
    ids = _ids(disputes)
    now = timezone.now()
    with transaction.atomic():
        case = Case.objects.create(public_reason=(public_reason or "").strip(), note=(note or "").strip(),
                                   created_by=staff, created_at=now)  # fmt: skip
        case = _locked_case(case.pk)
        for dispute_id in ids:
            _link(case, dispute_id, staff=staff, now=now, field="disputes")
    audit("case.created", case=case.pk, actor=staff.username, disputes=len(ids))
    return case


def case_add(*, staff: User, case: Case, dispute) -> Dispute:
    """Link one more dispute (a suggestion the member confirmed, or one they found)."""
    _require_team(staff, "link")
    now = timezone.now()
    with transaction.atomic():
        case = _locked_case(case.pk)
        _refuse_if_decided(case, action="link", actor=staff)
        return _link(case, dispute, staff=staff, now=now)


def case_remove(*, staff: User, case: Case, dispute_id: int) -> Dispute:
    """Take a dispute out of the case before the ruling: from then on it is reviewed and ruled alone."""
    _require_team(staff, "unlink")
    now = timezone.now()
    with transaction.atomic():
        case = _locked_case(case.pk)
        dispute = (
            Dispute.objects.select_for_update(of=("self",))
            .select_related("order__store__owner", "order__buyer")
            .filter(pk=dispute_id, case=case)
            .first()
        )
        if dispute is None:
            raise RuleViolation("not_found", _("This dispute is not in this case."), status=404)
        _refuse_if_decided(case, action="unlink", actor=staff)
        dispute.case = None
        dispute.save(update_fields=["case", "updated_at"])
        _case_event(dispute, actor=staff, action="case_unlinked", payload={"case": case.pk, "why": "taken_out"},
                    now=now)  # fmt: skip
    audit("case.unlinked", case=case.pk, dispute=dispute.pk, actor=staff.username)
    return dispute


# --- what the team sees of a case ----------------------------------------------------------------


@dataclass
class Member:
    dispute: Dispute
    at_stake: Decimal  # what the buyer asks now
    worth: Decimal  # the most a ruling can give the buyer from this dispute
    ruled: Decimal | None = None  # what the case's ruling gave (the buyer's total), once ruled

    @property
    def currency(self) -> str:
        return self.dispute.order.currency


def case_members(case: Case) -> list[Member]:
    disputes = (
        case.disputes.select_related("order__store__owner", "order__buyer", "order__carrier", "assignee")
        .prefetch_related("proposals", "claim_items__order_item")
        .order_by("pk")
    )
    applied = case.rulings.filter(status=CaseRuling.Status.APPLIED).first()
    disputes = list(disputes)
    refunded = {  # what each order refunded so far (payments.refunded_so_far), in one query for them all
        row["order_id"]: (row["total"] or Decimal(0)) - (row["postage"] or Decimal(0))
        for row in Refund.objects.filter(order_id__in={d.order_id for d in disputes})
        .values("order_id")
        .annotate(total=Sum("amount"), postage=Sum("postage"))
        .order_by()
    }
    rows = []
    for dispute in disputes:
        ruled = applied.amounts.get(str(dispute.pk)) if applied else None
        rows.append(
            Member(
                dispute=dispute,
                at_stake=buyer_request(dispute).refund_amount,
                worth=cap(dispute, already=refunded.get(dispute.order_id, Decimal(0))),
                ruled=Decimal(ruled) if ruled is not None else None,
            )
        )
    return rows


def totals(pairs) -> dict[str, Decimal]:
    """{currency: sum} of (currency, amount) pairs, currencies in alphabetical order."""
    summed: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in pairs:
        summed[currency] += amount
    return dict(sorted(summed.items()))


def at_stake(members: list[Member]) -> dict[str, Decimal]:
    """The total the buyers of the case's live members ask, currency by currency."""
    return totals((m.currency, m.at_stake) for m in members if m.dispute.is_live)


# --- suggestions ----------------------------------------------------------------------------------


@dataclass
class Suggestion:
    dispute: Dispute
    why: list[str] = field(default_factory=list)  # codes: tracking, store_reason_week, carrier_week


WHY = {
    "tracking": gettext_lazy("the same tracking number"),
    "store_reason_week": gettext_lazy("the same store and reason, opened the same week"),
    "carrier_week": gettext_lazy("the same carrier, shipped the same week"),
}


def _carrier(order):
    return order.shipment_carrier_id or order.carrier_id


def _near(a, b) -> bool:
    return a is not None and b is not None and abs(a - b) < SAME_WEEK


def _why(seed: Dispute, other: Dispute) -> list[str]:
    why = []
    seed_numbers = {n for n in (seed.order.tracking_number, seed.return_tracking_number) if n}
    other_numbers = {n for n in (other.order.tracking_number, other.return_tracking_number) if n}
    if seed_numbers & other_numbers:
        why.append("tracking")
    if (seed.order.store_id == other.order.store_id and seed.reason == other.reason
            and _near(seed.opened_at, other.opened_at)):  # fmt: skip
        why.append("store_reason_week")
    if (
        _carrier(seed.order)
        and _carrier(seed.order) == _carrier(other.order)
        and _near(seed.order.shipped_at, other.order.shipped_at)
    ):
        why.append("carrier_week")
    return why


def case_suggestions(*, case: Case | None = None, dispute: Dispute | None = None) -> list[Suggestion]:
    """Live disputes, in no case and never ruled, that look like sharing a cause with the case's members
    (or with one dispute): the member confirms each before it is linked."""
    seeds = list(case.disputes.select_related("order")) if case is not None else [dispute]
    seeds = [d for d in seeds if d is not None]
    if not seeds:
        return []
    match = Q()
    for seed in seeds:
        for number in {n for n in (seed.order.tracking_number, seed.return_tracking_number) if n}:
            match |= Q(order__tracking_number=number) | Q(return_tracking_number=number)
        match |= Q(
            order__store_id=seed.order.store_id,
            reason=seed.reason,
            opened_at__gt=seed.opened_at - SAME_WEEK,
            opened_at__lt=seed.opened_at + SAME_WEEK,
        )
        carrier, shipped = _carrier(seed.order), seed.order.shipped_at
        if carrier and shipped:
            same_carrier = Q(order__shipment_carrier_id=carrier) | Q(
                order__shipment_carrier__isnull=True, order__carrier_id=carrier
            )
            week = Q(order__shipped_at__gt=shipped - SAME_WEEK, order__shipped_at__lt=shipped + SAME_WEEK)
            match |= same_carrier & week
    candidates = (
        Dispute.objects.filter(match, state__in=LIVE_STATES, case__isnull=True, ruled_at__isnull=True)
        .exclude(pk__in=[s.pk for s in seeds])
        .select_related("order__store", "order__carrier", "order__buyer")
        .order_by("opened_at", "pk")[: SUGGESTIONS_SHOWN * 2]
    )
    found = []
    for other in candidates:
        why = sorted({code for seed in seeds for code in _why(seed, other)}, key=list(WHY).index)
        if why:
            found.append(Suggestion(dispute=other, why=why))
    return found[:SUGGESTIONS_SHOWN]


# --- the ruling -----------------------------------------------------------------------------------


def _amount_refusal(dispute: Dispute, refusal: RuleViolation, key: str) -> RuleViolation:
    detail = _("Dispute %(d)s: %(why)s") % {"d": dispute.pk, "why": refusal.detail}
    return RuleViolation(refusal.code, detail, status=400, fields={key: [detail]})


def _percent(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        percent = Decimal(str(value))
    except (InvalidOperation, ValueError):
        percent = None
    if (
        percent is None
        or not percent.is_finite()
        or not Decimal(0) < percent <= Decimal(100)
        or percent != round(percent, 2)
    ):
        raise RuleViolation("invalid", _("Give a percentage above 0 and up to 100."), status=400,
                            fields={"percent": [_("Above 0 and up to 100, with at most two decimals.")]})  # fmt: skip
    return percent


def _row(outcome: str, amount: Decimal | None, dispute: Dispute) -> tuple[str, Decimal | None]:
    """The ruling row's outcome and amount for one member: a partial refund that reaches what the dispute's
    items are worth (a percentage of 100, or its full amount given) is a full refund."""
    if outcome == "partial_refund" and amount is not None and amount == cap(dispute):
        return "full_refund", None
    return outcome, amount if outcome in ("partial_refund", "return_and_refund") else None


def ruling_amounts(members: list[Dispute], *, outcome: str, percent, amounts) -> dict[int, Decimal]:
    """The buyer's total from each member under this ruling (what `ruling_target` checks for one
    dispute), refused with the dispute it is about."""
    if outcome not in OUTCOMES:
        raise RuleViolation("invalid", _("Choose full_refund, partial_refund, return_and_refund or no_refund."),
                            status=400, fields={"outcome": [_("Choose one of the outcomes.")]})  # fmt: skip
    percent = _percent(percent)
    if amounts not in (None, "", {}) and percent is not None:
        raise RuleViolation("invalid", _("Give a percentage or an amount for each dispute, not both."), status=400,
                            fields={"amounts": [_("Leave out either the percentage or the amounts.")]})  # fmt: skip
    needs_amount = outcome == "partial_refund"
    if amounts not in (None, "", {}):
        if outcome in ("full_refund", "no_refund"):
            raise RuleViolation("invalid", _("A full refund or no refund takes no amounts."), status=400,
                                fields={"amounts": [_("Leave the amounts out for this outcome.")]})  # fmt: skip
        if not isinstance(amounts, dict) or {str(k) for k in amounts} != {str(d.pk) for d in members}:
            raise RuleViolation(
                "invalid",
                _("Give an amount for each dispute of the case, and only for them: %(ids)s.")
                % {"ids": ", ".join(str(d.pk) for d in members)},
                status=400,
                fields={"amounts": [_("One amount per member dispute, by its id.")]},
            )
        given = {str(k): v for k, v in amounts.items()}
    elif percent is not None:
        if outcome in ("full_refund", "no_refund"):
            raise RuleViolation("invalid", _("A full refund or no refund takes no percentage."), status=400,
                                fields={"percent": [_("Leave the percentage out for this outcome.")]})  # fmt: skip
        given = {str(d.pk): floor_minor(cap(d) * percent / 100, d.order.currency) for d in members}
    elif needs_amount:
        raise RuleViolation("invalid", _("Give a percentage, or an amount for each dispute."), status=400,
                            fields={"percent": [_("A partial refund needs a percentage or amounts.")]})  # fmt: skip
    else:
        given = {}
    key = "amounts" if amounts not in (None, "", {}) else "percent"
    targets = {}
    for dispute in members:
        raw = given.get(str(dispute.pk))
        try:
            amount = None
            if raw is not None:
                amount = parse_amount(raw, dispute.order.currency, field=key) if key == "amounts" else raw
            row_outcome, row_amount = _row(outcome, amount, dispute)
            targets[dispute.pk] = ruling_target(dispute, outcome=row_outcome, refund_amount=row_amount)[0]
        except RuleViolation as refusal:
            raise _amount_refusal(dispute, refusal, key) from None
    return targets


def _members_to_rule(case: Case, *, actor: User) -> list[Dispute]:
    """The case's live members, locked in id order; every one must be with the team."""
    members = list(
        Dispute.objects.select_for_update(of=("self",))
        .select_related("order__store__owner", "order__buyer")
        .filter(case=case, state__in=LIVE_STATES)
        .order_by("pk")
    )
    if not members:
        raise _refused("invalid_state", _("Case %(case)s has no live dispute left to rule.") % {"case": case.pk},
                       case=case, action="ruling", actor=actor)  # fmt: skip
    waiting = [d for d in members if d.state not in WITH_TEAM]
    if waiting:
        raise _refused(
            "invalid_state",
            _(
                "Every dispute of the case must be with the dispute team before the ruling; not yet: %(ids)s. "
                "Wait for them, or take them out of the case."
            )
            % {"ids": ", ".join(str(d.pk) for d in waiting)},
            case=case,
            action="ruling",
            actor=actor,
        )
    # Their orders too, in id order (the refunds lock them, one member at a time, in member order): two
    # rulings whose members share orders never wait on each other in a circle.
    list(Order.objects.select_for_update().filter(pk__in={d.order_id for d in members}).order_by("pk").values("pk"))
    return members


def _refuse_before_paying(case: Case, ruling: CaseRuling, members: list[Dispute], *, approved_by: User | None):
    """Everything that could refuse one member's ruling, checked for every member before any is ruled (a
    refund goes to the payment provider as its member is ruled): who rules and who approves may review
    each dispute, and each amount is still exactly what the ruling gives its buyer."""
    for dispute in members:
        for person in (ruling.proposed_by, approved_by):
            if person is not None and not is_available_reviewer(person, dispute):
                raise _refused(
                    "invalid_state",
                    _(
                        "%(name)s may not rule dispute %(d)s: a party to its order, or the member whose ruling "
                        "is appealed. Take the dispute out of the case, or let another member rule."
                    )
                    % {"name": person.username, "d": dispute.pk},
                    case=case,
                    action="ruling",
                    actor=person,
                )
        amount = Decimal(ruling.amounts[str(dispute.pk)])
        outcome, given = _row(ruling.outcome, amount, dispute)
        try:
            target = ruling_target(dispute, outcome=outcome, refund_amount=given)[0]
        except RuleViolation:
            target = None
        if target != amount:
            raise _refused(
                "invalid_state",
                _(
                    "Dispute %(d)s changed since the ruling was proposed (what it can still refund is not what "
                    "the ruling gives): withdraw the ruling and propose it again."
                )
                % {"d": dispute.pk},
                case=case,
                action="ruling",
                actor=approved_by or ruling.proposed_by,
            )


def _apply(case: Case, ruling: CaseRuling, members: list[Dispute], *, approved_by: User | None) -> None:
    """Rule each member through the workflow's own row, in id order, all in the caller's transaction."""
    _refuse_before_paying(case, ruling, members, approved_by=approved_by)
    for dispute in members:
        outcome, given = _row(ruling.outcome, Decimal(ruling.amounts[str(dispute.pk)]), dispute)
        dispute_transition(
            dispute=dispute,
            action="ruling",
            party=Party.TEAM,
            actor=ruling.proposed_by,
            note=ruling.note,
            outcome=outcome,
            refund_amount=given,
            approved_by=approved_by,
            case=case.pk,
        )
    now = timezone.now()
    case.status, case.ruled_at = Case.Status.RULED, now
    case.save(update_fields=["status", "ruled_at"])
    ruling.status, ruling.approved_by, ruling.decided_at = CaseRuling.Status.APPLIED, approved_by, now
    ruling.save(update_fields=["status", "approved_by", "decided_at"])


def needs_approval(case_totals: dict[str, Decimal]) -> list[str]:
    """The currencies whose total is above their approval threshold."""
    return [currency for currency, total in case_totals.items() if total > approval_threshold(currency)]


def case_rule(*, staff: User, case: Case, outcome: str, percent=None, amounts=None, note: str = ""):
    """Rule every live member of the case now, or, when the total in any currency is above its approval
    threshold, record the ruling for a second member. Returns ("ruled" | "pending", CaseRuling)."""
    _require_team(staff, "ruling")
    if not (note or "").strip():
        raise RuleViolation("invalid", _("Say why: the ruling's note is shown to both parties of every dispute."),
                            status=400, fields={"note": [_("This field is required.")]})  # fmt: skip
    with transaction.atomic():
        case = _locked_case(case.pk)
        _refuse_if_decided(case, action="ruling", actor=staff)
        members = _members_to_rule(case, actor=staff)
        targets = ruling_amounts(members, outcome=outcome, percent=percent, amounts=amounts)
        by_currency = totals((d.order.currency, targets[d.pk]) for d in members)
        ruling = CaseRuling(
            case=case,
            outcome=outcome,
            percent=_percent(percent),
            amounts={str(pk): money_str(t, next(d for d in members if d.pk == pk).order.currency)
                     for pk, t in targets.items()},
            totals={c: money_str(t, c) for c, t in by_currency.items()},
            note=note.strip(),
            proposed_by=staff,
        )  # fmt: skip
        over = needs_approval(by_currency)
        _refuse_before_paying(case, ruling, members, approved_by=None)  # a ruling nobody could ever approve
        try:
            with transaction.atomic():
                ruling.save()
        except IntegrityError:
            raise _refused("case_ruled", _("Case %(case)s is already ruled.") % {"case": case.pk}, case=case,
                           action="ruling", actor=staff) from None  # fmt: skip
        if over:
            audit("case.ruling_proposed", case=case.pk, actor=staff.username, outcome=outcome, over=",".join(over))
            return "pending", ruling
        _apply(case, ruling, members, approved_by=None)
    audit("case.ruled", case=case.pk, actor=staff.username, outcome=outcome, disputes=len(members))
    return "ruled", ruling


def case_ruling_approve(*, staff: User, case: Case, ruling) -> CaseRuling:
    """A second team member approves the waiting ruling they read (`ruling`: its id); it takes effect as the
    proposer's, with exactly the amounts proposed. Every member's rules are checked again (and for the
    approver). A ruling withdrawn and proposed again in the meantime is another ruling: refused."""
    _require_team(staff, "approve")
    try:
        ruling_id = int(ruling)
    except (TypeError, ValueError):
        raise RuleViolation("invalid", _("Name the ruling you approve."), status=400,
                            fields={"ruling": [_("The id of the ruling waiting for approval.")]}) from None  # fmt: skip
    with transaction.atomic():
        case = _locked_case(case.pk)
        ruling = case.rulings.select_for_update().filter(status=CaseRuling.Status.PENDING).first()
        if ruling is None or ruling.pk != ruling_id:
            raise _refused("invalid_state", _("This ruling no longer waits for approval: read the case again."),
                           case=case, action="approve", actor=staff)  # fmt: skip
        if ruling.proposed_by_id == staff.pk:
            raise _refused("invalid_state", _("The second approval must come from another team member."),
                           case=case, action="approve", actor=staff)  # fmt: skip
        members = _members_to_rule(case, actor=staff)
        missing = [d.pk for d in members if str(d.pk) not in ruling.amounts]
        if missing:
            raise _refused("invalid_state", _("The case changed since the ruling was proposed: withdraw it and "
                           "propose again."), case=case, action="approve", actor=staff)  # fmt: skip
        _apply(case, ruling, members, approved_by=staff)
    audit("case.ruling_approved", case=case.pk, actor=staff.username)
    return ruling


def case_ruling_withdraw(*, staff: User, case: Case) -> CaseRuling:
    """Withdraw the ruling waiting for approval (any team member: the proposer, or one who disagrees)."""
    _require_team(staff, "withdraw")
    with transaction.atomic():
        case = _locked_case(case.pk)
        ruling = case.rulings.select_for_update().filter(status=CaseRuling.Status.PENDING).first()
        if ruling is None:
            raise _refused("invalid_state", _("No ruling on this case waits for approval."), case=case,
                           action="withdraw", actor=staff)  # fmt: skip
        ruling.status, ruling.decided_at = CaseRuling.Status.WITHDRAWN, timezone.now()
        ruling.save(update_fields=["status", "decided_at"])
    audit("case.ruling_withdrawn", case=case.pk, actor=staff.username)
    return ruling


def describe_totals(by_currency: dict[str, Decimal]) -> str:
    return ", ".join(format_money(amount, currency) for currency, amount in by_currency.items()) or "—"
