"""`{% notice note as shown %}`: a notification in its reader's words (notifications.render)."""

from django import template
from django.utils import translation

from notifications.models import Notification
from notifications.render import Notice, render

register = template.Library()


@register.simple_tag(takes_context=True)
def notice(context, note: Notification) -> Notice:
    """Rendered for the signed-in reader when the page is theirs (no query for the recipient), in the
    page's language."""
    user = getattr(context.get("request"), "user", None)
    recipient = user if getattr(user, "pk", None) == note.recipient_id else None
    return render(note, recipient=recipient, language=translation.get_language())
