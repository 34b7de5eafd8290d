"""Signing in on the pages (admin signs in here too): the password, then, for whoever uses
two-step sign-in, a code. Both steps go through the one throttle every door shares
(accounts/throttle.py): a refused attempt answers 429 with when to try again, and never reaches
the password or code check."""

from django import forms
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, RedirectURLMixin
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View
from django_otp import login as otp_login

from accounts import throttle, two_step
from accounts.models import User

PENDING = "two_step_pending_user"

THROTTLED = _("Too many failed sign-ins for this account or from this network. Try again in %(minutes)s minutes.")


def _throttled(refusal: throttle.Refusal) -> ValidationError:
    return ValidationError(THROTTLED, code="throttled", params={"minutes": refusal.minutes})


class SignInForm(AuthenticationForm):
    error_messages = {**AuthenticationForm.error_messages, "throttled": THROTTLED}

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if not username or not self.cleaned_data.get("password"):
            return super().clean()  # a blank field: its message, and no password checked
        attempt = throttle.begin(self.request, username, door="page")
        if isinstance(attempt, throttle.Refusal):
            raise _throttled(attempt)
        try:
            cleaned = super().clean()
        except ValidationError:
            throttle.failed(self.request, attempt)
            raise
        user = self.get_user()
        if user is not None and not two_step.has_two_step(user):
            throttle.succeeded(self.request, user, attempt)
        else:
            # The password alone signs nobody in who uses two-step: the code step decides, and only
            # then is the address known to the account (or its failures forgotten).
            throttle.not_a_guess(attempt)
        return cleaned


class SignInView(LoginView):
    """Step one: the password. Someone with two-step sign-in goes on to the code; a team member
    who must use it but has no authenticator yet is signed in to set one up, and nothing else."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if two_step.has_two_step(user):
            self.request.session[PENDING] = user.pk
            self.request.session["two_step_next"] = self.get_success_url()
            return redirect("two_step_code")
        return super().form_valid(form)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
        return response


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a backup code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class CodeView(RedirectURLMixin, View):
    """Step two: the code. Wrong codes count as failed sign-ins, so they are throttled too."""

    template_name = "registration/two_step_code.html"

    def _user(self, request) -> User | None:
        pk = request.session.get(PENDING)
        return User.objects.filter(pk=pk, is_active=True).first() if pk else None

    def get(self, request):
        if self._user(request) is None:
            return redirect("login")
        return render(request, self.template_name, {"form": CodeForm()})

    def post(self, request):
        user = self._user(request)
        if user is None:
            return redirect("login")
        form = CodeForm(request.POST)
        status = 400
        if form.is_valid():
            attempt = throttle.begin(request, user.username, door="two_step")
            wait = two_step.code_wait(user)
            if isinstance(attempt, throttle.Refusal):
                form.add_error(None, _throttled(attempt))
                status = 429
            elif wait:
                throttle.not_a_guess(attempt)
                message = _("Too many wrong codes just now. Wait %(n)s seconds, then enter the current code.")
                form.add_error(None, message % {"n": wait})
                status = 429
            else:
                device = two_step.verify(user, form.cleaned_data["code"])
                if device is not None:
                    next_url = request.session.pop("two_step_next", None)
                    request.session.pop(PENDING, None)
                    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                    otp_login(request, device)
                    throttle.succeeded(request, user, attempt)
                    return redirect(next_url or "home")
                throttle.failed(request, attempt)
                form.add_error("code", _("That code is not right. Codes change every 30 seconds; try the current one."))
        return render(request, self.template_name, {"form": form}, status=status)
