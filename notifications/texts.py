"""The words of each notice, from its kind and parameters, in the active language and time zone
(`notifications.render` sets both to the reader's). Every notice says what happened, with the
amounts and the other side's offer; what the reader can do, and by when; and what happens if they
don't. Parties are spoken to in the second person.

The parameters are what the writers store (disputes/notices.py, the sweeps, the order clocks):
`order`, `dispute`, `role` (the reader's side: buyer, seller or team), `event` (the action that
caused it), `by` (the side that acted), `state`, `currency`, `request` and `offer` (each side's
latest amount), `return_item` (whether that amount comes with the item sent back), `amount`, `outcome`,
`cause`, `deadline` (ISO time), `appeal`, `reason`, `condition`, `note`, `days`, `total`; a money
reconciliation's `run`, `at` (ISO time), `mismatches` and `kinds` (how many of each kind).
"""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.money import format_money
from notifications.models import Notification
from sellers.models import ReturnReason

K = Notification.Kind
Words = tuple[str, str, str, str]  # title, what happened, what you can do, what happens if not


# --- amounts, times and people -----------------------------------------------------------------


def money(p: dict, key: str) -> str:
    """An amount as the reader's language writes it, with its currency's own decimals ("$30.00",
    "¥1,234", "KWD 1.250" in English), however many decimals it was stored with."""
    raw = p.get(key)
    if raw in (None, ""):
        return ""
    currency = p.get("currency", "")
    try:
        return format_money(raw, currency)
    except (InvalidOperation, ValueError, TypeError):
        return _("%(amount)s %(currency)s") % {"amount": raw, "currency": currency}


def when(p: dict, key: str = "deadline") -> str:
    """A time in the active zone (the reader's), saying which zone: "Tue 3 Mar 2026 at 14:00
    (Los Angeles time)"."""
    raw = p.get(key)
    if not raw:
        return ""
    local = timezone.localtime(datetime.fromisoformat(raw))
    name = timezone.get_current_timezone_name()
    zone = (
        "UTC"
        if name in ("UTC", "Etc/UTC")
        else _("%(city)s time") % {"city": name.rsplit("/", 1)[-1].replace("_", " ")}
    )
    return _("%(day)s at %(time)s (%(zone)s)") % {
        "day": dateformat.format(local, "D j M Y"),
        "time": dateformat.format(local, "H:i"),
        "zone": zone,
    }


def other_side(p: dict) -> str:
    return _("the buyer") if p.get("role") == "seller" else _("the seller")


def quoted(note: str | None) -> str:
    note = " ".join((note or "").split())
    return f"“{note[:300]}{'…' if len(note) > 300 else ''}”" if note else ""


def with_note(text: str, p: dict, who: str) -> str:
    """`text`, and what `who` wrote with it, when they wrote something."""
    if not p.get("note"):
        return text
    return text + " " + _("%(who)s wrote: %(note)s") % {"who": who, "note": quoted(p["note"])}


def reason_label(code: str | None) -> str:
    if code == "not_received":
        return _("the item never arrived")
    try:
        return str(ReturnReason(code).label).lower()
    except ValueError:
        return code or ""


def refund_phrase(p: dict, key: str) -> str:
    """ "a refund of 30.00 USD", or with the item sent back first."""
    if p.get("return_item"):
        return _("a refund of %(amount)s once the item is sent back") % {"amount": money(p, key)}
    return _("a refund of %(amount)s") % {"amount": money(p, key)}


def positions(p: dict) -> str:
    """Where each side stands, for the reader: "You ask for 80.00 USD; the seller offered 30.00 USD." """
    if not p.get("request"):
        return ""
    request, offer, role = money(p, "request"), money(p, "offer"), p.get("role")
    if role == "buyer":
        if offer:
            return _("You ask for %(request)s; the seller offered %(offer)s.") % {"request": request, "offer": offer}
        return _("You ask for %(request)s; the seller has made no offer.") % {"request": request}
    if role == "seller":
        if offer:
            return _("The buyer asks for %(request)s; you offered %(offer)s.") % {"request": request, "offer": offer}
        return _("The buyer asks for %(request)s; you have made no offer.") % {"request": request}
    if offer:
        return _("The buyer asks for %(request)s; the seller offered %(offer)s.") % {"request": request, "offer": offer}
    return _("The buyer asks for %(request)s; the seller has made no offer.") % {"request": request}


def order_title(p: dict, text: str) -> str:
    return _("Order %(n)s: %(what)s") % {"n": p.get("order", ""), "what": text}


# --- what each side can do, and what happens if they don't -------------------------------------


