"""Languages in a real browser: a Chinese-speaking seller and a Spanish-speaking buyer go through a dispute,
each reading their own language on every page (the order page, the open-dispute form, the dispute page, the
seller's answer, the notifications, a message's translation).

Carol chooses Chinese on her settings page; Alice never chooses: her browser asks for Spanish
(Accept-Language), and what it asked for when she signed in is what she reads. The words checked are the
catalogs' own translations of the navigation and of each page's headings and buttons, looked up in the
compiled catalogs, so a string still waiting for its translation is not asserted on until it has one."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from accounts.models import User
from disputes.models import Dispute
from messaging.services import message_post
from tests.accounts.test_language import compile_catalogs
from tests.factories import make_order

pytestmark = pytest.mark.django_db(transaction=True)

# What the navigation says, by role: none of it may be left in English.
BUYER_NAVIGATION = ["My orders", "Disputes", "Unread messages", "Notifications", "Settings", "Sign out", "Menu"]
SELLER_NAVIGATION = ["Store orders", "Inbox", "Disputes", "Return policy", "Notifications", "Settings", "Sign out"]


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    compile_catalogs()


@pytest.fixture(autouse=True)
def _english_after():
    yield
    translation.activate("en")


@pytest.fixture
def order(world):
    shipped = timezone.now() - timedelta(days=10)
    return make_order(buyer=world.alice, store=world.carols, number="X-1", shipped_at=shipped, total=Decimal("80.00"))


def in_language(language: str, english: str) -> str:
    with translation.override(language):
        return translation.gettext(english)


def translated(language: str, strings: list[str]) -> list[tuple[str, str]]:
    """(English, translation) for the strings the catalog translates today."""
    pairs = [(text, in_language(language, text)) for text in strings]
    return [(text, words) for text, words in pairs if words != text]


def assert_speaks(page, language: str, navigation: list[str], *page_words: str) -> None:
    """The page is in `language`: its lang attribute, its navigation and `page_words` in that language's
    words, and not one English navigation string left (that the catalog translates)."""
    expect(page.locator("html")).to_have_attribute("lang", language)
    header = page.locator("header.site-header")
    header_text = header.inner_text() + " " + page.locator("nav details").evaluate("d => d.textContent")
    nav = translated(language, navigation)
    assert len(nav) >= 4, f"too few navigation strings are translated into {language} to tell: {nav}"
    for english, words in nav:
        assert words in header_text, f"{language}: {words!r} (for {english!r}) not in the navigation"
        assert english not in header_text, f"{language}: {english!r} left in English in the navigation"
    body = page.locator("main").inner_text()
    for english, words in translated(language, list(page_words)):
        assert words in body, f"{language}: {words!r} (for {english!r}) not on {page.url}"


def sign_in(page, live_server, username: str) -> None:
    """The sign-in page in whatever language the browser asks for: by the fields' names, not their labels."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill("demo")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state("domcontentloaded")


