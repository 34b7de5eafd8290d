"""A page form that asks a service to act: saved, it redirects with a flash; invalid or refused, the
page comes back at the form with every error at once, each refusal on the field it is about, and
the chosen photos kept for the next try."""

from datetime import timedelta

import pytest
import time_machine
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from core.errors import RuleViolation
from core.pages import form_submit
from disputes.models import Dispute
from messaging.models import Message, PendingUpload
from messaging.photos import pending_uploads_expire
from tests.disputes.helpers import OPEN_AT, SHIPPED, dispute_in
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes, upload


class PhotoNoteForm(forms.Form):
    note = forms.CharField(max_length=10)
    images = forms.CharField(required=False)


def post(data: dict):
    request = RequestFactory().post("/somewhere/", data)
    request._messages = CookieStorage(request)
    request.user = AnonymousUser()  # the keepers below keep for anyone
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


# --- every error at once, kept uploads, the form's anchor -----------------------------------------


class FakeKeeper:
    """Keeps uploads in a dict, as messaging.photos.pending_photos keeps them in the database."""

    limit = 3
    minutes = 30

    def __init__(self, store=None):
        self.store = dict(store or {})
        self.released = []

    def find(self, owner, ids):
        found = [self.store[i] for i in ids if i in self.store]
        gone = [RuleViolation("pending_upload_gone", "Gone.", status=400)] if len(found) < len(ids) else []
        return found, gone

    def keep(self, owner, uploads, *, room):
        kept, refused = [], []
        for chosen in uploads[:room]:
            if chosen.name.startswith("bad"):
                refused.append(RuleViolation("unsupported_image", f"{chosen.name} is not a photo.", status=415))
            else:
                self.store[chosen.name] = chosen.name
                kept.append(chosen.name)
        return kept, refused

    def uploads(self, kept):
        return [f"clean {name}" for name in kept]

    def release(self, kept):
        self.released += kept


def post_with_files(data: dict, names: list[str]):
    files = [SimpleUploadedFile(name, b"x") for name in names]
    return post({**data, "images": files})


class PhotosForm(forms.Form):
    note = forms.CharField(max_length=10)
    images = forms.FileField(required=False)  # the keeper, not the form, reads the files


def test_form_errors_refused_uploads_and_checks_all_come_back_in_one_answer():
    request = post_with_files({"note": "far too long a note"}, ["bad.jpg", "bad-too.jpg"])
    form = PhotosForm(request.POST, request.FILES)
    seen = []

    def no_mondays(data):
        raise RuleViolation("closed_today", "Not on Mondays.")

    response = submit(request, form, seen.append, next_url="/done/", upload_field="images",
                      keeper=FakeKeeper(), checks=[no_mondays])  # fmt: skip
    assert response.status_code == 400 and seen == []
    assert form.errors["note"] and form.non_field_errors() == ["Not on Mondays."]
    assert form.errors["images"] == ["bad.jpg is not a photo.", "bad-too.jpg is not a photo."]


def test_a_check_that_needs_a_field_which_did_not_validate_waits_and_one_may_find_several_refusals():
    request = post({"note": "far too long a note"})
    form = PhotoNoteForm(request.POST)
    checks = [
        lambda data: data["note"].startswith("x") and None,  # needs the note: skipped
        lambda data: [RuleViolation("a", "First."), RuleViolation("note_rude", "Second.")],
    ]
    submit(request, form, refuse(), next_url="/done/", checks=checks, fields_by_code={"note_rude": "note"})
    assert form.non_field_errors() == ["First."]
    assert "Second." in form.errors["note"]


def test_a_code_naming_a_field_the_form_does_not_have_goes_above_the_form():
    request = post({"note": "hello"})
    form = PhotoNoteForm(request.POST)
    submit(request, form, refuse("invalid_amount"), next_url="/done/", fields_by_code={"invalid_amount": "amount"})
    assert form.non_field_errors() == ["Not now."]


def test_refused_uploads_are_kept_and_come_back_with_the_form_and_its_anchor():
    keeper = FakeKeeper({"earlier.jpg": "earlier.jpg"})
    request = post_with_files({"note": "hello", "kept_images": ["earlier.jpg"]}, ["new.jpg", "bad.jpg"])
    form = PhotosForm(request.POST, request.FILES)
    seen = []
    submit(request, form, seen.append, next_url="/done/", upload_field="images", keeper=keeper,
           anchor="/page/#the-form")  # fmt: skip
    assert seen == [] and form.errors["images"] == ["bad.jpg is not a photo."]
    assert form.kept.uploads == ["earlier.jpg", "new.jpg"] and form.kept.name == "kept_images"
    assert form.anchor == "/page/#the-form" and keeper.released == []