def seller_answer(p: dict) -> tuple[str, str]:
    action = _("Accept the request, make a counter-offer or reject it with a reason by %(when)s.") % {"when": when(p)}
    otherwise = _("If you do not answer by then, the buyer's request is granted: the buyer gets %(what)s.") % {
        "what": refund_phrase(p, "request")
    }
    return action, otherwise


def buyer_answer(p: dict) -> tuple[str, str]:
    if p.get("offer"):
        action = _(
            "Accept the seller's offer, change your request, or send the dispute to the dispute team by %(when)s."
        ) % {"when": when(p)}
        otherwise = _("If you do not answer by then, the seller's offer is accepted for you: %(amount)s.") % {
            "amount": money(p, "offer")
        }
    else:
        action = _("Change your request, or send the dispute to the dispute team, by %(when)s.") % {"when": when(p)}
        otherwise = _("If you do not answer by then, the dispute closes with no refund.")
    return action, otherwise


def return_ship(p: dict) -> tuple[str, str]:
    action = _(
        "Ship the item to the seller's return address and enter its tracking number on the dispute page by %(when)s."
    ) % {"when": when(p)}
    return action, _("If you do not, the dispute closes with no further refund.")


def return_confirm(p: dict) -> tuple[str, str]:
    action = _(
        "When it arrives, confirm its condition on the dispute page by %(when)s: as expected, or damaged, empty or "
        "a different item (the dispute team then decides)."
    ) % {"when": when(p)}
    otherwise = _("If you do not confirm by then, the buyer is refunded %(amount)s.") % {"amount": money(p, "amount")}
    return action, otherwise


def team_rules_by(p: dict) -> tuple[str, str]:
    action = _("Add any photos or notes the dispute team should see on the dispute page.")
    if p.get("deadline"):
        otherwise = _("Without more from you, the team decides on what it has, by %(when)s.") % {"when": when(p)}
    else:
        otherwise = _("Without more from you, the team decides on what it has.")
    return action, otherwise


def by_state(p: dict) -> tuple[str, str]:
    """What the reader can do in the dispute's state, and what happens if they don't."""
    return {
        "awaiting_seller": seller_answer,
        "awaiting_buyer": buyer_answer,
        "awaiting_return": return_ship,
        "return_in_transit": return_confirm,
    }.get(p.get("state"), team_rules_by)(p)


def how_it_settled(p: dict) -> str:
    """Why the dispute settled as it did, from the reader's side."""
    role, cause = p.get("role"), p.get("cause")
    mine = p.get("by") == role
    if cause == "agreement":
        if role == "buyer":
            return _("You accepted the seller's offer.") if mine else _("The seller accepted your request.")
        return _("You accepted the buyer's request.") if mine else _("The buyer accepted your offer.")
    texts = {
        ("seller_timeout", "buyer"): _("The seller did not answer in time, so your request was granted."),
        ("seller_timeout", "seller"): _("You did not answer in time, so the buyer's request was granted."),
        ("buyer_timeout", "buyer"): _("You did not answer the seller in time."),
        ("buyer_timeout", "seller"): _("The buyer did not answer you in time."),
        ("return_not_shipped", "buyer"): _("You did not ship the item back in time."),
        ("return_not_shipped", "seller"): _("The buyer did not ship the item back in time."),
        ("return_not_confirmed", "buyer"): _("The seller did not confirm the returned item in time."),
        ("return_not_confirmed", "seller"): _("You did not confirm the returned item in time."),
    }
    return texts.get((cause, role), _("The dispute team ruled."))


# --- each kind ---------------------------------------------------------------------------------


def dispute_opened(p: dict) -> Words:
    title = order_title(p, _("the buyer opened a dispute asking for %(amount)s") % {"amount": money(p, "request")})
    happened = _("The buyer opened a dispute on order %(n)s (reason: %(reason)s) and asks for %(what)s.") % {
        "n": p.get("order"),
        "reason": reason_label(p.get("reason")),
        "what": refund_phrase(p, "request"),
    }
    return (title, happened, *seller_answer(p))


