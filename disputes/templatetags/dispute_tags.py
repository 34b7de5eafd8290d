from django import template
from django.utils.translation import gettext_lazy as _

from disputes.models import State
from disputes.states import WITH_TEAM

register = template.Library()

EVENT_LABELS = {
    "open": _("opened the dispute"),
    "accept": _("accepted"),
    "reject": _("rejected the request"),
    "propose": _("made a proposal"),
    "escalate": _("escalated to the dispute team"),
    "cancel": _("cancelled the dispute"),
    "claim": _("took the dispute for review"),
    "ruling": _("ruled"),
    "return_shipment": _("shipped the return"),
    "return_received": _("confirmed the returned item"),
    "appeal": _("appealed the ruling"),
    "seller_timeout": _("the seller did not answer in time"),
    "buyer_timeout": _("the buyer did not answer in time"),
    "auto_escalate": _("not settled in time: escalated"),
    "return_not_shipped": _("the return was not shipped in time"),
    "return_not_confirmed": _("the return was not confirmed in time"),
    "pause": _("paused the deadlines"),
    "resume": _("the deadlines run again"),
    "more_time": _("asked for more time"),
    "more_time_answer": _("answered the request for more time"),
    "case_linked": _("linked to a case"),
    "case_unlinked": _("taken out of its case"),
}


@register.filter
def seconds_left(seconds) -> str:
    """{{ seconds|seconds_left }}: a clock's time left, from seconds, as "4 days, 3 hours"."""
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.timesince import timeuntil

    now = timezone.now()
    return timeuntil(now + timedelta(seconds=float(seconds or 0)), now)


@register.filter
def event_label(action: str) -> str:
    return EVENT_LABELS.get(action, action)


@register.filter
def amount(value, currency: str) -> str:
    """{{ amount|amount:currency }}: the amount in the currency's own decimals, as the reader's language
    writes it ("$5.00", "¥1,234"); empty for no amount."""
    if value in (None, ""):
        return ""
    from disputes.guide import amount_text

    return amount_text(value, currency)


@register.filter
def state_label(state: str) -> str:
    try:
        return State(state).label
    except ValueError:
        return state


@register.filter
def party_state_label(state: str) -> str:
    """A dispute's state as a buyer or seller sees it in a list: the team is one desk, so
    "escalated" and "under review" (which differ only by who on the team holds it) read alike."""
    if state in WITH_TEAM:
        return str(_("With the dispute team"))
    return state_label(state)
