from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from sellers.models import ReturnPolicy, ReturnReason


class ReturnPolicyForm(forms.ModelForm):
    covered_reasons = forms.MultipleChoiceField(
        label=_("Reasons this policy covers"),
        choices=ReturnReason.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    address_country = forms.RegexField(
        label=_("Return address: country"),
        regex=r"^[A-Za-z]{2}$",
        required=False,
        max_length=2,
        error_messages={"invalid": _("Use a two-letter country code, such as DE.")},
    )

    class Meta:
        model = ReturnPolicy
        fields = ReturnPolicy.EDITABLE_FIELDS
        widgets = {"condition_rules": forms.Textarea(attrs={"rows": 3}), "notes": forms.Textarea(attrs={"rows": 3})}

    def clean_address_country(self):
        return self.cleaned_data["address_country"].upper()

    def clean_return_days(self):
        days = self.cleaned_data["return_days"]
        if days > settings.RETURN_DAYS_MAX:
            raise forms.ValidationError(_("At most %(days)s days.") % {"days": settings.RETURN_DAYS_MAX})
        return days

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("accepts_returns") and not (cleaned.get("address_line1") and cleaned.get("address_city")):
            self.add_error("address_line1", _("A store that accepts returns needs a return address."))
        return cleaned
