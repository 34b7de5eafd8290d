from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sellers.models import (
    COUNTRY_CODE_HELP,
    PAYER_FIELDS,
    ReturnPolicy,
    ReturnReason,
    normalize_country_code,
    validate_country_code,
)


class ReturnPolicyForm(forms.ModelForm):
    covered_reasons = forms.MultipleChoiceField(
        label=_("Reasons this policy covers"),
        choices=ReturnReason.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    # No max_length here: a maxlength of 2 on the input would quietly cut "Germany" to "GE" (Georgia).
    # The whole entry is checked instead, and anything but a two-letter code is refused.
    address_country = forms.CharField(
        label=_("Return address: country code"),
        help_text=COUNTRY_CODE_HELP,
        required=False,
        validators=[validate_country_code],
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 4, "spellcheck": "false"}),
    )

    class Meta:
        model = ReturnPolicy
        fields = ReturnPolicy.EDITABLE_FIELDS
        widgets = {"condition_rules": forms.Textarea(attrs={"rows": 3}), "notes": forms.Textarea(attrs={"rows": 3})}

    # The page asks in this order, a group at a time (every editable field is in one group).
    GROUPS = (
        (
            _("Returns"),
            ("accepts_returns", "return_days", "covered_reasons", "refund_without_return", "condition_rules"),
        ),
        (_("Who pays return shipping"), ("free_returns", *PAYER_FIELDS)),
        (_("Return address"), ReturnPolicy.ADDRESS_FIELDS),
        (_("Notes for buyers"), ("notes",)),
    )

    def groups(self) -> list[tuple[str, list]]:
        return [(legend, [self[name] for name in names]) for legend, names in self.GROUPS]

    def clean_address_country(self):
        return normalize_country_code(self.cleaned_data["address_country"])

    def clean_return_days(self):
        days = self.cleaned_data["return_days"]
        if days > settings.RETURN_DAYS_MAX:
            raise forms.ValidationError(_("At most %(days)s days.") % {"days": settings.RETURN_DAYS_MAX})
        return days

    def clean(self):
        """Each missing part of the return address on its own field. The contradictions between the
        terms (sellers.models.policy_contradictions) are the model's clean, on their fields too."""
        cleaned = super().clean()
        if cleaned.get("accepts_returns"):
            missing = {
                "address_line1": _("A store that accepts returns needs a return address."),
                "address_city": _("Give the city returns are sent to."),
                "address_country": _(
                    "Give the country returns are sent to, as a two-letter code, e.g. DE for Germany."
                ),
            }
            for name, message in missing.items():
                if name in cleaned and not cleaned[name]:
                    self.add_error(name, message)
        return cleaned
