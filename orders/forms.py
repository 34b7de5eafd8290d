from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ExtensionRequestForm(forms.Form):
    days = forms.IntegerField(label=_("Extra days"), min_value=1, max_value=settings.EXTENSION_MAX_DAYS, initial=7)
    note = forms.CharField(
        label=_("Why you need more time"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ExtensionGrantForm(forms.Form):
    days = forms.IntegerField(label=_("Days to add"), min_value=1, max_value=settings.EXTENSION_MAX_DAYS)
