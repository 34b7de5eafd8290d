from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReturnReason(models.TextChoices):
    """What a return policy can cover. A dispute's reasons are these, less a change of mind, plus
    "item not received" (disputes.models.Reason): add a reason here, not there."""

    CHANGED_MIND = "changed_mind", _("Changed my mind")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    DAMAGED = "damaged", _("Arrived damaged")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    MISSING_PARTS = "missing_parts", _("Missing parts")
    DEFECTIVE = "defective", _("Defective")
    COUNTERFEIT = "counterfeit", _("Counterfeit")
    OTHER = "other", _("Other")


class Payer(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    SELLER = "seller", _("Seller")


# Who pays return shipping, one field per kind of reason. "Free returns" means the seller pays them all.
PAYER_FIELDS = ("change_of_mind_shipping_payer", "defective_shipping_payer", "wrong_item_shipping_payer")


# The return address's country is an ISO 3166-1 alpha-2 code. No maintained list of the codes is
# installed (no babel or pycountry), so any two letters A-Z pass; what matters is that a country
# name such as "Germany" is refused rather than cut down to "GE" (Georgia) and saved.
COUNTRY_CODE_MESSAGE = _("Use the two-letter country code, e.g. DE for Germany.")
COUNTRY_CODE_HELP = _("The two-letter ISO country code, e.g. DE for Germany, FR for France, GB for the United Kingdom.")


def normalize_country_code(value: str) -> str:
    """A country code as stored: surrounding spaces dropped, upper case ("de" -> "DE")."""
    return (value or "").strip().upper()


def validate_country_code(value: str) -> None:
    """Refuse anything but two letters A-Z (either case); an empty value is left to `required`."""
    code = normalize_country_code(value)
    if code and not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise ValidationError(COUNTRY_CODE_MESSAGE, code="invalid_country")


def policy_contradictions(terms: Mapping) -> dict[str, str]:
    """Terms of a return policy that contradict each other, as {field: what to change}, each on the
    field to correct. Empty when the policy is consistent. The page, the API and the model all ask
    this one function."""
    errors: dict[str, str] = {}
    accepts = bool(terms.get("accepts_returns"))
    if accepts and (terms.get("return_days") or 0) < 1:
        errors["return_days"] = _("A store that accepts returns gives buyers at least 1 day to send an item back.")
    if accepts and not terms.get("covered_reasons"):
        errors["covered_reasons"] = _("Choose at least one reason the policy covers, or stop accepting returns.")
    if terms.get("free_returns"):
        if not accepts:
            errors["free_returns"] = _("Free returns need returns to be accepted: accept returns, or untick this.")
        for name in PAYER_FIELDS:
            if terms.get(name) == Payer.BUYER:
                errors[name] = _(
                    "With free returns the seller pays return shipping for every reason: choose Seller, "
                    "or untick Free returns."
                )
    return errors


class Store(models.Model):
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stores", verbose_name=_("owner")
    )
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2 code"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name


class ReturnPolicy(models.Model):
    """A store's current return policy. Orders keep a snapshot of it (see `snapshot`)."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="return_policy")
    accepts_returns = models.BooleanField(_("accepts returns"), default=True)
    return_days = models.PositiveSmallIntegerField(
        _("days to return after delivery"),
        default=15,
        help_text=_("How long after delivery a buyer may send an item back."),
    )
    covered_reasons = models.JSONField(
        _("reasons covered"),
        default=list,
        blank=True,
        help_text=_("Return reasons this policy accepts."),
    )
    change_of_mind_shipping_payer = models.CharField(
        _("return shipping for a change of mind is paid by"), max_length=6, choices=Payer.choices, default=Payer.BUYER
    )
    defective_shipping_payer = models.CharField(
        _("return shipping for defective or damaged items is paid by"),
        max_length=6,
        choices=Payer.choices,
        default=Payer.SELLER,
    )
    wrong_item_shipping_payer = models.CharField(
        _("return shipping for wrong or not-as-described items is paid by"),
        max_length=6,
        choices=Payer.choices,
        default=Payer.SELLER,
    )
    free_returns = models.BooleanField(_("free returns offered"), default=False)
    refund_without_return = models.BooleanField(
        _("refund without return allowed"),
        default=False,
        help_text=_("The store may refund without asking for the item back."),
    )
    condition_rules = models.TextField(
        _("condition rules"),
        blank=True,
        max_length=2000,
        help_text=_("E.g. unused, in original packaging, tags attached."),
    )
    address_name = models.CharField(_("return address: name"), max_length=120, blank=True)
    address_line1 = models.CharField(_("return address: line 1"), max_length=200, blank=True)
    address_line2 = models.CharField(_("return address: line 2"), max_length=200, blank=True)
    address_city = models.CharField(_("return address: city"), max_length=100, blank=True)
    address_postal_code = models.CharField(_("return address: postal code"), max_length=20, blank=True)
    address_country = models.CharField(_("return address: country"), max_length=2, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("return policy")
        verbose_name_plural = _("return policies")

    def __str__(self) -> str:
        return f"{self.store} return policy"

    def clean(self) -> None:
        errors = policy_contradictions({name: getattr(self, name) for name in self.TERMS})
        if errors:
            raise ValidationError(errors)

    # The policy's terms. Buyers read them, with the address and the notes, and an order freezes
    # all three (see `snapshot`).
    TERMS = (
        "accepts_returns",
        "return_days",
        "covered_reasons",
        "change_of_mind_shipping_payer",
        "defective_shipping_payer",
        "wrong_item_shipping_payer",
        "free_returns",
        "refund_without_return",
        "condition_rules",
    )
    # The return address: field address_<key> here, return_address[key] in a snapshot and the API.
    ADDRESS_KEYS = ("name", "line1", "line2", "city", "postal_code", "country")
    ADDRESS_FIELDS = tuple(f"address_{key}" for key in ADDRESS_KEYS)
    # What the owner edits, in the order the form asks.
    EDITABLE_FIELDS = (*TERMS, *ADDRESS_FIELDS, "notes")

    @property
    def return_address(self) -> dict:
        return {key: getattr(self, f"address_{key}") for key in self.ADDRESS_KEYS}

    def snapshot(self) -> dict:
        """The policy as plain JSON, frozen into an order when it is placed."""
        data = {name: getattr(self, name) for name in (*self.TERMS, "notes")}
        data["covered_reasons"] = list(self.covered_reasons or [])
        data["return_address"] = self.return_address
        data["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return data
