"""What every page form that asks a service to act does with the answer."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from core.errors import RuleViolation

# A refusal of the uploads themselves: too large (413) or not an image (415).
UPLOAD_REFUSALS = (413, 415)

# A check runs on what validated so far: it raises a refusal, or returns the refusals it found.
Check = Callable[[Mapping[str, Any]], Iterable[RuleViolation] | None]


class UploadKeeper(Protocol):
    """Keeps a form's uploads between tries, for their owner (messaging.photos.pending_photos).
    `find` and `keep` answer (kept, refusals); `uploads` turns kept ones into what the service
    takes; `release` forgets them once the service has stored its own copies."""

    limit: int  # uploads a form may hold
    minutes: int  # how long a kept upload lasts

    def find(self, owner, ids: list[str]) -> tuple[list, list[RuleViolation]]: ...

    def keep(self, owner, uploads: list, *, room: int) -> tuple[list, list[RuleViolation]]: ...

    def uploads(self, kept: list) -> list: ...

    def release(self, kept: list) -> None: ...


@dataclass
class Kept:
    """What a refused form hands its template: the uploads kept for `field`, posted back as `name`."""

    field: str
    name: str
    uploads: list = field(default_factory=list)
    minutes: int = 0


def kept_name(form: forms.BaseForm, upload_field: str) -> str:
    return form.add_prefix(f"kept_{upload_field}")


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
    keeper: UploadKeeper | None = None,
    checks: Sequence[Check] = (),
    anchor: str | None = None,
) -> HttpResponse:
    """Validate the form, then `act(form.cleaned_data)`: the service call. If it acts, flash
    `success` and redirect to `next_url` (a URL, or a function of what `act` returned), so a
    reload does not post again. If the form is invalid or the rule refuses, answer `page()`: the
    page again, with the form and its errors, at the status the view gives it.

    Every error that can be known before acting is gathered in one answer: the form's own, each
    refused upload, and each of `checks` (rules the service applies again; a check that reads a
    field which did not validate is skipped until it does). A refusal's sentence goes on the field
    `fields_by_code` names for its code, on `upload_field` when the uploads were refused, else
    above the form.

    With a `keeper`, the uploads of `upload_field` are cleaned and kept before anything else, so a
    refused form comes back with them attached (`form.kept`), and the next try posts their ids
    instead of the files; the service gets the kept uploads in `cleaned_data[upload_field]`.
    `anchor` (the page's URL and the form's #id) tells the template where the form lives, so the
    browser's address can show the page rather than the POST URL."""
    by_code = fields_by_code or {}
    form.is_valid()
    kept: list = []
    if keeper is not None and upload_field:
        kept = _keep_uploads(request, form, keeper, upload_field)
    for check in checks:
        for refusal in _refusals_of(check, form.cleaned_data):
            _place(form, refusal, by_code, upload_field)
    if not form.errors:
        if kept:
            form.cleaned_data[upload_field] = keeper.uploads(kept)
        try:
            result = act(form.cleaned_data)
        except RuleViolation as refusal:
            _place(form, refusal, by_code, upload_field)
        else:
            if kept:
                keeper.release(kept)
            messages.success(request, success)
            return redirect(next_url(result) if callable(next_url) else next_url)
    form.anchor = anchor
    return page()


def _keep_uploads(request: HttpRequest, form: forms.BaseForm, keeper: UploadKeeper, upload_field: str) -> list:
    """The uploads kept from earlier tries (their ids posted back), then this try's, cleaned and
    kept; each refusal goes on the upload field. The form's template gets them as `form.kept`."""
    name = kept_name(form, upload_field)
    form.errors.pop(upload_field, None)  # the photo pipeline judges the files, one sentence each
    earlier, gone = keeper.find(request.user, request.POST.getlist(name))
    fresh, refused = keeper.keep(
        request.user, request.FILES.getlist(form.add_prefix(upload_field)), room=keeper.limit - len(earlier)
    )
    kept = earlier + fresh
    for refusal in (*gone, *refused):
        form.add_error(upload_field, refusal.detail)
    if upload_field not in form.errors:
        form.cleaned_data[upload_field] = kept  # what the checks see; read in full only to act
    form.kept = Kept(field=upload_field, name=name, uploads=kept, minutes=keeper.minutes)
    return kept


def _refusals_of(check: Check, data: Mapping[str, Any]) -> list[RuleViolation]:
    try:
        return list(check(data) or ())
    except KeyError:
        return []  # it needs a field that did not validate: checked again once it does
    except RuleViolation as refusal:
        return [refusal]


def _place(form: forms.BaseForm, refusal: RuleViolation, by_code: Mapping[str, str], upload_field: str | None) -> None:
    field_name = by_code.get(refusal.code)
    if upload_field and refusal.status in UPLOAD_REFUSALS:
        field_name = upload_field
    if field_name is not None and field_name not in form.fields:
        field_name = None
    form.add_error(field_name, refusal.detail)