def test_the_service_gets_kept_and_new_uploads_cleaned_and_they_are_released_once_it_acts():
    keeper = FakeKeeper({"earlier.jpg": "earlier.jpg"})
    request = post_with_files({"note": "hello", "kept_images": ["earlier.jpg"]}, ["new.jpg"])
    seen = []
    response = submit(request, PhotosForm(request.POST, request.FILES), seen.append, next_url="/done/",
                      upload_field="images", keeper=keeper)  # fmt: skip
    assert response.status_code == 302
    assert seen[0]["images"] == ["clean earlier.jpg", "clean new.jpg"]
    assert keeper.released == ["earlier.jpg", "new.jpg"]


def test_a_refusal_by_the_service_keeps_the_uploads_for_the_next_try():
    keeper = FakeKeeper()
    request = post_with_files({"note": "hello"}, ["new.jpg"])
    form = PhotosForm(request.POST, request.FILES)
    submit(request, form, refuse(), next_url="/done/", upload_field="images", keeper=keeper)
    assert form.kept.uploads == ["new.jpg"] and keeper.released == []


def test_a_kept_upload_that_is_gone_is_said_and_the_form_does_not_go_out_without_it():
    keeper = FakeKeeper()
    request = post({"note": "hello", "kept_images": ["expired.jpg"]})
    form = PhotosForm(request.POST)
    seen = []
    submit(request, form, seen.append, next_url="/done/", upload_field="images", keeper=keeper)
    assert seen == [] and form.errors["images"] == ["Gone."]


def test_uploads_past_the_limit_are_not_kept():
    keeper = FakeKeeper({"a.jpg": "a.jpg", "b.jpg": "b.jpg"})
    request = post_with_files({"note": "far too long a note", "kept_images": ["a.jpg", "b.jpg"]}, ["c.jpg", "d.jpg"])
    form = PhotosForm(request.POST, request.FILES)
    submit(request, form, refuse(), next_url="/done/", upload_field="images", keeper=keeper)
    assert form.kept.uploads == ["a.jpg", "b.jpg", "c.jpg"]


# --- on the pages: photos kept as pending uploads, only for their owner, for 30 minutes -----------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored(media) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()) if media.exists() else []


@pytest.mark.django_db
def test_a_refused_message_keeps_its_good_photo_and_the_next_try_attaches_it(
    client, world, media, django_capture_on_commit_callbacks
):
    make_order(buyer=world.alice, store=world.carols, number="K-1")
    client.force_login(world.alice)
    photos = [upload(jpeg_bytes(size=(300, 200)), "cracked.jpg"), upload(b"not an image", "notes.txt")]
    refused = client.post("/orders/K-1/messages/", {"body": "see", "images": photos})
    assert refused.status_code == 400 and not Message.objects.exists()
    page = refused.content.decode()
    assert "notes.txt is not a JPEG, PNG, WebP or HEIC photo." in page
    kept = PendingUpload.objects.get()
    assert kept.owner == world.alice and kept.name == "cracked.jpg"
    assert abs(kept.expires_at - kept.created_at - timedelta(minutes=30)) < timedelta(seconds=5)
    assert f'name="kept_images" value="{kept.pk}" checked' in page and 'src="data:image/jpeg;base64,' in page
    # The page comes back at the form: its summary is focused and names the page's anchor.
    assert "autofocus" in page and 'data-url="/orders/K-1/#message-form"' in page

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/orders/K-1/messages/", {"body": "see", "kept_images": [str(kept.pk)]})
    assert sent.status_code == 302
    message = Message.objects.get()
    assert [photo.width for photo in message.photos.all()] == [300]
    assert not PendingUpload.objects.exists()
    assert all(not name.startswith("pending") for name in stored(media))  # its files went with it


@pytest.mark.django_db
def test_only_the_owner_can_attach_a_pending_upload(client, world, media):
    make_order(buyer=world.alice, store=world.carols, number="K-2")
    client.force_login(world.alice)
    client.post("/orders/K-2/messages/", {"body": "x" * 10_001, "images": [upload(jpeg_bytes(), "mine.jpg")]})
    kept = PendingUpload.objects.get(owner=world.alice)
    client.force_login(world.carol)
    refused = client.post("/orders/K-2/messages/", {"body": "taking it", "kept_images": [str(kept.pk)]})
    assert refused.status_code == 400 and not Message.objects.exists()
    assert "no longer kept" in str(refused.context["message_form"].errors["images"])
    assert PendingUpload.objects.filter(pk=kept.pk, owner=world.alice).exists()


