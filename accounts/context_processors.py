from functools import cache

from accounts import roles


def viewer(request):
    """Role flags for the base layout's navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from messaging.notifications import unread_count
    from messaging.selectors import unread_total

    return {
        "viewer_is_seller": roles.is_seller(user),
        "viewer_is_team": roles.is_dispute_team(user),
        # Counted only if the page shows it, and then once.
        "viewer_unread": cache(lambda: unread_total(user)),
        "viewer_notifications": cache(lambda: unread_count(user)),
    }
