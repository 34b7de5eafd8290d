"""A page form that asks a service to act: saved, it redirects with a flash; invalid or refused, the
page comes back with the form's errors, each refusal on the field it is about."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.test import RequestFactory

from core.errors import RuleViolation
from core.pages import form_submit


class PhotoNoteForm(forms.Form):
    note = forms.CharField(max_length=10)
    images = forms.CharField(required=False)


def post(data: dict):
    request = RequestFactory().post("/somewhere/", data)
    request._messages = CookieStorage(request)
    return request


def refuse(code: str = "invalid_state", status: int = 409):
    def act(data):
        raise RuleViolation(code, "Not now.", status=status)

    return act


def submit(request, form, act, **options):
    return form_submit(
        request, form, act, success="Saved.", page=lambda: HttpResponse("the page", status=400), **options
    )


def test_a_saved_form_redirects_with_a_flash_and_the_service_gets_the_cleaned_data():
    request = post({"note": " hello "})
    seen = []
    response = submit(request, PhotoNoteForm(request.POST), seen.append, next_url="/done/#thread")
    assert response.status_code == 302 and response["Location"] == "/done/#thread"
    assert [str(m) for m in get_messages(request)] == ["Saved."]
    assert seen == [{"note": "hello", "images": ""}]


def test_the_next_url_can_follow_from_what_the_service_made():
    request = post({"note": "hello"})
    response = submit(request, PhotoNoteForm(request.POST), lambda data: 42, next_url=lambda made: f"/made/{made}/")
    assert response["Location"] == "/made/42/"


def test_an_invalid_form_never_reaches_the_service_and_shows_the_page():
    request = post({"note": "far too long a note"})
    form = PhotoNoteForm(request.POST)
    seen = []
    response = submit(request, form, seen.append, next_url="/done/")
    assert response.status_code == 400 and response.content == b"the page"
    assert seen == [] and "note" in form.errors
    assert list(get_messages(request)) == []


def test_a_refusal_goes_above_the_form_and_nothing_is_flashed():
    request = post({"note": "hello"})
    form = PhotoNoteForm(request.POST)
    response = submit(request, form, refuse(), next_url="/done/")
    assert response.status_code == 400
    assert form.non_field_errors() == ["Not now."]
    assert list(get_messages(request)) == []


@pytest.mark.parametrize("status", [413, 415])
def test_refused_uploads_go_on_the_upload_field(status):
    request = post({"note": "hello"})
    form = PhotoNoteForm(request.POST)
    submit(request, form, refuse("invalid_photo", status), next_url="/done/", upload_field="images")
    assert form.errors["images"] == ["Not now."] and not form.non_field_errors()


def test_refused_uploads_stay_above_the_form_when_it_names_no_upload_field():
    request = post({"note": "hello"})
    form = PhotoNoteForm(request.POST)
    submit(request, form, refuse("invalid_photo", 415), next_url="/done/")
    assert form.non_field_errors() == ["Not now."]


def test_a_refusal_code_can_name_its_field_and_a_refused_upload_still_goes_on_the_upload_field():
    by_code = {"photos_required": "images", "note_rude": "note"}
    request = post({"note": "hello"})
    form = PhotoNoteForm(request.POST)
    submit(request, form, refuse("note_rude"), next_url="/done/", upload_field="images", fields_by_code=by_code)
    assert form.errors["note"] == ["Not now."]
    form = PhotoNoteForm(request.POST)
    submit(request, form, refuse("note_rude", 413), next_url="/done/", upload_field="images", fields_by_code=by_code)
    assert form.errors["images"] == ["Not now."] and "note" not in form.errors
