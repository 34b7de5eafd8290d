from accounts import roles


def viewer(request):
    """Role flags for the base layout's navigation (the unread counts: messaging's context processor)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "viewer_is_seller": roles.is_seller(user),
        "viewer_is_team": roles.is_dispute_team(user),
    }
