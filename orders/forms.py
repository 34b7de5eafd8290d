from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ExtensionRequestForm(forms.Form):
    days = forms.IntegerField(label=_("Extra days"), min_value=1, max_value=settings.EXTENSION_MAX_DAYS, initial=7)
    note = forms.CharField(
        label=_("Why you need more time"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ExtensionGrantForm(forms.Form):
    days = forms.IntegerField(label=_("Days to add"), min_value=1, max_value=settings.EXTENSION_MAX_DAYS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Said when the form is built, so it is in the reader's language.
        self.fields["days"].help_text = gettext(
            "Any number from 1 to %(max)s; it need not be the number the buyer asked for."
        ) % {"max": settings.EXTENSION_MAX_DAYS}


class ExtensionDeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why you decline"),
        max_length=1000,
        help_text=_("The buyer reads this on the order."),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why you decline; the buyer will read it.")},
    )
