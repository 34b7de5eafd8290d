import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from accounts import roles, two_step
from accounts.forms import PreferencesForm
from accounts.middleware import page_language
from core.audit import audit


@login_required
def home(request):
    """Send each person to where their work is."""
    if roles.is_seller(request.user):
        return redirect("sellers:orders")
    if roles.is_dispute_team(request.user) and request.user.is_staff:
        return redirect("admin:index")
    return redirect("orders:list")


@login_required
def preferences(request):
    """A person's language and time zone, as a plain form. Once saved, the page and its message speak
    the language chosen (the next request's, worked out the way every page's is)."""
    user = request.user
    form = PreferencesForm(request.POST or None, instance=user)
    if request.method == "POST":
        if form.is_valid():
            form.save(commit=False).save(update_fields=["language", "time_zone"])  # nothing else of the row
            audit("user.preferences_saved", user=user.username, language=user.language, time_zone=user.time_zone)
            with translation.override(page_language(request, user)):
                messages.success(request, _("Your settings are saved."))
            return redirect("preferences")
        return render(request, "accounts/preferences.html", {"form": form}, status=400)
    return render(request, "accounts/preferences.html", {"form": form})


@login_required
def two_step_setup(request):
    """Turn two-step sign-in on (scan a QR code, confirm with a first code, keep the backup
    codes shown once) or off (not for a team member while the team must use it)."""
    user = request.user
    context: dict = {"enabled": two_step.has_two_step(user), "required": two_step.must_use_two_step(user)}
    status = 200
    if request.method == "POST":
        step = request.POST.get("step")
        if step == "start":
            two_step.start_setup(user)
        elif step == "confirm":
            device = two_step.pending_device(user)
            codes = two_step.confirm_setup(user, device, request.POST.get("code", "")) if device else None
            if codes:
                otp_login(request, user.totpdevice_set.get(confirmed=True))
                context.update(enabled=True, backup_codes=codes, next=_safe_next(request))
                messages.success(request, _("Two-step sign-in is on."))
                return render(request, "accounts/two_step.html", context)
            context["error"] = _("That code is not right. Enter the 6 digits your app shows now.")
            status = 400
        elif step == "off" and context["enabled"]:
            if settings.TWO_STEP_REQUIRED_FOR_TEAM and roles.is_dispute_team(user):
                context["error"] = _("The dispute team must use two-step sign-in; it cannot be turned off.")
                status = 400
            elif two_step.verify(user, request.POST.get("code", "")) is None:
                context["error"] = _("Give a current code to turn two-step sign-in off.")
                status = 400
            else:
                two_step.turn_off(user)
                messages.success(request, _("Two-step sign-in is off."))
                return redirect("two_step_setup")
    device = two_step.pending_device(user)
    if device is not None and not context.get("enabled"):
        secret = two_step.otpauth_secret(device)
        context.update(
            pending=True,
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr_svg=segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#111827", light="#ffffff"),
        )
    context["next"] = _safe_next(request)
    return render(request, "accounts/two_step.html", context, status=status)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    return target if allowed and target.startswith("/") else ""


def admin_login(request):
    """Admin's own sign-in page is this site's sign-in. Someone already signed in who lands here was
    sent by admin because they may not use it (not staff): they are told so, instead of being sent
    back and forth between admin and the sign-in page."""
    if request.user.is_authenticated:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(_("The review queue is for the dispute team."))
    query = request.META.get("QUERY_STRING", "")
    return redirect(f"{reverse('login')}?{query}" if query else reverse("login"))
