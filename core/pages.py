"""What every page form that asks a service to act does with the answer."""

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from core.errors import RuleViolation

# A refusal of the uploads themselves: too large (413) or not an image (415).
UPLOAD_REFUSALS = (413, 415)


def form_submit(
    request: HttpRequest,
    form: forms.BaseForm,
    act: Callable[[dict], Any],
    *,
    success: str,
    next_url: str | Callable[[Any], str],
    page: Callable[[], HttpResponse],
    upload_field: str | None = None,
    fields_by_code: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Validate the form, then `act(form.cleaned_data)`: the service call. If it acts, flash
    `success` and redirect to `next_url` (a URL, or a function of what `act` returned), so a
    reload does not post again. If the form is invalid or the rule refuses, answer `page()`: the
    page again, with the form and its errors, at the status the view gives it.

    A refusal's sentence goes on the field `fields_by_code` names for its code, on `upload_field`
    when the uploads were refused, else above the form."""
    if form.is_valid():
        try:
            result = act(form.cleaned_data)
        except RuleViolation as refusal:
            field = (fields_by_code or {}).get(refusal.code)
            if upload_field and refusal.status in UPLOAD_REFUSALS:
                field = upload_field
            form.add_error(field, refusal.detail)
        else:
            messages.success(request, success)
            return redirect(next_url(result) if callable(next_url) else next_url)
    return page()