def your_turn(p: dict) -> Words:
    state, event = p.get("state"), p.get("event")
    if event == "evidence_request":
        title = order_title(p, _("the dispute team asks you for evidence"))
        happened = _("The dispute team asks: %(note)s") % {"note": quoted(p.get("note"))}
        action = _("Add photos or a note on the dispute page by %(when)s.") % {"when": when(p)}
        return title, happened, action, _("If you do not, the team decides without it.")
    if state == "awaiting_buyer" and event == "reject":
        title = order_title(p, _("the seller rejected your request"))
        happened = with_note(_("The seller rejected your request for %(request)s.") % {"request": money(p, "request")},
                             p, _("They"))  # fmt: skip
        if p.get("offer"):
            happened += " " + _("Their earlier offer of %(offer)s still stands.") % {"offer": money(p, "offer")}
    elif state == "awaiting_buyer":
        title = order_title(p, _("the seller offers %(offer)s") % {"offer": money(p, "offer")})
        offer = (
            _("a refund of %(amount)s once you send the item back")
            if p.get("return_item")
            else _("a refund of %(amount)s")
        ) % {"amount": money(p, "offer")}
        happened = with_note(
            _("The seller offered %(offer)s, instead of the %(request)s you asked for.")
            % {"offer": offer, "request": money(p, "request")},
            p,
            _("They"),
        )
    elif state == "awaiting_seller":
        title = order_title(p, _("the buyer now asks for %(amount)s") % {"amount": money(p, "request")})
        happened = _("The buyer changed their request to %(what)s.") % {"what": refund_phrase(p, "request")}
        if p.get("offer"):
            happened += " " + _("Your offer was %(offer)s.") % {"offer": money(p, "offer")}
        happened = with_note(happened, p, _("They"))
    elif state == "awaiting_return":
        title = order_title(p, _("send the item back"))
        happened = (
            how_it_settled(p)
            + " "
            + _("Send the item back: once the seller confirms it arrived, you are refunded %(amount)s.")
            % {"amount": money(p, "amount")}
        )
    elif state == "return_in_transit":
        title = order_title(p, _("the item is on its way back to you"))
        happened = _("The buyer shipped the item back (%(carrier)s, tracking %(tracking)s).") % {
            "carrier": p.get("carrier", ""),
            "tracking": p.get("tracking", ""),
        }
    else:
        title = order_title(p, _("it is your turn in the dispute"))
        happened = positions(p)
    return (title, happened, *by_state(p))


def escalated(p: dict) -> Words:
    role, event, by = p.get("role"), p.get("event"), p.get("by")
    title = order_title(p, _("the dispute went to the dispute team"))
    if event == "auto_escalate":
        first = _("The dispute was not settled within %(days)s days, so it went to the dispute team.") % {
            "days": settings.AUTO_ESCALATE_AFTER_DAYS
        }
    elif event == "appeal":
        title = order_title(p, _("the ruling was appealed"))
        if by == role:
            first = _("You appealed the ruling.")
        else:
            first = _("%(who)s appealed the ruling.") % {"who": other_side(p).capitalize()}
        first += " " + _("Another member of the dispute team reviews the dispute.")
    elif event == "return_received":
        first = _("The returned item was reported as received %(condition)s, so the dispute team decides.") % {
            "condition": {"damaged": _("damaged"), "empty": _("empty"), "different": _("as a different item")}.get(
                p.get("condition"), p.get("condition", "")
            )
        }
    elif event == "take_over":
        first = _("The dispute team took the dispute over.")
    elif by == role:
        first = _("You sent the dispute to the dispute team.")
    else:
        first = _("%(who)s sent the dispute to the dispute team.") % {"who": other_side(p).capitalize()}
    happened = " ".join(part for part in (first, positions(p)) if part)
    return (title, happened, *team_rules_by(p))


def assigned(p: dict) -> Words:
    title = _("Dispute #%(id)s on order %(n)s is assigned to you") % {"id": p.get("dispute"), "n": p.get("order")}
    action = _("Review it and rule by %(when)s.") % {"when": when(p)} if p.get("deadline") else _("Review it and rule.")
    return title, positions(p), action, _("After that, the ruling is overdue and you are reminded of it.")


def outcome_phrase(p: dict) -> str:
    """ "a partial refund (30.00 USD in all) to you", "no refund"."""
    outcome, amount = p.get("outcome"), money(p, "amount")
    to_whom = _("to you") if p.get("role") == "buyer" else _("to the buyer")
    if outcome == "return":
        return _("that the item goes back to the seller, then %(amount)s is refunded %(to)s") % {
            "amount": amount,
            "to": to_whom,
        }
    if outcome == "no_refund" or not p.get("amount") or Decimal(str(p["amount"])) <= 0:
        return _("no refund")
    if outcome == "full_refund":
        return _("a full refund (%(amount)s in all) %(to)s") % {"amount": amount, "to": to_whom}
    return _("a partial refund (%(amount)s in all) %(to)s") % {"amount": amount, "to": to_whom}


