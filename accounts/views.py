from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from accounts import roles


@login_required
def home(request):
    """Send each person to where their work is."""
    if roles.is_seller(request.user):
        return redirect("sellers:orders")
    if roles.is_dispute_team(request.user) and request.user.is_staff:
        return redirect("admin:index")
    return redirect("orders:list")
