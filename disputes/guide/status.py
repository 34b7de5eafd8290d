"""The status card and the stepper: where the dispute is, said to its reader."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import InvalidOperation

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.money import format_money
from disputes.models import Cause, Dispute, DisputeEvent, Outcome, Party, Proposal, State
from disputes.states import FINAL, NEGOTIATING, WITH_TEAM
from disputes.terms import buyer_request, standing_offer

S = State


def viewer_of(party: str | None) -> str | None:
    """Whose eyes the page is written for: "buyer" or "seller"; None (neutral) for the team."""
    return party if party in (Party.BUYER, Party.SELLER) else None


def when(moment: datetime) -> str:
    """A moment in the viewer's time zone (the active one), as every dispute page writes it."""
    return date_format(timezone.localtime(moment), "j M Y, H:i T")


def amount_text(amount, currency: str) -> str:
    """An amount as every page writes money: for the reader's language, with its currency's own
    decimals ("$5.00", "¥1,234", "KWD 1.250" in English; core.money.format_money). No amount is
    shown as zero; what is not a number, as it came."""
    try:
        return format_money(amount if amount not in (None, "") else 0, currency)
    except (InvalidOperation, ValueError, TypeError):
        return f"{amount} {currency}"


def money(amount, dispute: Dispute) -> str:
    return amount_text(amount, dispute.order.currency)


def appeal_by(dispute: Dispute) -> datetime | None:
    """Until when a ruling can be appealed (None when nothing was ruled)."""
    if not dispute.ruled_at:
        return None
    return dispute.ruled_at + timedelta(days=settings.APPEAL_DAYS)


def appeal_open_for(dispute: Dispute, viewer: str | None, now: datetime | None = None) -> datetime | None:
    """The appeal deadline while this party may still appeal the resolved dispute's ruling, else None."""
    if viewer not in (Party.BUYER, Party.SELLER) or dispute.state != S.RESOLVED:
        return None
    until = appeal_by(dispute)
    if until is None or (now or timezone.now()) >= until:
        return None
    appealed = dispute.buyer_appealed if viewer == Party.BUYER else dispute.seller_appealed
    return None if appealed else until


# --- the status card --------------------------------------------------------------------------------


def headline(dispute: Dispute, viewer: str | None) -> str:
    """The state as the reader sees it. Parties see the team as one desk: "escalated" and "under
    review" differ only by who on the team holds it, which is the team's business."""
    state = dispute.state
    if viewer and state in WITH_TEAM:
        return short_state(dispute, viewer)
    mine = {
        (S.AWAITING_SELLER, Party.SELLER): _("The buyer is waiting for your answer"),
        (S.AWAITING_BUYER, Party.BUYER): _("The seller is waiting for your answer"),
        (S.AWAITING_RETURN, Party.BUYER): _("Send the item back"),
        (S.RETURN_IN_TRANSIT, Party.SELLER): _("The item is on its way back to you"),
        (S.CANCELLED, Party.BUYER): _("You cancelled this dispute"),
    }
    return mine.get((state, viewer)) or State(state).label


def short_state(dispute: Dispute, viewer: str | None, now: datetime | None = None) -> str:
    """The state in a few words, in the reader's voice, for every list and the order page (one
    wording for all of them): the parties see the team as one desk, read "you" about themselves, and
    a resolved dispute says when it can still be appealed."""
    state = dispute.state
    if viewer and state in WITH_TEAM:
        return _("With the dispute team")
    until = appeal_open_for(dispute, viewer, now)
    if until is not None:
        return _("Resolved — you may appeal until %(date)s") % {"date": when(until)}
    mine = {
        (S.AWAITING_SELLER, Party.SELLER): _("Waiting for your answer"),
        (S.AWAITING_SELLER, Party.BUYER): _("Waiting for the seller"),
        (S.AWAITING_BUYER, Party.BUYER): _("Waiting for your answer"),
        (S.AWAITING_BUYER, Party.SELLER): _("Waiting for the buyer"),
        (S.AWAITING_RETURN, Party.BUYER): _("Waiting for you to ship the return"),
        (S.AWAITING_RETURN, Party.SELLER): _("Waiting for the buyer to ship the return"),
        (S.RETURN_IN_TRANSIT, Party.SELLER): _("Return on its way to you"),
        (S.RETURN_IN_TRANSIT, Party.BUYER): _("Return on its way to the seller"),
        (S.CANCELLED, Party.BUYER): _("You cancelled it"),
        (S.CANCELLED, Party.SELLER): _("Cancelled by the buyer"),
    }
    return mine.get((state, viewer)) or State(state).label


def cause_text(dispute: Dispute, viewer: str | None) -> str:
    """Why a resolved dispute closed, said to its reader."""
    cause = dispute.cause
    said = {
        (Cause.AGREEMENT, Party.BUYER): _("You and the seller agreed."),
        (Cause.AGREEMENT, Party.SELLER): _("You and the buyer agreed."),
        (Cause.SELLER_TIMEOUT, Party.BUYER): _("The seller did not answer in time, so your request was granted."),
        (Cause.SELLER_TIMEOUT, Party.SELLER): _("You did not answer in time, so the buyer's request was granted."),
        (Cause.BUYER_TIMEOUT, Party.BUYER): _("You did not answer in time."),
        (Cause.BUYER_TIMEOUT, Party.SELLER): _("The buyer did not answer in time."),
        (Cause.RETURN_NOT_SHIPPED, Party.BUYER): _("You did not ship the item back in time."),
        (Cause.RETURN_NOT_SHIPPED, Party.SELLER): _("The buyer did not ship the item back in time."),
        (Cause.RETURN_NOT_CONFIRMED, Party.BUYER): _("The seller did not confirm the returned item in time."),
        (Cause.RETURN_NOT_CONFIRMED, Party.SELLER): _("You did not confirm the returned item in time."),
    }
    if (cause, viewer) in said:
        return said[(cause, viewer)]
    return Cause(cause).label if cause else ""


