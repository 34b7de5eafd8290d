"""Money in each currency's own minor unit (ISO 4217, from Babel's CLDR data).

An amount is a `Decimal` next to the order's ISO 4217 `currency`. Its unit is the currency's minor
unit: 1 yen (JPY, no decimals), 1 cent (USD, 2), 1 fils (KWD, 3). The API writes it as a decimal
string with exactly that many decimals (`"1234"`, `"12.50"`, `"1.250"`), never a float; pages write it
for the reader's language (`format_money`). Columns hold three decimals, enough for every currency.

Rounding never gives a buyer more than was paid: a buyer's computed share is rounded down
(`floor_minor`) and the remainder stays with the seller.

The lowest layer: the standard library, Django, DRF and Babel only (no app of the project).
"""

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import NoReturn

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.errors import RuleViolation

# The columns: 15 digits, 3 of them decimals (KWD, BHD, OMR... have three), so 12 before the point.
MAX_DIGITS = 15
DECIMAL_PLACES = 3
LIMIT = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)

_CODE = re.compile(r"^[A-Z]{3}$")


@lru_cache(maxsize=1)
def _currencies_in_use() -> frozenset[str]:
    """The ISO 4217 codes legal tender somewhere today (CLDR's territory data, as Babel ships it):
    no withdrawn currency (DEM, VEF) and no code that is not money one pays with (XXX, XTS, XAU)."""
    return frozenset(
        code
        for currencies in get_global("territory_currencies").values()
        for code, _start, end, tender in currencies
        if tender and end is None
    )


def is_currency(code: str) -> bool:
    """Whether `code` is a real ISO 4217 currency in use: three upper-case letters Babel knows
    ("USD", "JPY", "KWD"; not "usd", "XYZ", "DEM" or "XXX")."""
    return isinstance(code, str) and bool(_CODE.match(code)) and code in _currencies_in_use()


@lru_cache(maxsize=512)
def minor_digits(currency: str) -> int:
    """How many decimals the currency's minor unit has: JPY 0, USD 2, KWD 3 (Babel's CLDR data;
    a code Babel does not know gets CLDR's default, 2)."""
    return get_currency_precision(str(currency).upper())


def quantum(currency: str) -> Decimal:
    """The currency's minor unit as a Decimal: 1 (JPY), 0.01 (USD), 0.001 (KWD)."""
    return Decimal(1).scaleb(-minor_digits(currency))


def _decimal(amount) -> Decimal:
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, bool):
        raise TypeError("an amount is not a bool")
    if isinstance(amount, float):
        return Decimal(repr(amount))  # the shortest decimal that reads back as the float: 0.1, not 0.1000...055
    return Decimal(str(amount).strip())


# What a person or a client writes: digits with at most one point; no exponent, "_", "NaN" or "Infinity".
_WRITTEN = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


