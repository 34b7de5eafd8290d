"""Money in each currency's own minor unit (docs/rules.md §2 and §6): "1234" JPY, "12.50" USD,
"1.250" KWD in the API, never a float; ISO 4217 codes and their decimals from Babel's data; a
buyer's share rounded down; pages written for the reader's language."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation
from rest_framework import serializers

from core.errors import RuleViolation
from core.money import (
    MoneyField,
    floor_minor,
    format_money,
    is_currency,
    minor_digits,
    money_str,
    parse_amount,
    quantum,
    to_minor,
)
from disputes.models import Dispute, Refund
from notifications import texts
from orders.models import Order
from tests.conftest import api_as
from tests.disputes.helpers import OPEN_AT, SHIPPED
from tests.factories import make_order

NBSP, NNBSP = "\u00a0", "\u202f"


def plain(text: str) -> str:
    """Babel's no-break spaces as plain ones, to compare with what a reader sees."""
    return text.replace(NBSP, " ").replace(NNBSP, " ")


# --- core.money -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["USD", "JPY", "KWD", "EUR", "BHD", "CLP"])
def test_real_iso_4217_codes_are_currencies(code):
    assert is_currency(code)


@pytest.mark.parametrize("code", ["XYZ", "usd", "Usd", "US", "USDD", "", None, 840, "DEM", "XXX", "XTS", " USD"])
def test_what_is_not_a_currency_in_use_is_refused(code):
    assert not is_currency(code)


@pytest.mark.parametrize(("currency", "digits", "unit"), [("JPY", 0, "1"), ("USD", 2, "0.01"), ("KWD", 3, "0.001")])
def test_each_currency_has_its_own_minor_unit(currency, digits, unit):
    assert minor_digits(currency) == digits
    assert quantum(currency) == Decimal(unit)
    assert str(quantum(currency)) == unit


@pytest.mark.parametrize(
    ("amount", "currency", "written"),
    [
        (Decimal("1234"), "JPY", "1234"),
        (Decimal("1234.000"), "JPY", "1234"),  # as a three-decimal column gives it back
        (Decimal("12.5"), "USD", "12.50"),
        (Decimal("12.500"), "USD", "12.50"),
        ("1.25", "KWD", "1.250"),
        (Decimal("12.345"), "KWD", "12.345"),
        (5, "USD", "5.00"),
        (Decimal("0"), "KWD", "0.000"),
        (Decimal("1E+3"), "JPY", "1000"),  # never an exponent
    ],
)
def test_money_str_writes_exactly_the_currencys_decimals(amount, currency, written):
    assert money_str(amount, currency) == written