@pytest.mark.django_db
def test_pending_uploads_expire_after_30_minutes_with_their_files(
    client, world, media, django_capture_on_commit_callbacks
):
    make_order(buyer=world.alice, store=world.carols, number="K-3")
    client.force_login(world.alice)
    client.post("/orders/K-3/messages/", {"body": "x" * 10_001, "images": [upload(jpeg_bytes(), "late.jpg")]})
    kept = PendingUpload.objects.get()
    assert any(name.startswith("pending") for name in stored(media))
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        late = client.post("/orders/K-3/messages/", {"body": "now", "kept_images": [str(kept.pk)]})
        assert late.status_code == 400 and "no longer kept" in late.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            assert pending_uploads_expire() == 1
    assert not PendingUpload.objects.exists() and stored(media) == []
    assert not default_storage.exists(kept.file.name)


@pytest.mark.django_db
def test_the_dispute_form_shows_every_error_at_once_and_keeps_the_photo(client, world, media):
    make_order(buyer=world.alice, store=world.carols, number="K-4", shipped_at=SHIPPED)
    client.force_login(world.alice)
    body = {"item_received": "yes", "reason": "damaged", "refund_type": "partial", "return_item": "no",
            "why_unresolved": "No answer."}  # fmt: skip
    with time_machine.travel(OPEN_AT, tick=False):
        refused = client.post("/orders/K-4/dispute/new/", {**body, "images": [upload(jpeg_bytes(), "crack.jpg"),
                                                                             upload(b"GIF89a", "x.gif")]})  # fmt: skip
        assert refused.status_code == 400 and not Dispute.objects.exists()
        errors = refused.context["form"].errors
        # The missing description and amount, and the refused photo, in one answer.
        assert {"description", "refund_amount", "images"} <= set(errors)
        kept = refused.context["form"].kept.uploads
        assert [k.name for k in kept] == ["crack.jpg"]
        assert 'data-url="/orders/K-4/dispute/new/#dispute-form"' in refused.content.decode()
        opened = client.post(
            "/orders/K-4/dispute/new/",
            {**body, "refund_amount": "20.00", "description": "Cracked.", "kept_images": [str(kept[0].pk)]},
        )
    assert opened.status_code == 302
    evidence = Dispute.objects.get().evidence.get()
    assert evidence.photos.count() == 1 and not PendingUpload.objects.exists()


@pytest.mark.django_db
def test_refused_evidence_keeps_its_photo_and_a_refused_action_answers_at_the_actions(client, world, media):
    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "awaiting_seller")
        client.force_login(world.alice)
        url = f"/disputes/{dispute.pk}/evidence/"
        refused = client.post(url, {"evidence-note": "x" * 2001, "evidence-images": [upload(jpeg_bytes(), "box.jpg")]})
        assert refused.status_code == 400
        kept = refused.context["evidence_form"].kept
        assert kept.name == "evidence-kept_images" and [k.name for k in kept.uploads] == ["box.jpg"]
        added = client.post(url, {"evidence-note": "the box", "evidence-kept_images": [str(kept.uploads[0].pk)]})
        assert added.status_code == 302
        assert dispute.evidence.get(note="the box").photos.count() == 1

        client.force_login(world.carol)
        acted = client.post(f"/disputes/{dispute.pk}/propose/", {"propose-refund_amount": "500.00"})
    assert acted.status_code == 400
    assert f'data-url="/disputes/{dispute.pk}/#actions"' in acted.content.decode()


@pytest.mark.django_db
def test_each_refused_photo_is_told_once_by_the_photo_pipeline(client, world, media):
    make_order(buyer=world.alice, store=world.carols, number="K-5")
    client.force_login(world.alice)
    photos = [upload(b"", "empty.jpg"), upload(b"GIF89a", "old.gif"), upload(jpeg_bytes(), "fine.jpg")]
    refused = client.post("/orders/K-5/messages/", {"body": "see", "images": photos})
    assert refused.context["message_form"].errors["images"] == [
        "empty.jpg is empty.",
        "old.gif is not a JPEG, PNG, WebP or HEIC photo.",
    ]
    assert [kept.name for kept in refused.context["message_form"].kept.uploads] == ["fine.jpg"]