def ruled(p: dict) -> Words:
    """The one notice a party gets for a ruling: what was ruled, what was refunded (if anything),
    what the buyer must do to get a refund that waits for the item, and until when it may be
    appealed. A ruling that may still be appealed is never called closed."""
    role = p.get("role")
    title = order_title(p, _("the dispute team ruled"))
    happened = with_note(_("The dispute team ruled %(outcome)s.") % {"outcome": outcome_phrase(p)}, p, _("The team"))
    if p.get("refunded") and Decimal(str(p["refunded"])) > 0:
        refund = {"amount": money(p, "refunded")}
        happened += " " + (
            _("A refund of %(amount)s was issued to you.") % refund
            if role == "buyer"
            else _("A refund of %(amount)s was issued to the buyer.") % refund
        )
    steps = []
    if p.get("outcome") == "return" and role == "buyer" and p.get("return_by"):
        steps.append(
            _(
                "Ship the item to the seller's return address and enter its tracking number on the dispute page by "
                "%(when)s."
            )
            % {"when": when(p, "return_by")}
        )
    appeal_open = p.get("appeal") and not _passed(p.get("deadline"))
    if appeal_open:
        steps.append(
            _(
                "If you disagree, you may appeal once, within %(days)s days: by %(when)s. Another member of the team "
                "then reviews the dispute."
            )
            % {"when": when(p), "days": settings.APPEAL_DAYS}
        )
        otherwise = _("If nobody appeals by then, the ruling is final.")
    else:
        otherwise = _("This ruling is final.")
    return title, happened, " ".join(steps), otherwise


def _passed(raw: str | None) -> bool:
    return bool(raw) and datetime.fromisoformat(raw) <= timezone.now()


def resolved(p: dict) -> Words:
    amount = p.get("amount")
    if p.get("event") == "ruling":
        # Older rows: a ruling used to send this beside `ruled`; it may still be appealable, so it
        # is not called closed here (`ruled` says whether and until when).
        title = order_title(p, _("the dispute team ruled"))
        happened = _("The dispute team ruled %(outcome)s.") % {"outcome": outcome_phrase(p)}
        return title, happened, "", ""
    if amount and Decimal(str(amount)) > 0:
        refund = _("%(amount)s refunded to you") if p.get("role") == "buyer" else _("%(amount)s refunded to the buyer")
        title = order_title(p, _("dispute closed, %(refund)s") % {"refund": refund % {"amount": money(p, "amount")}})
    else:
        title = order_title(p, _("dispute closed, no refund"))
    if p.get("event") == "return_received":
        how = (
            _("You confirmed the returned item.")
            if p.get("role") == "seller"
            else _("The seller confirmed the returned item.")
        )
    else:
        how = how_it_settled(p)
    happened = how + " " + _("The dispute is closed with %(outcome)s.") % {"outcome": outcome_phrase(p)}
    return title, happened, _("Nothing more is needed from you."), ""


def refunded(p: dict) -> Words:
    title = order_title(p, _("you were refunded %(amount)s") % {"amount": money(p, "amount")})
    happened = _("A refund of %(amount)s for order %(n)s was issued to you.") % {
        "amount": money(p, "amount"),
        "n": p.get("order"),
    }
    return title, happened, _("Nothing more is needed from you."), ""


def day_left(p: dict) -> Words:
    event, state = p.get("event"), p.get("state")
    if event == "escalation":
        title = order_title(p, _("the dispute goes to the dispute team within a day"))
        happened = " ".join(part for part in (_("The dispute is not settled yet."), positions(p)) if part)
        if p.get("role") == "buyer":
            action = _("Settle it before %(when)s: accept the seller's offer, or change your request.") % {
                "when": when(p)
            }
        else:
            action = _("Settle it before %(when)s: accept the buyer's request, or make an offer they accept.") % {
                "when": when(p)
            }
        return title, happened, action, _("If it is not settled by then, the dispute team decides.")
    if event == "evidence":
        title = order_title(p, _("one day left to send the evidence the dispute team asked for"))
        happened = _("The dispute team asked: %(note)s") % {"note": quoted(p.get("note"))}
        action = _("Add photos or a note on the dispute page by %(when)s.") % {"when": when(p)}
        return title, happened, action, _("If you do not, the team decides without it.")
    if p.get("role") == "team":
        title = _("One day left to rule on dispute #%(id)s (order %(n)s)") % {
            "id": p.get("dispute"),
            "n": p.get("order"),
        }
        action = _("Rule by %(when)s.") % {"when": when(p)}
        return title, positions(p), action, _("After that, the ruling is overdue.")
    title = order_title(p, _("one day left to act on the dispute"))
    if state == "awaiting_return":
        happened = _("You agreed to send the item back; once the seller confirms it, you are refunded %(amount)s.") % {
            "amount": money(p, "amount")
        }
    elif state == "return_in_transit":
        happened = _("The buyer sent the item back; the agreed refund is %(amount)s.") % {"amount": money(p, "amount")}
    else:
        happened = positions(p)
    return (title, happened, *by_state(p))