def refunded_text(amount, dispute: Dispute, viewer: str | None) -> str:
    if viewer == Party.BUYER:
        return _("%(amount)s refunded to you.") % {"amount": money(amount, dispute)}
    return _("%(amount)s refunded to the buyer.") % {"amount": money(amount, dispute)}


def money_text(position: dict, viewer: str | None) -> str:
    values = {key: amount_text(position[key], position["currency"]) for key in ("paid", "refunded", "left")}
    if viewer == Party.BUYER:
        return _("You paid %(paid)s · refunded so far %(refunded)s · left to refund %(left)s") % values
    return _("The buyer paid %(paid)s · refunded so far %(refunded)s · left to refund %(left)s") % values


def offer_on_the_table(dispute: Dispute) -> Proposal | None:
    """The seller's standing offer while it still matters: while the two sides negotiate or the team
    has not yet ruled. Once the dispute is resolved, cancelled or ruled, it is history."""
    if dispute.state not in (*NEGOTIATING, *WITH_TEAM) or dispute.ruled_at:
        return None
    return standing_offer(dispute)


# --- where the dispute is: the stepper ------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    status: str  # "done", "current", "upcoming", or "skipped" (behind the dispute, but it never happened)

    @property
    def is_current(self) -> bool:
        return self.status == "current"


def _current_stage(state: str) -> str:
    return {
        S.AWAITING_SELLER: "seller",
        S.AWAITING_BUYER: "buyer",
        S.ESCALATED: "team",
        S.UNDER_REVIEW: "team",
        S.AWAITING_RETURN: "return",
        S.RETURN_IN_TRANSIT: "return",
    }.get(state, "end")


def _return_on_the_table(dispute: Dispute) -> bool:
    if dispute.state == S.AWAITING_SELLER:
        request = buyer_request(dispute)
        return bool(request and request.return_item)
    if dispute.state == S.AWAITING_BUYER:
        offer = standing_offer(dispute)
        return bool(offer and offer.return_item)
    return False


def stages(dispute: Dispute, viewer: str | None, events: list[DisputeEvent]) -> list[Stage]:
    """opened → seller answers → (buyer answers) → team decides → (return) → refund. A step in
    brackets shows once the dispute has been there or is headed there; the team's step shows while
    the dispute can still reach it, marked "if needed" until it does."""
    visited = {event.to_state for event in events} | {dispute.state}
    current = _current_stage(dispute.state)
    live = dispute.state not in FINAL
    been_with_team = bool(visited & set(WITH_TEAM))

    keys = ["opened", "seller"]
    if S.AWAITING_BUYER in visited:
        keys.append("buyer")
    if been_with_team or (live and dispute.state in NEGOTIATING):
        keys.append("team")
    if visited & {S.AWAITING_RETURN, S.RETURN_IN_TRANSIT} or (live and _return_on_the_table(dispute)):
        keys.append("return")
    keys.append("end")

    if dispute.state == S.RESOLVED:
        end = _("Closed with no refund") if dispute.outcome == Outcome.NO_REFUND else _("Refunded")
    elif dispute.state == S.CANCELLED:
        end = _("Cancelled")
    else:
        end = _("Refund")
    labels = {
        "opened": _("Dispute opened"),
        "seller": _("You answer") if viewer == Party.SELLER else _("The seller answers"),
        "buyer": _("You answer") if viewer == Party.BUYER else _("The buyer answers"),
        "team": _("The dispute team decides") if been_with_team else _("The dispute team decides, if needed"),
        "return": {Party.BUYER: _("You send the item back"), Party.SELLER: _("The item comes back to you")}.get(
            viewer, _("The item goes back")
        ),
        "end": end,
    }
    at = keys.index(current)
    happened = _steps_that_happened(events)

    def status(i: int, key: str) -> str:
        if i == at:
            return "current"
        if i > at:
            return "upcoming"
        # A step behind the dispute is ticked only if it really happened: a seller who never
        # answered (a cancelled dispute, a timeout) did not answer.
        return "done" if key in happened else "skipped"

    return [Stage(key, labels[key], status(i, key)) for i, key in enumerate(keys)]


# The moves that are an answer by that side (cancelling is withdrawing, not answering).
_ANSWERS = frozenset({"accept", "reject", "propose", "escalate"})


def _steps_that_happened(events: list[DisputeEvent]) -> set[str]:
    """The stepper's steps that the events show actually took place."""
    done = {"opened"}
    for event in events:
        if event.action in _ANSWERS and event.actor_party == Party.SELLER and event.from_state == S.AWAITING_SELLER:
            done.add("seller")
        if event.action in _ANSWERS and event.actor_party == Party.BUYER and event.from_state == S.AWAITING_BUYER:
            done.add("buyer")
        if event.action == "ruling":
            done.add("team")
        if event.action in ("return_received", "return_not_confirmed"):
            done.add("return")
    return done
