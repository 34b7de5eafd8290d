"""The actions on the dispute page: their weight, a line of rules beside each, and for the
irreversible ones, the confirmation screen's account of what will happen."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from disputes.effects import Step as WorkflowStep
from disputes.guards import may_cancel
from disputes.guide.status import appeal_by, money, offer_on_the_table, when
from disputes.models import Dispute, Party, ReturnCondition, State
from disputes.services import OPEN_TRIES_PER_ORDER
from disputes.terms import buyer_request, can_return, standing_offer
from disputes.workflow import transitions_for

S = State

# Irreversible actions ask first, on a screen that says what will happen (GET .../<action>/confirm/).
CONFIRM_ACTIONS = ("accept", "cancel", "escalate", "appeal", "return_received")

# How much each action weighs on the page: the move that settles or moves the dispute on, the
# other options, and withdrawing.
PRIMARY, SECONDARY, DESTRUCTIVE = "primary", "secondary", "destructive"
ACTION_WEIGHT = {
    "accept": PRIMARY,
    "propose": PRIMARY,
    "return_shipment": PRIMARY,
    "return_received": PRIMARY,
    "reject": SECONDARY,
    "escalate": SECONDARY,
    "appeal": SECONDARY,
    "cancel": DESTRUCTIVE,
}


def action_refusal(dispute: Dispute, party: str, action: str, *, actor=None, now=None) -> str | None:
    """Why this party may not take `action` now (the guard's sentence), or None when it may."""
    rows = [t for t in transitions_for(dispute.state, party) if t.action == action]
    if not rows:
        return _("This dispute is now: %(state)s. You cannot do that at this point.") % {
            "state": State(dispute.state).label
        }
    step = WorkflowStep(dispute=dispute, party=Party(party), actor=actor, now=now or timezone.now())
    reasons = [t.guard(step) if t.guard else None for t in rows]
    return None if None in reasons else reasons[0]


def _tries_left_after_cancel(dispute: Dispute) -> int:
    others = [d for d in dispute.order.disputes.all() if d.pk != dispute.pk]
    used = 1 + sum(1 for d in others if d.state == S.CANCELLED or d.refunded_amount > 0)
    return OPEN_TRIES_PER_ORDER - used


def reopen_text(dispute: Dispute, now: datetime) -> str:
    """What cancelling leaves the buyer: one more dispute on the order, or none."""
    closes = dispute.order.window_closes_at
    if _tries_left_after_cancel(dispute) <= 0:
        return _(
            "This order's dispute has already been reopened once, so after cancelling you cannot open "
            "another dispute on this order."
        )
    if closes <= now:
        return _("The window to open a dispute closed on %(date)s, so after cancelling you cannot open another.") % {
            "date": when(closes)
        }
    return _(
        "You can open a new dispute on this order once more, until %(date)s: a cancelled dispute can be "
        "reopened only once."
    ) % {"date": when(closes)}


def action_hint(dispute: Dispute, action: str, viewer: str | None, now: datetime) -> str:
    """One line beside an action's button: its deadline and rules, before anyone clicks."""
    if action == "appeal":
        return _("Once only, until %(date)s. A different member of the dispute team reviews the ruling.") % {
            "date": when(appeal_by(dispute))
        }
    if action == "cancel":
        if _tries_left_after_cancel(dispute) <= 0 or dispute.order.window_closes_at <= now:
            return _("Nothing is refunded, and you cannot open another dispute on this order.")
        return _("Nothing is refunded. A cancelled dispute can be reopened only once.")
    if action == "return_received":
        return _(
            "On the next screen you say how the item arrived, and see what each answer does before anything happens."
        )
    if action == "escalate":
        return _("The dispute team reads both sides and rules within %(days)s days.") % {
            "days": settings.RULING_SLA_DAYS
        }
    if action == "accept" and viewer == Party.SELLER:
        request = buyer_request(dispute)
        if request.return_item and can_return(dispute):
            return _("The buyer is refunded %(amount)s once the item is back with you.") % {
                "amount": money(request.refund_amount, dispute)
            }
        return _("The buyer is refunded %(amount)s now.") % {"amount": money(request.refund_amount, dispute)}
    return ""


@dataclass(frozen=True)
class Confirmation:
    title: str
    consequences: list[str]
    button: str
    looked_at: list[str] = field(default_factory=list)
    meanwhile: list[str] = field(default_factory=list)


def _looked_at(*, returned: bool) -> list[str]:
    """What the dispute team reads before it rules on an escalated dispute."""
    lines = [
        _("Both sides' messages about the order."),
        _("The photos and evidence either side has added."),
        _("The requests and offers made so far."),
        _("The order and its tracking."),
    ]
    if returned:
        lines.append(_("The return's tracking."))
    return lines


def _buyer_may_cancel_after_escalating(dispute: Dispute, now: datetime) -> bool:
    """The buyer may still withdraw an escalated dispute until the team has ruled (the cancel guard)."""
    step = WorkflowStep(dispute=dispute, party=Party.BUYER, actor=None, now=now)
    return may_cancel(step) is None


def confirmation(dispute: Dispute, action: str, viewer: str, label: str, now: datetime) -> Confirmation:
    """What an irreversible action will do, said before it is done."""
    ruling_by = now + timedelta(days=settings.RULING_SLA_DAYS)
    offer = offer_on_the_table(dispute)
    lines: list[str] = []
    looked_at: list[str] = []  # escalating: what the dispute team reads before it rules
    meanwhile: list[str] = []  # escalating: what the two sides can still do until the ruling
    if action == "accept" and viewer == Party.BUYER:
        offer = standing_offer(dispute)
        amount = money(offer.refund_amount, dispute)
        if offer.return_item and can_return(dispute):
            lines += [
                _("You send the item back to %(store)s within %(days)s days; the return address is shown next.")
                % {"store": dispute.order.store.name, "days": settings.RETURN_SHIP_DAYS},
                _(
                    "Once the seller confirms the item arrived, you are refunded %(amount)s. If you do not ship it "
                    "in time, the dispute closes with no refund."
                )
                % {"amount": amount},
            ]
        else:
            lines.append(_("You are refunded %(amount)s now, and the dispute closes.") % {"amount": amount})
        lines.append(_("You cannot escalate it or open another dispute on this order afterwards."))
        button = _("Yes, accept the offer")
    elif action == "accept":
        request = buyer_request(dispute)
        amount = money(request.refund_amount, dispute)
        if request.return_item and can_return(dispute):
            lines.append(
                _(
                    "The buyer sends the item back within %(ship)s days. Once you confirm it arrived (you have "
                    "%(confirm)s days), the buyer is refunded %(amount)s."
                )
                % {"ship": settings.RETURN_SHIP_DAYS, "confirm": settings.RETURN_CONFIRM_DAYS, "amount": amount}
            )
        else:
            lines.append(_("The buyer is refunded %(amount)s now, and the dispute closes.") % {"amount": amount})
        button = _("Yes, accept the request")
    elif action == "cancel":
        lines.append(_("Your dispute is withdrawn: nothing is refunded by it."))
        if dispute.state == S.AWAITING_RETURN:
            lines.append(_("You no longer send the item back."))
        elif offer is not None:
            lines.append(
                _("The seller's offer of %(amount)s lapses.") % {"amount": money(offer.refund_amount, dispute)}
            )
        lines.append(reopen_text(dispute, now))
        button = _("Yes, cancel the dispute")
    elif action == "escalate" and viewer == Party.SELLER:
        lines += [
            _(
                "The return goes to the dispute team, who decide what happens: you can no longer confirm the "
                "returned item yourself."
            ),
            _("The team rules within %(days)s days, by %(date)s.")
            % {"days": settings.RULING_SLA_DAYS, "date": when(ruling_by)},
        ]
        looked_at = _looked_at(returned=True)
        meanwhile = [_("You and the buyer can still write to each other in the messages; the team reads them.")]
        if _buyer_may_cancel_after_escalating(dispute, now):
            meanwhile.append(
                _(
                    "If you come to an agreement in the messages, the buyer can still withdraw the dispute before "
                    "the team rules."
                )
            )
        button = _("Yes, send the return to the dispute team")
    elif action == "escalate":
        lines.append(
            _("The dispute goes to the dispute team: a team member rules within %(days)s days, by %(date)s.")
            % {"days": settings.RULING_SLA_DAYS, "date": when(ruling_by)}
        )
        if offer is not None:
            lines.append(
                _("The seller's offer of %(amount)s can then no longer be accepted.")
                % {"amount": money(offer.refund_amount, dispute)}
            )
        lines.append(
            _("Either side may appeal the ruling once, within %(days)s days.") % {"days": settings.APPEAL_DAYS}
        )
        looked_at = _looked_at(returned=False)
        meanwhile = [
            _("You and the seller can still agree between yourselves: keep writing to each other in the messages.")
        ]
        if _buyer_may_cancel_after_escalating(dispute, now):
            meanwhile.append(
                _("If you come to an agreement, you can cancel the dispute yourself at any time before the team rules.")
            )
        button = _("Yes, send it to the dispute team")
    elif action == "return_received":
        amount = money(dispute.agreed_refund_amount or 0, dispute)
        lines += [
            _("“%(ok)s”: the buyer is refunded %(amount)s now, and the dispute closes.")
            % {"ok": ReturnCondition.OK.label, "amount": amount},
            _(
                "“%(damaged)s”, “%(empty)s” or “%(different)s”: nothing is refunded yet; the dispute goes to the "
                "dispute team, who rule within %(days)s days, by %(date)s."
            )
            % {
                "damaged": ReturnCondition.DAMAGED.label,
                "empty": ReturnCondition.EMPTY.label,
                "different": ReturnCondition.DIFFERENT.label,
                "days": settings.RULING_SLA_DAYS,
                "date": when(ruling_by),
            },
        ]
        button = _("Yes, confirm the returned item")
    elif action == "appeal":
        lines += [
            _("The ruling goes back to the dispute team, and a different team member reviews it."),
            _("You can appeal only once, and only until %(date)s (%(days)s days after the ruling).")
            % {"date": when(appeal_by(dispute)), "days": settings.APPEAL_DAYS},
            _("What you were already refunded stays yours; the new ruling can only add to it or keep it.")
            if viewer == Party.BUYER
            else _("Money already refunded to the buyer stays refunded: an appeal cannot take it back."),
        ]
        if dispute.state == S.AWAITING_RETURN:
            lines.append(_("The item does not have to go back unless the new ruling says so."))
        if dispute.state == S.RESOLVED:
            lines.append(
                _("The dispute reopens with the dispute team, who rule again within %(days)s days, by %(date)s.")
                % {"days": settings.RULING_SLA_DAYS, "date": when(ruling_by)}
            )
        elif viewer == Party.BUYER:
            lines.append(_("Once you appeal, the dispute can no longer be cancelled."))
        button = _("Yes, appeal the ruling")
    else:
        raise ValueError(f"{action} asks no confirmation")
    lines.append(_("This cannot be undone."))
    return Confirmation(
        title=_("%(action)s?") % {"action": label},
        consequences=lines,
        button=button,
        looked_at=looked_at,
        meanwhile=meanwhile,
    )