def sla_breached(p: dict) -> Words:
    title = _("The ruling on dispute #%(id)s (order %(n)s) is overdue") % {"id": p.get("dispute"), "n": p.get("order")}
    happened = _("It was due %(when)s.") % {"when": when(p)}
    action = _("Rule on it now, or release it to the queue if you cannot.")
    return title, happened, action, _("The parties are waiting; the dispute stays overdue until it is ruled.")


def needs_person(p: dict) -> Words:
    title = _("Dispute #%(id)s on order %(n)s needs a person") % {"id": p.get("dispute"), "n": p.get("order")}
    happened = _("A step the system takes by itself failed: %(why)s") % {"why": quoted(p.get("note"))}
    action = _("Look at it in the review queue and take it over.")
    return title, happened, action, _("Until someone does, the system tries again every hour.")


def ruling_withdrawn(p: dict) -> Words:
    title = _("Your proposed ruling on dispute #%(id)s was withdrawn") % {"id": p.get("dispute")}
    happened = _("The dispute on order %(n)s moved on (%(action)s) before a second member approved your ruling.") % {
        "n": p.get("order"),
        "action": p.get("event", ""),
    }
    action = _("Look at the dispute again and propose a new ruling if one is still needed.")
    return title, happened, action, ""


def window_opens(p: dict) -> Words:
    title = order_title(p, _("you can open a dispute if something is wrong"))
    happened = _("Buyer protection for order %(n)s (%(total)s) is open.") % {
        "n": p.get("order"),
        "total": money(p, "total"),
    }
    action = _(
        "If the item did not arrive or is not as described, open a dispute from the order's page by %(when)s."
    ) % {"when": when(p)}
    return title, happened, action, _("After that, the order completes and the seller is paid.")


def window_closing(p: dict) -> Words:
    title = order_title(p, _("buyer protection ends in %(days)s days") % {"days": p.get("days")})
    happened = _("Buyer protection for order %(n)s (%(total)s) ends %(when)s.") % {
        "n": p.get("order"),
        "total": money(p, "total"),
        "when": when(p),
    }
    action = _("If something is wrong with the order, open a dispute from the order's page before then.")
    return title, happened, action, _("After that you can no longer open a dispute, and the seller is paid.")


def order_cancelled(p: dict) -> Words:
    title = order_title(p, _("cancelled and refunded: it was never shipped"))
    if p.get("role") == "seller":
        happened = _(
            "You did not ship order %(n)s before buyer protection ended, so it is cancelled and %(amount)s is "
            "refunded to the buyer."
        )
    else:
        happened = _(
            "The seller did not ship order %(n)s before buyer protection ended, so it is cancelled and %(amount)s is "
            "refunded to you."
        )
    happened %= {"n": p.get("order"), "amount": money(p, "amount")}
    return title, happened, _("Nothing more is needed from you."), ""


def dispute_cancelled(p: dict) -> Words:
    """To the seller: the buyer withdrew the dispute. Nothing is refunded; whether the buyer may
    open another one on the order, and until when."""
    title = order_title(p, _("the buyer cancelled the dispute"))
    happened = _("The buyer cancelled their dispute on order %(n)s. Nothing is refunded.") % {"n": p.get("order")}
    tries = p.get("tries_left")
    if tries and p.get("window_closes"):
        more = _("The buyer may still open one more dispute on this order until buyer protection ends, %(when)s.") % {
            "when": when(p, "window_closes")
        }
    elif tries == 0:
        more = _("The buyer cannot open another dispute on this order.")
    else:
        more = ""
    return title, " ".join(part for part in (happened, more) if part), _("Nothing more is needed from you."), ""


