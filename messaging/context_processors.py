from functools import cache

from messaging.selectors import unread_total
from notifications.services import unread_count


def unread(request):
    """The unread messages and notifications the base layout's navigation shows: counted only if
    the page shows them, and then once."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "viewer_unread": cache(lambda: unread_total(user)),
        "viewer_notifications": cache(lambda: unread_count(user)),
    }