def to_minor(amount, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """The amount in whole minor units of the currency (half up unless told otherwise)."""
    value = _decimal(amount).quantize(quantum(currency), rounding=rounding)
    return value if value else abs(value)  # never "-0.00"


def floor_minor(amount, currency: str) -> Decimal:
    """A buyer's computed share: rounded down to the minor unit, so what is left of the unit stays
    with the seller and nobody is refunded more than the arithmetic gives."""
    return to_minor(amount, currency, ROUND_DOWN)


def money_str(amount, currency: str) -> str:
    """The API's form: a decimal string with exactly the currency's decimals ("1234", "12.50", "1.250")."""
    return format(to_minor(amount, currency), "f")


def _example(currency: str) -> str:
    """An amount written as the currency writes it: "1234" JPY, "12.50" USD, "1.250" KWD."""
    digits = minor_digits(currency)
    return money_str(Decimal("1234") if digits == 0 else Decimal("1.25") if digits >= 3 else Decimal("12.5"), currency)


def _refuse(detail: str, field: str) -> NoReturn:
    raise RuleViolation("invalid_amount", detail, status=400, fields={field: [detail]})


def parse_amount(value, currency: str, *, field: str = "refund_amount") -> Decimal:
    """An amount a person or the platform sent (a string, a Decimal or an int), in whole minor units of
    the currency, or RuleViolation `invalid_amount` (400, the field named in `fields`).

    Refused: what is not a number, not finite, too large for the columns, or finer than the currency's
    minor unit ("12.505" USD, "12.5" JPY). Zeros after the unit are no finer ("1234.00" JPY is 1234).
    The sign is not judged here: the rule that takes the amount says what it accepts."""
    example = _example(currency)
    try:
        if value is None or isinstance(value, bool) or (isinstance(value, str) and not _WRITTEN.match(value.strip())):
            raise InvalidOperation
        amount = _decimal(value)
        if isinstance(value, Decimal) and amount.is_finite() and amount.as_tuple().exponent > 0:
            raise InvalidOperation  # written with an exponent ("1e3"), as a form or serializer parsed it
    except (InvalidOperation, ValueError, TypeError):
        _refuse(_("Give the amount as a number, such as %(example)s.") % {"example": example}, field)
    if not amount.is_finite():
        _refuse(_("Give the amount as a number, such as %(example)s.") % {"example": example}, field)
    if abs(amount) >= LIMIT:
        _refuse(_("The amount is too large: at most %(max)s.") % {"max": money_str(LIMIT - 1, currency)}, field)
    digits = minor_digits(currency)
    exact = amount.quantize(quantum(currency), rounding=ROUND_DOWN)
    if exact != amount:
        if digits == 0:
            detail = _("%(currency)s has no decimals: give a whole number, such as %(example)s.")
        else:
            detail = ngettext(
                "%(currency)s has %(digits)s decimal: give at most %(digits)s, such as %(example)s.",
                "%(currency)s has %(digits)s decimals: give at most %(digits)s, such as %(example)s.",
                digits,
            )
        _refuse(detail % {"currency": currency, "digits": digits, "example": example}, field)
    return exact if exact else abs(exact)


# --- pages ----------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _babel_locale(name: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(name))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(translation.to_locale(settings.LANGUAGE_CODE))


def _spaced(text: str, symbol: str) -> str:
    """CLDR's currency spacing, which Babel leaves out: a symbol that is a word ("KWD", "JPY") is
    kept apart from the digits by a no-break space ("KWD 1.250", not "KWD1.250"); "$" and "¥" are not."""
    if not symbol:
        return text
    if symbol[-1].isalpha():
        text = re.sub(re.escape(symbol) + r"(?=\d)", symbol + "\u00a0", text)
    if symbol[0].isalpha():
        text = re.sub(r"(?<=\d)" + re.escape(symbol), "\u00a0" + symbol, text)
    return text


def format_money(amount, currency: str, locale=None) -> str:
    """An amount as the reader's language writes it, with the currency's own decimals: "$12.50",
    "¥1,234", "KWD 1.250" in English; "12,50 $US", "1 234 JPY" in French. `locale` (a Babel Locale,
    or a name such as "fr" or "pt-br") defaults to the active Django language."""
    if isinstance(locale, Locale):
        where = locale
    else:
        where = _babel_locale(str(locale or translation.get_language() or settings.LANGUAGE_CODE))
    # Babel's currency_digits are the same CLDR data as minor_digits: 0 for JPY, 3 for KWD.
    text = format_currency(to_minor(amount, currency), currency, locale=where, currency_digits=True)
    return _spaced(text, get_currency_symbol(currency, where))


# --- the API --------------------------------------------------------------------------------------

MONEY_HELP = (
    'A decimal string in the currency\'s own minor unit ("12.50" USD, "1234" JPY, "1.250" KWD), '
    "never a float; the currency is the order's ISO 4217 `currency`."
)


@extend_schema_field({"type": "string", "format": "decimal", "example": "12.50"})
class MoneyField(serializers.Field):
    """A read-only amount written in its currency's minor unit (`money_str`). The currency is read from
    the same object, along `currency_source` (dotted: "order.currency" for a dispute,
    "dispute.order.currency" for a proposal, "currency" for an object with its own)."""

    def __init__(self, *, currency_source: str = "order.currency", **kwargs):
        kwargs["read_only"] = True
        kwargs.setdefault("help_text", MONEY_HELP)
        super().__init__(**kwargs)
        self.currency_source = currency_source

    def get_attribute(self, instance):
        amount = super().get_attribute(instance)
        if amount is None:
            return None
        currency = instance
        for name in self.currency_source.split("."):
            currency = currency[name] if isinstance(currency, dict) else getattr(currency, name)
        return amount, currency

    def to_representation(self, value):
        amount, currency = value
        return money_str(amount, currency)