def extension(p: dict) -> Words:
    """An extension of buyer protection: asked by the buyer (to the seller), granted or declined by
    the seller (to the buyer)."""
    event, days = p.get("event"), p.get("days")
    if event == "extension_granted":
        title = order_title(p, _("the seller extended buyer protection by %(days)s days") % {"days": days})
        happened = _("The seller granted %(days)s more days. Buyer protection for order %(n)s now ends %(when)s.") % {
            "days": days,
            "n": p.get("order"),
            "when": when(p, "closes_at"),
        }
        action = _("If something is wrong with the order, open a dispute from the order's page before then.")
        return title, happened, action, ""
    if event == "extension_declined":
        title = order_title(p, _("the seller declined your request for more days"))
        happened = _("The seller declined your request for %(days)s more days of buyer protection. Their reason: "
                     "%(reason)s") % {"days": days, "reason": quoted(p.get("reason"))}  # fmt: skip
        action = _("Buyer protection still ends %(when)s; open a dispute from the order's page before then if "
                   "something is wrong.") % {"when": when(p, "closes_at")}  # fmt: skip
        return title, happened, action if p.get("closes_at") else "", ""
    title = order_title(p, _("the buyer asks for %(days)s more days of protection") % {"days": days})
    happened = _("The buyer asks you to extend buyer protection for order %(n)s by %(days)s days.") % {
        "n": p.get("order"),
        "days": days,
    }
    if p.get("note"):
        happened += " " + _("Their reason: %(note)s") % {"note": quoted(p["note"])}
    action = _("Grant the days (or fewer) or decline with a reason, on the order's page.")
    if p.get("closes_at"):
        action += " " + _("Buyer protection ends %(when)s unless you extend it.") % {"when": when(p, "closes_at")}
    return title, happened, action, ""


# --- pauses and agreed extensions of a dispute's clocks (disputes/pauses.py) -----------------------

# Why the dispute team paused a dispute: the codes disputes.models.PauseReason stores.
PAUSE_REASONS = {
    "carrier_investigation": gettext_lazy("the carrier is investigating the shipment"),
    "public_holiday": gettext_lazy("a public holiday"),
    "third_party": gettext_lazy("the dispute team is waiting for a third party"),
}


def pause_reason(code: str | None) -> str:
    return str(PAUSE_REASONS.get(code or "", code or ""))


def dispute_paused(p: dict) -> Words:
    """To both parties: the dispute team paused the dispute's clocks, why, and until when."""
    title = order_title(p, _("the dispute is paused"))
    happened = _("The dispute team paused the deadlines of your dispute on order %(n)s: %(reason)s.") % {
        "n": p.get("order"),
        "reason": pause_reason(p.get("reason")),
    }
    happened = with_note(happened, p, _("The team"))
    action = _("Nothing runs out while it is paused; you can still add evidence and messages.")
    after = _("The deadlines start again by %(when)s at the latest, with the time they had left.") % {
        "when": when(p, "until")
    }
    return title, happened, action, after


def dispute_resumed(p: dict) -> Words:
    """To both parties: the pause ended and the clocks run again, with the time they had left."""
    title = order_title(p, _("the dispute's deadlines run again"))
    happened = _(
        "The pause of your dispute on order %(n)s is over (%(reason)s); each deadline has the time it had left "
        "when it was paused."
    ) % {"n": p.get("order"), "reason": pause_reason(p.get("reason"))}
    if p.get("deadline"):
        return title, happened, _("The current step's deadline is %(when)s.") % {"when": when(p)}, ""
    return title, happened, "", ""


def case_linked(p: dict) -> Words:
    """To both parties: the dispute joined a linked case (the case's public reason, nothing of its other
    members), or left it and is reviewed alone again."""
    if p.get("event") == "case_unlinked":
        title = order_title(p, _("the dispute is reviewed on its own again"))
        happened = _("The dispute team took your dispute on order %(n)s out of the disputes it rules together.") % {
            "n": p.get("order")
        }
        return title, happened, _("It is reviewed and ruled on its own; nothing else changes for you."), ""
    title = order_title(p, _("the dispute is reviewed with others that share its cause"))
    happened = _("The dispute team will rule your dispute on order %(n)s together with others: %(reason)s") % {
        "n": p.get("order"),
        "reason": p.get("reason", ""),
    }
    action = _("Nothing changes in what you can do: your deadlines, offers and evidence stay your own.")
    return title, happened, action, _("The other disputes and their parties stay private, as yours does to them.")


