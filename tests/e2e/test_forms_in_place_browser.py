"""Forms answer in place: a refused post comes back at the form, with the error in view and its
summary focused, and the photos chosen for it still attached; with JavaScript and without."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disputes.models import Dispute
from disputes.services import dispute_open
from messaging.models import Message, PendingUpload
from messaging.services import message_post
from tests.factories import make_order
from tests.messaging.images import jpeg_bytes

# Each test here is refused on purpose (its 400 pages are the point): console errors are allowed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.refusals_expected]

WITH_AND_WITHOUT_SCRIPT = pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "cracked.jpg"
    path.write_bytes(jpeg_bytes(size=(640, 480), color="orange"))
    return path


@pytest.fixture
def person(browser, sign_in):
    """A signed-in page in a context of its own, with or without JavaScript, at a desktop or phone size."""
    contexts = []

    def person(username: str, *, script: bool, phone: bool = False):
        size = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 720}
        context = browser.new_context(java_script_enabled=script, locale="en-GB", viewport=size)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, username)
        return page

    yield person
    for context in contexts:
        context.close()


def long_thread(world, number: str):
    """An order (its dispute window open) whose conversation is long enough to put its form far
    below the top of the page."""
    order = make_order(
        buyer=world.alice, store=world.carols, number=number, total=Decimal("80.00"),
        placed_at=timezone.now() - timedelta(days=12), shipped_at=timezone.now() - timedelta(days=10),
    )  # fmt: skip
    for n in range(12):
        author = world.alice if n % 2 == 0 else world.carol
        message_post(author=author, order=order, body=f"Message {n}.\nA second line.\nAnd a third.")
    return order


def lands_at(page, summary_text: str, *, far_down: bool = True) -> None:
    """The page came back at the form: the summary is focused and in view, with the error (and
    the page scrolled, for a form `far_down` the page)."""
    summary = page.locator("[data-error-summary]")
    # Focused, whether or not this page's window has the browser's focus just now.
    assert summary.evaluate("summary => summary === document.activeElement"), "the summary is not focused"
    expect(summary).to_be_in_viewport()
    expect(summary).to_contain_text(summary_text)
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 300 or not far_down, f"the page stayed at the top ({scrolled} px)"


@WITH_AND_WITHOUT_SCRIPT
def test_a_failed_message_post_lands_at_the_form_with_the_error_in_view(
    live_server, person, world, media, tmp_path, script
):
    long_thread(world, "F-1")
    fake = tmp_path / "notes.jpg"
    fake.write_bytes(b"just some text pretending to be a photo\n")
    alice = person("alice", script=script)
    alice.goto(f"{live_server.url}/orders/F-1/")
    alice.get_by_role("textbox", name="Message").fill("Here is the receipt.")
    alice.get_by_label("Photos").set_input_files(str(fake))
    alice.get_by_role("button", name="Send message").click()

    lands_at(alice, "Photos")
    error = alice.locator("#id_images_error")
    expect(error).to_contain_text("notes.jpg is not a JPEG, PNG, WebP or HEIC photo.")
    expect(error).to_be_in_viewport()
    expect(alice.get_by_role("textbox", name="Message")).to_have_value("Here is the receipt.")
    if script:  # the address bar shows the page at its form, not the POST URL
        expect(alice).to_have_url(f"{live_server.url}/orders/F-1/#message-form")
    assert Message.objects.count() == 12


@WITH_AND_WITHOUT_SCRIPT
def test_a_failed_dispute_action_lands_at_the_form_with_the_error_in_view(live_server, person, world, media, script):
    order = long_thread(world, "F-2")
    dispute = dispute_open(
        buyer=world.alice, order=order, reason="not_received", item_received=False, refund_type="full",
        description="It never arrived.",
    )  # fmt: skip
    carol = person("carol", script=script, phone=True)
    carol.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    carol.locator("details[data-action='propose'] > summary").click()
    carol.locator("#id_propose-refund_amount").fill("500.00")
    carol.locator(f"form[action='/disputes/{dispute.pk}/propose/'] button[type=submit]").click()

    lands_at(carol, "Refund amount")
    error = carol.locator("#id_propose-refund_amount_error")
    expect(error).to_contain_text("at most the $80.00 left to refund")
    expect(error).to_be_in_viewport()
    if script:
        expect(carol).to_have_url(f"{live_server.url}/disputes/{dispute.pk}/#actions")
    assert Dispute.objects.get().state == "awaiting_seller"


@WITH_AND_WITHOUT_SCRIPT
def test_photos_kept_after_a_failed_try_at_opening_a_dispute(live_server, person, world, media, photo, script):
    make_order(
        buyer=world.alice, store=world.carols, number="F-3", total=Decimal("80.00"),
        placed_at=timezone.now() - timedelta(days=12), shipped_at=timezone.now() - timedelta(days=10),
    )  # fmt: skip
    alice = person("alice", script=script)
    alice.goto(f"{live_server.url}/orders/F-3/dispute/new/")
    alice.get_by_role("group", name="Did you receive the item?").get_by_label("Yes").check()
    alice.get_by_label("What went wrong?").select_option("damaged")
    alice.get_by_role("group", name="What do you ask for?").get_by_label("Full refund").check()
    alice.get_by_role("group", name="Will you send the item back?").get_by_label("No").check()
    alice.get_by_label("Photos").set_input_files(str(photo))
    alice.get_by_role("button", name="Open the dispute").click()  # no description: refused

    lands_at(alice, "What happened?", far_down=False)  # the form is the page
    kept = alice.get_by_role("checkbox", name="cracked.jpg")
    expect(kept).to_be_checked()
    thumbnail = alice.locator(".kept-list img")
    expect(thumbnail).to_be_visible()
    assert alice.evaluate("img => img.complete && img.naturalWidth > 0", thumbnail.element_handle())
    assert PendingUpload.objects.filter(owner=world.alice).count() == 1

    alice.get_by_label("What happened?").fill("The screen is cracked from corner to corner.")
    alice.get_by_label("Why couldn't you resolve it with the seller?").fill("The seller did not answer.")
    alice.get_by_role("button", name="Open the dispute").click()  # the kept photo goes with it
    expect(alice.get_by_role("status")).to_contain_text("Your dispute is open.")
    evidence = Dispute.objects.get().evidence.get()
    assert [p.width for p in evidence.photos.all()] == [640]
    assert not PendingUpload.objects.exists()


def test_photos_kept_after_a_failed_message_and_one_can_be_left_out(live_server, person, world, media, photo):
    make_order(buyer=world.alice, store=world.carols, number="F-4")
    second = photo.with_name("box.jpg")
    second.write_bytes(jpeg_bytes(size=(200, 100)))
    fake = photo.with_name("notes.png")
    fake.write_bytes(b"just some text pretending to be a photo\n")
    alice = person("alice", script=True)
    alice.goto(f"{live_server.url}/orders/F-4/")
    alice.get_by_role("textbox", name="Message").fill("The screen arrived cracked.")
    alice.get_by_label("Photos").set_input_files([str(photo), str(second), str(fake)])
    alice.get_by_role("button", name="Send message").click()

    lands_at(alice, "Photos")
    expect(alice.locator("#id_images_error")).to_contain_text("notes.png")
    expect(alice.locator(".kept-list input:checked")).to_have_count(2)
    alice.get_by_role("checkbox", name="box.jpg").uncheck()
    alice.get_by_role("button", name="Send message").click()
    expect(alice.get_by_role("status")).to_contain_text("Message sent.")
    message = Message.objects.get()
    assert [p.width for p in message.photos.all()] == [640]