def test_a_chinese_seller_and_a_spanish_buyer_each_read_their_own_language_through_a_dispute(
    browser, live_server, world, order
):
    # Carol signs in from an English browser and chooses Chinese.
    carol = browser.new_context(locale="en-GB").new_page()
    sign_in(carol, live_server, "carol")
    carol.goto(f"{live_server.url}/accounts/settings/")
    carol.locator("#id_language").select_option("zh-hans")
    carol.locator("#preferences-form button[type=submit]").click()
    assert_speaks(carol, "zh-hans", SELLER_NAVIGATION, "Time zone")
    assert User.objects.get(username="carol").language == "zh-hans"

    # Alice's browser asks for Spanish; she never chooses.
    alice = browser.new_context(locale="es-ES").new_page()
    sign_in(alice, live_server, "alice")
    assert User.objects.get(username="alice").signin_language == "es"

    # The order page, and the form that opens a dispute.
    alice.goto(f"{live_server.url}/orders/X-1/")
    assert_speaks(alice, "es", BUYER_NAVIGATION, "Open a dispute", "Messages")
    alice.locator(f"a[href='/orders/{order.number}/dispute/new/']").first.click()
    assert_speaks(alice, "es", BUYER_NAVIGATION, "What happened?", "Open the dispute")
    alice.locator("input[name=item_received][value=no]").check()
    alice.locator("select[name=reason]").select_option("not_received")
    alice.locator("textarea[name=description]").fill("El paquete nunca llegó.")
    alice.locator("textarea[name=why_unresolved]").fill("La tienda no contesta.")
    alice.locator("#dispute-form button[type=submit]").click()
    expect(alice.locator("ul.flash")).to_be_visible()
    dispute = Dispute.objects.get()
    assert alice.url.endswith(f"/disputes/{dispute.pk}/")
    assert_speaks(alice, "es", BUYER_NAVIGATION, "Waiting for the seller", "Messages")

    # Carol hears of it in Chinese, reads the dispute page in Chinese and answers with an offer.
    carol.goto(f"{live_server.url}/notifications/")
    assert_speaks(carol, "zh-hans", SELLER_NAVIGATION, "Notifications")
    expect(carol.locator("main")).to_contain_text("订单 X-1：买家已发起纠纷")
    carol.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    assert_speaks(carol, "zh-hans", SELLER_NAVIGATION, "It is your turn.", "Messages")
    offer = carol.locator("details[data-action=propose]")
    offer.locator("summary").click()
    offer.locator("input[name=propose-refund_amount]").fill("30.00")
    offer.locator("button[type=submit]").click()
    expect(carol.locator("ul.flash")).to_be_visible()
    assert_speaks(carol, "zh-hans", SELLER_NAVIGATION, "Waiting for the buyer")
    # ... and writes to Alice, in Chinese.
    carol.goto(f"{live_server.url}/orders/X-1/")
    carol.locator("#message-form textarea[name=body]").fill("我们可以退款三十美元。")
    carol.locator("#message-form button[type=submit]").click()
    expect(carol.locator("ul.flash")).to_be_visible()
    assert_speaks(carol, "zh-hans", SELLER_NAVIGATION, "Messages")

    # Alice hears of the offer in Spanish, with the amount as Spanish writes it.
    alice.goto(f"{live_server.url}/notifications/")
    assert_speaks(alice, "es", BUYER_NAVIGATION, "Notifications")
    expect(alice.locator("main")).to_contain_text("Pedido X-1: el vendedor ofrece 30,00\xa0US$")
    alice.goto(f"{live_server.url}/disputes/{dispute.pk}/")
    assert_speaks(alice, "es", BUYER_NAVIGATION, "It is your turn.", "Accept this offer")

    # Carol's message, in Chinese, comes with a link to its translation (none configured: unavailable).
    message = dispute.order.thread.messages.get()
    expect(alice.locator(f"#message-{message.pk}")).to_contain_text("我们可以退款三十美元。")
    alice.locator(f"a[href='/orders/X-1/messages/{message.pk}/translation/']").click()
    assert_speaks(alice, "es", BUYER_NAVIGATION, "Translation unavailable. The original is above.")
    expect(alice.locator("main")).to_contain_text("我们可以退款三十美元。")
    # Carol wrote it: she is offered no translation of her own words.
    carol.goto(f"{live_server.url}/orders/X-1/")
    assert carol.locator(f"a[href='/orders/X-1/messages/{message.pk}/translation/']").count() == 0


PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("language", ["ru", "fr", "pt-br", "zh-hans"])
def test_the_settings_page_and_a_translation_fit_a_phone_in_each_language(browser, live_server, world, language):
    """Russian and French run longest: the settings page (a long list of zones), the order page with its
    Translate link and the translation page fit 390 px, and the form's fields are labelled."""
    User.objects.filter(username="alice").update(language=language)
    order = make_order(buyer=world.alice, store=world.carols, number="P-1")
    message = message_post(author=world.carol, order=order, body="Shipped yesterday.")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    page = context.new_page()
    sign_in(page, live_server, "alice")
    for path in ("/accounts/settings/", "/orders/P-1/", f"/orders/P-1/messages/{message.pk}/translation/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("html")).to_have_attribute("lang", language)
        width = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert width <= 0, f"{language} {path}: {width} px sideways"
    page.goto(f"{live_server.url}/accounts/settings/")
    expect(page.get_by_label(in_language(language, "Language"), exact=True)).to_have_value(language)
    expect(page.get_by_label(in_language(language, "Time zone"), exact=True)).to_have_value("America/Los_Angeles")
