"""What happened, told to its reader: one sentence per event, without the team's internal moves."""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from disputes.guide.status import money, refunded_text, when
from disputes.models import Dispute, DisputeEvent, Outcome, Party, PauseReason, ReturnCondition, State

S = State

# The team's own moves on a dispute: routing, assignment and hand-overs. They stay in admin.
INTERNAL_ACTIONS = frozenset({"claim", "assign", "assign_to", "release"})


@dataclass
class Entry:
    at: datetime
    text: str
    notes: list[str] = field(default_factory=list)
    by_me: bool = False


def _who(party: str, viewer: str | None) -> str:
    if party == viewer:
        return "you"
    return {Party.BUYER: "buyer", Party.SELLER: "seller"}.get(party, party)


def _event_text(event: DisputeEvent, dispute: Dispute, viewer: str | None) -> str:
    """One sentence for one event, from the reader's side."""
    p, action = event.payload or {}, event.action
    who = _who(event.actor_party, viewer)
    amount = money(p.get("refund_amount", ""), dispute)
    with_return = p.get("return_item") in (True, "True", "true")

    if action == "open":
        return {
            "you": _("You opened the dispute, asking for %(amount)s and to send the item back.")
            if with_return
            else _("You opened the dispute, asking for %(amount)s."),
            "buyer": _("The buyer opened the dispute, asking for %(amount)s and to send the item back.")
            if with_return
            else _("The buyer opened the dispute, asking for %(amount)s."),
        }[who] % {"amount": amount}
    if action == "accept":
        if event.actor_party == Party.SELLER:
            return {
                "you": _("You accepted the buyer's request."),
                "seller": _("The seller accepted your request.")
                if viewer == Party.BUYER
                else _("The seller accepted the buyer's request."),
            }[who]
        return {
            "you": _("You accepted the seller's offer."),
            "buyer": _("The buyer accepted your offer.")
            if viewer == Party.SELLER
            else _("The buyer accepted the seller's offer."),
        }[who]
    if action == "reject":
        return {
            "you": _("You rejected the request."),
            "seller": _("The seller rejected your request.")
            if viewer == Party.BUYER
            else _("The seller rejected the buyer's request."),
        }[who]
    if action == "propose":
        after = _(" after the item is returned") if with_return else ""
        if event.actor_party == Party.SELLER:
            text = {
                "you": _("You offered %(amount)s%(after)s."),
                "seller": _("The seller offered %(amount)s%(after)s."),
            }
        else:
            text = {
                "you": _("You changed your request to %(amount)s%(after)s."),
                "buyer": _("The buyer changed the request to %(amount)s%(after)s."),
            }
        return text[who] % {"amount": amount, "after": after}
    if action == "escalate":
        if event.actor_party == Party.SELLER:
            return {
                "you": _("You sent the return to the dispute team."),
                "seller": _("The seller sent the return to the dispute team."),
            }[who]
        return {
            "you": _("You sent the dispute to the dispute team."),
            "buyer": _("The buyer sent the dispute to the dispute team."),
        }[who]
    if action == "cancel":
        return {"you": _("You cancelled the dispute."), "buyer": _("The buyer cancelled the dispute.")}[who]
    if action == "ruling":
        if event.to_state == S.AWAITING_RETURN:
            return _("The dispute team ruled: the item goes back first, then the refund is paid.")
        if p.get("outcome") == Outcome.NO_REFUND:
            return _("The dispute team ruled: no refund.")
        outcome = Outcome(p["outcome"]).label if p.get("outcome") in Outcome.values else ""
        return _("The dispute team ruled: %(outcome)s, %(amount)s in all.") % {"outcome": outcome, "amount": amount}
    if action == "return_shipment":
        values = {"carrier": p.get("carrier", ""), "tracking": p.get("tracking_number", "")}
        return {
            "you": _("You shipped the item back (%(carrier)s, tracking %(tracking)s)."),
            "buyer": _("The buyer shipped the item back (%(carrier)s, tracking %(tracking)s)."),
        }[who] % values
    if action == "return_received":
        condition = ReturnCondition(p["condition"]).label if p.get("condition") in ReturnCondition.values else ""
        return {
            "you": _("You confirmed the returned item: %(condition)s."),
            "seller": _("The seller confirmed the returned item: %(condition)s."),
        }[who] % {"condition": condition}
    if action == "appeal":
        text = {
            "you": _("You appealed the ruling."),
            "buyer": _("The buyer appealed the ruling."),
            "seller": _("The seller appealed the ruling."),
        }[who]
        if p.get("left_case"):
            text += " " + _("The dispute left the disputes ruled together with it and is reviewed alone.")
        return text
    if action == "seller_timeout":
        return {
            Party.BUYER: _("The seller did not answer in time, so your request was granted."),
            Party.SELLER: _("You did not answer in time, so the buyer's request was granted."),
        }.get(viewer, _("The seller did not answer in time, so the buyer's request was granted."))
    if action == "buyer_timeout":
        closed = p.get("outcome") == Outcome.NO_REFUND
        if viewer == Party.BUYER:
            return (
                _("You did not answer in time, so the dispute closed with no refund.")
                if closed
                else _("You did not answer in time, so the seller's offer was taken.")
            )
        if viewer == Party.SELLER:
            return (
                _("The buyer did not answer in time, so the dispute closed with no refund.")
                if closed
                else _("The buyer did not answer in time, so your offer was taken.")
            )
        return _("The buyer did not answer in time.")
    if action == "auto_escalate":
        return _("Not settled in time: the dispute went to the dispute team by itself.")
    if action == "return_not_shipped":
        if viewer == Party.BUYER:
            return _("You did not ship the item back in time, so the dispute closed with no further refund.")
        return _("The buyer did not ship the item back in time, so the dispute closed with no further refund.")
    if action == "return_not_confirmed":
        if viewer == Party.SELLER:
            return _("You did not confirm the returned item in time, so the buyer was refunded.")
        if viewer == Party.BUYER:
            return _("The seller did not confirm the returned item in time, so you were refunded.")
        return _("The seller did not confirm the returned item in time, so the buyer was refunded.")
    if action == "take_over":
        return _("The dispute went to the dispute team.")
    if action == "pause":
        return _("The dispute team paused the deadlines until %(until)s: %(reason)s.") % {
            "until": _at(p.get("until")),
            "reason": _pause_reason(p.get("reason")),
        }
    if action == "resume":
        if p.get("by_hand"):
            return _("The dispute team ended the pause: each deadline has the time it had left.")
        return _("The pause ended: each deadline has the time it had left.")
    if action == "case_linked":
        if not viewer:
            return _("Linked to case %(case)s: %(reason)s") % {"case": p.get("case"), "reason": p.get("reason", "")}
        return _("The dispute team will rule this dispute together with others that share its cause: %(reason)s") % {
            "reason": p.get("reason", "")
        }
    if action == "case_unlinked":
        return _("The dispute team took this dispute out of the disputes it rules together: it is reviewed alone.")
    if action == "more_time":
        return {
            "you": _("You asked for %(days)s more days on the current deadline."),
            "buyer": _("The buyer asked for %(days)s more days on the current deadline."),
            "seller": _("The seller asked for %(days)s more days on the current deadline."),
        }[who] % {"days": p.get("days")}
    if action == "more_time_answer":
        if p.get("accepted"):
            text = {
                "you": _("You gave %(days)s more days: the deadline and the automatic escalation moved."),
                "buyer": _("The buyer gave %(days)s more days: the deadline and the automatic escalation moved."),
                "seller": _("The seller gave %(days)s more days: the deadline and the automatic escalation moved."),
            }
        else:
            text = {
                "you": _("You declined the request for %(days)s more days."),
                "buyer": _("The buyer declined the request for %(days)s more days."),
                "seller": _("The seller declined the request for %(days)s more days."),
            }
        return text[who] % {"days": p.get("days")}
    # The team's internal moves: shown to the team only (parties never get here).
    internal = {
        "claim": _("%(member)s took the dispute for review."),
        "assign_to": _("%(member)s assigned the dispute to a member."),
        "assign": _("The dispute was routed to a team member."),
        "release": _("The dispute was released to the queue."),
    }
    return internal.get(action, action) % {"member": event.actor.username if event.actor else ""}


def _pause_reason(code: str | None) -> str:
    return str(PauseReason(code).label) if code in PauseReason.values else code or ""


def _at(raw: str | None) -> str:
    return when(datetime.fromisoformat(raw)) if raw else ""


def timeline(dispute: Dispute, viewer: str | None, events: list[DisputeEvent]) -> list[Entry]:
    """What happened, for this reader. Parties see what matters to them: routing, assignment,
    release and hand-overs stay with the team, and no team member is named. A line that says the
    same as the one before it (the same move again) is shown once."""
    entries: list[Entry] = []
    for event in events:
        if viewer and event.action in INTERNAL_ACTIONS:
            continue
        entry = Entry(at=event.created_at, text=_event_text(event, dispute, viewer))
        entry.by_me = bool(viewer) and event.actor_party == viewer
        note = (event.payload or {}).get("note")
        if note:
            entry.notes.append(note)
        refunded = (event.payload or {}).get("refunded_now")
        if refunded:
            entry.notes.append(refunded_text(refunded, dispute, viewer))
        if entries and entries[-1].text == entry.text and not entry.notes:
            continue
        entries.append(entry)
    return entries