def test_to_minor_rounds_half_up_unless_told_and_never_gives_minus_zero():
    assert to_minor(Decimal("0.005"), "USD") == Decimal("0.01")
    assert to_minor(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert money_str(Decimal("-0.001"), "USD") == "0.00"


def test_a_buyers_share_is_rounded_down_and_the_remainder_stays_with_the_seller():
    share = floor_minor(Decimal("1000") / 3, "JPY")
    assert share == Decimal("333")
    assert floor_minor(Decimal("10") / 3, "USD") == Decimal("3.33")
    assert floor_minor(Decimal("1") / 3, "KWD") == Decimal("0.333")
    # Three buyers' thirds of 1000 yen never add up to more than the 1000 paid.
    assert 3 * share <= Decimal("1000")
    assert floor_minor(Decimal("1234.999"), "JPY") == Decimal("1234")


@pytest.mark.parametrize(
    ("value", "currency", "amount"),
    [
        ("12.5", "USD", Decimal("12.50")),
        ("12.50", "USD", Decimal("12.50")),
        ("1234", "JPY", Decimal("1234")),
        ("1234.00", "JPY", Decimal("1234")),  # zeros after the unit are no finer than a yen
        ("1.250", "KWD", Decimal("1.250")),
        (" 7 ", "USD", Decimal("7.00")),
        (Decimal("12.345"), "KWD", Decimal("12.345")),
        (1234, "JPY", Decimal("1234")),
        ("0", "USD", Decimal("0.00")),
    ],
)
def test_parse_amount_takes_an_amount_in_the_currencys_unit(value, currency, amount):
    parsed = parse_amount(value, currency)
    assert parsed == amount
    assert parsed.as_tuple().exponent == -minor_digits(currency)


@pytest.mark.parametrize(
    ("value", "currency", "said"),
    [
        ("12.505", "USD", "USD has 2 decimals"),
        ("12.5", "JPY", "JPY has no decimals"),
        ("1234.5", "JPY", "JPY has no decimals"),
        ("1.2345", "KWD", "KWD has 3 decimals"),
        ("abc", "USD", "as a number"),
        ("", "USD", "as a number"),
        ("NaN", "USD", "as a number"),
        ("Infinity", "USD", "as a number"),
        (Decimal("NaN"), "USD", "as a number"),
        (Decimal("-Infinity"), "USD", "as a number"),
        ("1e3", "USD", "as a number"),
        ("1_000", "USD", "as a number"),
        ("12,50", "USD", "as a number"),
        (None, "USD", "as a number"),
        (True, "USD", "as a number"),
        ("1000000000000", "USD", "too large"),
    ],
)
def test_parse_amount_refuses_what_is_not_an_amount_in_the_currency(value, currency, said):
    with pytest.raises(RuleViolation) as refused:
        parse_amount(value, currency, field="total")
    assert refused.value.code == "invalid_amount"
    assert refused.value.status == 400
    assert said in refused.value.detail
    assert refused.value.fields == {"total": [refused.value.detail]}


def test_the_refusal_shows_an_amount_as_the_currency_writes_it():
    with pytest.raises(RuleViolation) as jpy:
        parse_amount("12.5", "JPY")
    with pytest.raises(RuleViolation) as kwd:
        parse_amount("1.2345", "KWD")
    assert "such as 1234." in jpy.value.detail
    assert "such as 1.250." in kwd.value.detail
    assert jpy.value.fields == {"refund_amount": [jpy.value.detail]}  # the default field


def test_format_money_in_english_uses_each_currencys_own_decimals():
    with translation.override("en"):
        assert format_money(Decimal("1234"), "JPY") == "¥1,234"
        assert format_money(Decimal("12.5"), "USD") == "$12.50"
        assert format_money(Decimal("1.25"), "KWD") == f"KWD{NBSP}1.250"  # the code kept apart from the digits
        assert format_money(Decimal("1234.000"), "JPY") == "¥1,234"  # no decimals a yen does not have


def test_format_money_in_french_writes_the_amount_as_a_french_reader_does():
    assert plain(format_money(Decimal("1234"), "JPY", "fr")) == "1 234 JPY"
    assert plain(format_money(Decimal("12.5"), "USD", "fr")) == "12,50 $US"
    assert plain(format_money(Decimal("1.25"), "KWD", "fr")) == "1,250 KWD"
    with translation.override("fr"):  # the active language, when none is named
        assert format_money(Decimal("1234"), "JPY") == format_money(Decimal("1234"), "JPY", "fr")


def test_format_money_takes_a_django_language_code():
    assert plain(format_money(Decimal("12.5"), "USD", "pt-br")) == "US$ 12,50"
    assert format_money(Decimal("12.5"), "USD", "zh-hans") == "US$12.50"


@dataclass
class Priced:
    amount: Decimal | None
    currency: str


@dataclass
class Line:
    price: Decimal
    order: Priced


class PricedSerializer(serializers.Serializer):
    amount = MoneyField(currency_source="currency")


class LineSerializer(serializers.Serializer):
    price = MoneyField()  # the default: the object's order's currency


def test_money_field_writes_an_amount_in_the_currency_it_is_told_where_to_find():
    assert PricedSerializer(Priced(Decimal("1234.000"), "JPY")).data == {"amount": "1234"}
    assert PricedSerializer(Priced(Decimal("12.5"), "USD")).data == {"amount": "12.50"}
    assert PricedSerializer(Priced(None, "USD")).data == {"amount": None}
    assert LineSerializer(Line(Decimal("1.25"), Priced(None, "KWD"))).data == {"price": "1.250"}
    assert PricedSerializer().fields["amount"].read_only


def test_notices_write_amounts_in_the_currencys_unit_however_they_were_stored():
    with translation.override("en"):
        assert texts.money({"amount": "1234.000", "currency": "JPY"}, "amount") == "¥1,234"
        assert texts.money({"amount": "30.00", "currency": "USD"}, "amount") == "$30.00"
        assert texts.money({"amount": "", "currency": "USD"}, "amount") == ""


# --- the platform API -------------------------------------------------------------------------------

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def order_body(**overrides):
    body = {
        "number": "MP-1",
        "buyer": "alice",
        "seller": "carols-gadgets",
        "carrier": "dhl",
        "placed_at": "2026-03-01T10:00:00Z",
        "ship_by": "2026-03-04T10:00:00Z",
        "total": "1234",
        "currency": "JPY",
        "items": [{"title": "Tea bowl", "quantity": 1, "unit_price": "1234"}],
    }
    body.update(overrides)
    return body


@pytest.fixture
def platform(world):
    with time_machine.travel(NOW, tick=False):
        yield api_as(world.platform)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("currency", "amount"),
    [("JPY", "1234"), ("KWD", "12.345"), ("KWD", "1.250"), ("USD", "12.50")],
)
def test_an_order_in_any_currency_reads_back_exactly_as_sent(world, platform, currency, amount):
    body = order_body(
        currency=currency, total=amount, items=[{"title": "Tea bowl", "quantity": 1, "unit_price": amount}]
    )
    created = platform.post("/api/orders/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["total"] == amount and created.json()["currency"] == currency
    assert created.json()["items"][0]["unit_price"] == amount
    shown = api_as(world.alice).get("/api/orders/MP-1/").json()
    assert (shown["total"], shown["items"][0]["unit_price"], shown["currency"]) == (amount, amount, currency)
    listed = api_as(world.alice).get("/api/orders/").json()["results"][0]
    assert listed["total"] == amount
    assert Order.objects.get(number="MP-1").total == Decimal(amount)


@pytest.mark.django_db
def test_a_yen_total_sent_with_zero_decimals_is_the_same_order_when_sent_again(world, platform):
    assert platform.post("/api/orders/", order_body(), format="json").status_code == 201
    again = platform.post("/api/orders/", order_body(total="1234.00"), format="json")
    assert again.status_code == 200 and again.json()["total"] == "1234"
    other = platform.post("/api/orders/", order_body(total="1235"), format="json")
    assert other.status_code == 409 and other.json()["code"] == "order_exists"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "said"),
    [
        ({"total": "1234.5"}, "total", "JPY has no decimals"),
        ({"currency": "USD", "total": "12.505"}, "total", "USD has 2 decimals"),
        ({"currency": "USD", "total": "12.5050"}, "total", "2 for USD"),  # beyond the columns' three
        ({"currency": "KWD", "total": "1.2345"}, "total", "3 for KWD"),
        ({"items": [{"title": "Tea bowl", "quantity": 1, "unit_price": "1234.5"}]}, "items.0.unit_price", "JPY"),
        (
            {"currency": "USD", "total": "12.50", "items": [{"title": "x", "quantity": 1, "unit_price": "12.505"}]},
            "items.0.unit_price",
            "",
        ),
        ({"currency": "XYZ"}, "currency", "ISO 4217"),
        ({"currency": "jpy"}, "currency", "ISO 4217"),
        ({"currency": "DEM"}, "currency", "ISO 4217"),
        ({"total": 1234.5}, "total", ""),  # a JSON number with a fraction of a yen
    ],
)
def test_an_amount_finer_than_its_currency_or_an_unknown_currency_is_400_with_the_field(
    world, platform, overrides, field, said
):
    response = platform.post("/api/orders/", order_body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid" and body["detail"]
    assert field in body["fields"], body
    assert said in " ".join(body["fields"][field])
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_the_service_itself_refuses_a_fraction_of_a_yen(world):
    with pytest.raises(RuleViolation) as refused:
        make_order(buyer=world.alice, store=world.carols, number="S-1", total=Decimal("1234.5"), currency="JPY")
    assert refused.value.code == "invalid_amount" and "total" in refused.value.fields
    with pytest.raises(RuleViolation) as unknown:
        make_order(buyer=world.alice, store=world.carols, number="S-2", total=Decimal("12"), currency="XYZ")
    assert unknown.value.status == 400 and "currency" in unknown.value.fields


# --- a dispute in yen -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_full_refund_in_yen_accepted_by_the_seller_refunds_exactly_what_was_paid(world, client):
    make_order(
        buyer=world.alice, store=world.carols, number="Y-1", shipped_at=SHIPPED, total=Decimal("1234"), currency="JPY"
    )
    body = {"reason": "not_received", "item_received": False, "refund_type": "full", "description": "Never came."}
    with time_machine.travel(OPEN_AT, tick=False):
        opened = api_as(world.alice).post("/api/orders/Y-1/dispute/", body, format="json")
        assert opened.status_code == 201, opened.json()
        dispute = opened.json()
        assert (dispute["refund_amount"], dispute["currency"]) == ("1234", "JPY")
        assert dispute["request"]["refund_amount"] == "1234"
        assert dispute["money"] == {"paid": "1234", "refunded": "0", "left": "1234", "currency": "JPY"}
        accepted = api_as(world.carol).post(f"/api/disputes/{dispute['id']}/accept/", {}, format="json")
    assert accepted.status_code == 200, accepted.json()
    data = accepted.json()
    assert data["state"] == "resolved"
    assert data["resolution"]["refund_amount"] == "1234" and data["resolution"]["refunded"] == "1234"
    assert data["resolution"]["currency"] == "JPY"
    assert data["money"] == {"paid": "1234", "refunded": "1234", "left": "0", "currency": "JPY"}
    assert all(p["refund_amount"] == "1234" for p in data["proposals"])
    for event in data["events"]:
        for key in ("refund_amount", "refunded_now"):
            if key in event["payload"]:
                assert event["payload"][key] == "1234", event
    refund = Refund.objects.get(dispute_id=dispute["id"])
    assert refund.amount == Decimal("1234") and refund.currency == "JPY"
    assert Dispute.objects.get(pk=dispute["id"]).refunded_amount == Decimal("1234")
    listed = api_as(world.alice).get("/api/disputes/").json()["results"][0]
    assert (listed["refund_amount"], listed["currency"]) == ("1234", "JPY")

    # The order page writes it as an English reader does, with no decimals a yen does not have.
    client.force_login(world.alice)
    with translation.override("en"):
        page = client.get("/orders/Y-1/").content.decode()
    assert "¥1,234" in page and "1234.00" not in page and "1,234.00" not in page


@pytest.mark.django_db
def test_writing_amounts_in_their_currency_reads_no_order_again(world):
    """A proposal's and an event's currency come from the dispute they were prefetched with."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from disputes.api import dispute_detail
    from disputes.serializers import DisputeSerializer
    from tests.disputes.helpers import dispute_in

    with time_machine.travel(OPEN_AT, tick=False):
        dispute = dispute_in(world, "escalated")  # a request, an offer, and their events
    loaded = dispute_detail(dispute.pk)
    with CaptureQueriesContext(connection) as queries:
        data = DisputeSerializer(loaded).data
    assert [p["refund_amount"] for p in data["proposals"]] == ["80.00", "30.00"]
    assert not [q["sql"] for q in queries.captured_queries if 'FROM "orders_order"' in q["sql"]]
