from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from disputes.models import Reason, RefundType, ReturnCondition
from messaging.forms import MultiplePhotoField
from orders.models import Carrier

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class DisputeOpenForm(forms.Form):
    item_received = forms.TypedChoiceField(
        label=_("Did you receive the item?"), choices=YES_NO, coerce=lambda v: v == "yes", widget=forms.RadioSelect
    )
    reason = forms.ChoiceField(label=_("What went wrong?"), choices=Reason.choices)
    refund_type = forms.ChoiceField(
        label=_("What do you ask for?"), choices=RefundType.choices, widget=forms.RadioSelect
    )
    refund_amount = forms.DecimalField(
        label=_("Partial refund amount"), required=False, min_value=Decimal("0.01"), decimal_places=2, max_digits=12
    )
    return_item = forms.TypedChoiceField(
        label=_("Will you send the item back?"),
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        initial="no",
    )
    description = forms.CharField(
        label=_("Describe the problem"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    images = MultiplePhotoField(
        label=_("Photos"),
        required=False,
        help_text=_("Required when the item arrived and its condition is the problem. Up to 6 photos, 10 MB each."),
    )

    def __init__(self, *args, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        if order is not None:
            self.fields["refund_amount"].help_text = _("At most %(total)s %(cur)s, what you paid.") % {
                "total": order.total,
                "cur": order.currency,
            }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("refund_type") == RefundType.PARTIAL and not cleaned.get("refund_amount"):
            self.add_error("refund_amount", _("Give the amount of the partial refund."))
        return cleaned


class ProposalForm(forms.Form):
    refund_amount = forms.DecimalField(
        label=_("Refund amount"), min_value=Decimal("0.01"), decimal_places=2, max_digits=12
    )
    return_item = forms.BooleanField(label=_("The item is sent back first"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    note = forms.CharField(
        label=_("Why you reject the request"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReturnShipmentForm(forms.Form):
    carrier = forms.ModelChoiceField(
        label=_("Carrier"), queryset=Carrier.objects.filter(is_active=True), to_field_name="code"
    )
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)


class ReturnReceivedForm(forms.Form):
    condition = forms.ChoiceField(label=_("Condition of the returned item"), choices=ReturnCondition.choices)


class EvidenceForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    images = MultiplePhotoField(label=_("Photos"), required=False)
