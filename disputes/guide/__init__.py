"""The dispute page's words for the person reading it.

A buyer or a seller reads about their own dispute in the second person ("your request", "If you do
not answer by ..."); the team, on the same page, reads neutral words. Where the dispute stands (the
stepper), what happened (the timeline, without the team's internal moves or names), and what each
irreversible action will do (its confirmation screen) are all worded here, from the workflow's
table and clocks, never from a state written out by hand in a template.
"""

from disputes.guide.actions import (
    ACTION_WEIGHT,
    CONFIRM_ACTIONS,
    DESTRUCTIVE,
    PRIMARY,
    SECONDARY,
    Confirmation,
    action_hint,
    action_refusal,
    confirmation,
    reopen_text,
)
from disputes.guide.status import (
    Stage,
    amount_text,
    appeal_by,
    appeal_open_for,
    cause_text,
    headline,
    money_text,
    offer_on_the_table,
    refunded_text,
    short_state,
    stages,
    viewer_of,
    when,
)
from disputes.guide.timeline import INTERNAL_ACTIONS, Entry, timeline

__all__ = [
    "ACTION_WEIGHT",
    "CONFIRM_ACTIONS",
    "DESTRUCTIVE",
    "INTERNAL_ACTIONS",
    "PRIMARY",
    "SECONDARY",
    "Confirmation",
    "Entry",
    "Stage",
    "action_hint",
    "action_refusal",
    "amount_text",
    "appeal_by",
    "appeal_open_for",
    "cause_text",
    "confirmation",
    "headline",
    "money_text",
    "offer_on_the_table",
    "refunded_text",
    "reopen_text",
    "short_state",
    "stages",
    "timeline",
    "viewer_of",
    "when",
]