def more_time(p: dict) -> Words:
    """A request for more time: asked (to the other side), accepted or declined (to the side that asked)."""
    days, side = p.get("days"), other_side(p)
    if p.get("event") == "more_time":
        title = order_title(p, _("%(side)s asks for %(days)s more days") % {"side": side, "days": days})
        happened = with_note(
            _("On the dispute over order %(n)s, %(side)s asks you for %(days)s more days on the current deadline.")
            % {"n": p.get("order"), "side": side, "days": days},
            p,
            side.capitalize(),
        )
        action = _("Accept or decline on the dispute's page.")
        if p.get("deadline"):
            action += " " + _("The deadline is %(when)s unless you accept.") % {"when": when(p)}
        return title, happened, action, _("If the step ends before you answer, the request lapses.")
    if p.get("accepted"):
        title = order_title(p, _("%(side)s gave you %(days)s more days") % {"side": side, "days": days})
        happened = _("The deadline of the current step and the dispute's automatic escalation each moved %(days)s "
                     "days later.") % {"days": days}  # fmt: skip
        action = _("The new deadline is %(when)s.") % {"when": when(p)} if p.get("deadline") else ""
        return title, happened, action, ""
    title = order_title(p, _("%(side)s declined more time") % {"side": side})
    happened = _("%(side)s declined your request for %(days)s more days; the deadlines stay as they were.") % {
        "side": side.capitalize(),
        "days": days,
    }
    action = _("The deadline is %(when)s.") % {"when": when(p)} if p.get("deadline") else ""
    return title, happened, action, ""


# --- return and exchange requests (disputes/notices.py tell_request) ------------------------------

REQUEST_KINDS = {
    "return_refund": gettext_lazy("a return for a refund"),
    "exchange": gettext_lazy("an exchange"),
    "refund_only": gettext_lazy("a refund without return"),
}


def return_request(p: dict) -> Words:
    """A step of a return or exchange request made to the seller directly (no dispute)."""
    event, role, n = p.get("event"), p.get("role"), p.get("request")
    kind = str(REQUEST_KINDS.get(p.get("kind"), _("a return")))
    by = when(p)
    amount = money(p, "amount")
    if event == "day_left":
        title = order_title(p, _("a day left on request #%(n)s") % {"n": n})
        happened = _("Request #%(n)s for %(kind)s is waiting for you.") % {"n": n, "kind": kind}
        action = _("Act on the request's page by %(when)s.") % {"when": by}
        after = _("If not, %(what)s.") % {"what": p["what_happens"]} if p.get("what_happens") else ""
        return title, happened, action, after
    if event == "open":
        title = order_title(p, _("the buyer asks for %(kind)s") % {"kind": kind})
        happened = _("The buyer asks for %(kind)s (%(reason)s), worth %(amount)s, under your return policy.") % {
            "kind": kind,
            "reason": reason_label(p.get("reason")),
            "amount": amount,
        }
        if p.get("note"):
            happened += " " + _("Their note: %(note)s") % {"note": quoted(p["note"])}
        action = _("Approve it or decline it with a reason on the request's page by %(when)s.") % {"when": by}
        return title, happened, action, _("If you do not answer, what your policy covers is approved for you.")
    if event in ("approve", "seller_silence") and p.get("state") == "awaiting_return":
        title = order_title(p, _("your return is approved"))
        happened = _("Your request #%(n)s for %(kind)s is approved.") % {"n": n, "kind": kind}
        action = _("Send the item to the return address on the request's page and enter the tracking by %(when)s.")
        return title, happened, action % {"when": by}, _("If you do not, the request lapses and nothing is refunded.")
    if event in ("approve", "seller_silence") and p.get("state") == "approved":
        title = order_title(p, _("your exchange is approved"))
        happened = _("The seller approved your exchange (request #%(n)s) and ships the replacement by %(when)s.")
        return title, happened % {"n": n, "when": by}, "", ""
    if event == "decline":
        title = order_title(p, _("the seller declined your request"))
        happened = _("The seller declined your request #%(n)s for %(kind)s. Their reason: %(reason)s") % {
            "n": n,
            "kind": kind,
            "reason": quoted(p.get("note")),
        }
        action = _("You can turn it into a dispute from the request's page until %(when)s.") % {
            "when": when(p, "dispute_by")
        }
        return title, happened, action if p.get("dispute_by") else "", ""
    if event == "return_shipment":
        title = order_title(p, _("the return is on its way"))
        happened = _("The buyer shipped the item back for request #%(n)s.") % {"n": n}
        action = _("Confirm it arrived and its condition on the request's page by %(when)s.") % {"when": by}
        return title, happened, action, _("If you do not, the buyer is refunded.")
    if event == "replacement_shipment":
        title = order_title(p, _("your replacement is on its way"))
        happened = _("The seller shipped your replacement for request #%(n)s.") % {"n": n}
        action = _("Confirm it arrived on the request's page, or open a dispute if it is not right, by %(when)s.")
        return title, happened, action % {"when": by}, _("If you do nothing, the exchange completes.")
    if p.get("refunded"):
        title = order_title(p, _("refunded under the return policy"))
        happened = _("Request #%(n)s is complete: %(amount)s refunded to the buyer.") % {
            "n": n,
            "amount": money(p, "refunded"),
        }
        if role == "buyer":
            happened = _("Request #%(n)s is complete: you are refunded %(amount)s.") % {
                "n": n,
                "amount": money(p, "refunded"),
            }
        return title, happened, "", ""
    if p.get("dispute"):
        title = order_title(p, _("the request became a dispute"))
        happened = _("Request #%(n)s became dispute #%(d)s.") % {"n": n, "d": p.get("dispute")}
        return title, happened, _("Follow it on the dispute's page."), ""
    if event in ("confirm", "replacement_not_confirmed"):
        title = order_title(p, _("the exchange is complete"))
        return title, _("Request #%(n)s is complete: the replacement arrived.") % {"n": n}, "", ""
    if event == "return_not_shipped":
        title = order_title(p, _("the return lapsed"))
        happened = _("The item was not shipped back in time for request #%(n)s, so it lapsed with no refund.")
        return title, happened % {"n": n}, "", ""
    if event == "cancel":
        title = order_title(p, _("the buyer withdrew a request"))
        return title, _("The buyer withdrew request #%(n)s.") % {"n": n}, "", ""
    title = order_title(p, _("a return or exchange request moved on"))
    return title, _("Request #%(n)s moved on.") % {"n": n}, "", ""


def reconcile_kind(kind: str) -> str:
    """What a kind of reconciliation mismatch (disputes/reconcile.py) means, in words."""
    return {
        "over_total": _("refunds above what the buyer paid"),
        "currency": _("refunds in another currency than their order's"),
        "missing_refund": _("resolutions that owe a refund with no refund recorded"),
        "duplicate_refund": _("resolutions refunded more than once"),
        "refund_amount": _("resolutions whose refund is not the amount they decided"),
        "refund_without_resolution": _("refunds for a resolution the dispute never had"),
        "order_status": _("orders whose status does not match their refunds"),
        "gateway_missing": _("refunds the payment gateway has no record of"),
        "gateway_amount": _("refunds the payment gateway paid a different amount for"),
        "gateway_unknown": _("payments by the gateway that the ledger has no refund for"),
        "gateway_unreadable": _("the payment gateway could not say what it paid"),
    }.get(kind, kind)


def reconcile_mismatch(p: dict) -> Words:
    """To the superusers: the daily money check found the ledger, the orders, the resolutions or the
    payment gateway disagreeing, how often and how."""
    n = int(p.get("mismatches") or 0)
    title = ngettext(
        "The money reconciliation found %(n)s mismatch", "The money reconciliation found %(n)s mismatches", n
    ) % {"n": n}
    kinds = p.get("kinds") or {}
    found = "; ".join(
        _("%(what)s: %(count)s") % {"what": reconcile_kind(kind), "count": count} for kind, count in kinds.items()
    )
    happened = _("The check of %(when)s found %(found)s.") % {"when": when(p, "at"), "found": found or n}
    action = _(
        "Read the run's report on the operator's page in admin, set each mismatch right (in the ledger, on the "
        "order or with the payment provider), then run manage.py reconcile to check again."
    )
    return title, happened, action, _("Until they are corrected, every daily check reports them again.")


WORDS: dict[str, Callable[[dict], Words]] = {
    K.DISPUTE_OPENED: dispute_opened,
    K.YOUR_TURN: your_turn,
    K.DAY_LEFT: day_left,
    K.ESCALATED: escalated,
    K.ASSIGNED: assigned,
    K.RULED: ruled,
    K.REFUNDED: refunded,
    K.RESOLVED: resolved,
    K.WINDOW_OPENS: window_opens,
    K.WINDOW_CLOSING: window_closing,
    K.SLA_BREACHED: sla_breached,
    K.NEEDS_PERSON: needs_person,
    K.RULING_WITHDRAWN: ruling_withdrawn,
    K.ORDER_CANCELLED: order_cancelled,
    K.DISPUTE_CANCELLED: dispute_cancelled,
    K.EXTENSION: extension,
    K.RETURN_REQUEST: return_request,
    K.RECONCILE_MISMATCH: reconcile_mismatch,
    K.DISPUTE_PAUSED: dispute_paused,
    K.DISPUTE_RESUMED: dispute_resumed,
    K.MORE_TIME: more_time,
    K.CASE_LINKED: case_linked,
}


def words(kind: str, params: dict) -> Words:
    """The notice's words; a kind without words of its own shows its label."""
    build = WORDS.get(kind)
    if build is None:
        return str(K(kind).label) if kind in K.values else kind, "", "", ""
    return build(params)
