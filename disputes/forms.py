from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from disputes.models import Reason, RefundType, ReturnCondition
from disputes.payments import refunded_so_far
from disputes.terms import return_possible
from messaging.forms import MultiplePhotoField
from orders.models import Carrier

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class DisputeOpenForm(forms.Form):
    """The buyer's dispute, asked with what the order already says: a delivered order defaults to
    "received", a never-shipped one to "not received"; a return defaults to what the store's policy
    (as the order froze it) needs; the amount and the return ask only when they apply (the page's
    CSS hides them otherwise, and without it their labels say when they apply)."""

    item_received = forms.TypedChoiceField(
        label=_("Did you receive the item?"), choices=YES_NO, coerce=lambda v: v == "yes", widget=forms.RadioSelect
    )
    reason = forms.ChoiceField(label=_("What went wrong?"), choices=Reason.choices)
    refund_type = forms.ChoiceField(
        label=_("What do you ask for?"), choices=RefundType.choices, widget=forms.RadioSelect, initial=RefundType.FULL
    )
    refund_amount = forms.DecimalField(
        label=_("Amount, for a partial refund only"),
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        max_digits=12,
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
        reasons = [(value, label) for value, label in Reason.choices if value != Reason.NOT_RECEIVED]
        not_received = (Reason.NOT_RECEIVED.value, Reason.NOT_RECEIVED.label)
        self.fields["reason"].choices = [("", _("Choose a reason")), *reasons, not_received]
        self.fields["return_item"].help_text = _(
            "Not asked when the item never arrived: there is nothing to send back."
        )
        if order is None:
            return
        left = order.total - refunded_so_far(order)
        from disputes.guide import amount_text

        self.fields["refund_amount"].help_text = _("At most %(left)s, what is left to refund.") % {
            "left": amount_text(left, order.currency)
        }
        if order.delivered_at is not None:
            self.fields["item_received"].initial = "yes"
            self.fields["item_received"].help_text = _("The carrier recorded delivery on %(date)s.") % {
                "date": date_format(timezone.localtime(order.delivered_at), "j M Y")
            }
        elif order.shipped_at is None:
            # Never shipped: the item cannot have arrived.
            self.fields["item_received"].initial = "no"
            self.fields["reason"].initial = Reason.NOT_RECEIVED
            self.fields["item_received"].help_text = _("The seller has not recorded a shipment for this order.")
        policy = order.return_policy_snapshot or {}
        if policy and not policy.get("refund_without_return", False):
            self.fields["return_item"].initial = "yes"
            self.fields["return_item"].help_text = _(
                "The return policy of %(store)s refunds only once the item is back. Not asked when the item never "
                "arrived."
            ) % {"store": order.store.name}
        elif policy:
            self.fields["return_item"].help_text = _(
                "The return policy of %(store)s allows a refund without sending the item back. Not asked when "
                "the item never arrived."
            ) % {"store": order.store.name}

    def clean(self):
        cleaned = super().clean()
        reason, received = cleaned.get("reason"), cleaned.get("item_received")
        if cleaned.get("refund_type") == RefundType.PARTIAL and not cleaned.get("refund_amount"):
            self.add_error("refund_amount", _("Give the amount of the partial refund."))
        elif cleaned.get("refund_type") == RefundType.FULL:
            cleaned["refund_amount"] = None  # the amount asks only for a partial refund
        if reason == Reason.NOT_RECEIVED and received:
            self.add_error(
                "reason", _("You said the item arrived: choose another reason, or answer No to the first question.")
            )
        elif reason and received is not None and not return_possible(reason=reason, item_received=received):
            cleaned["return_item"] = False  # the question did not apply: an item never received stays where it is
        return cleaned


class ProposalForm(forms.Form):
    """A counter-offer (the seller) or a changed request (the buyer): the amount says its currency and
    how much is left to refund on the order."""

    refund_amount = forms.DecimalField(
        label=_("Refund amount"), min_value=Decimal("0.01"), decimal_places=2, max_digits=12
    )
    return_item = forms.BooleanField(label=_("The buyer sends the item back first"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, dispute=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        _who_reads(self.fields["note"], viewer)
        if dispute is None:
            return
        from disputes.guide import amount_text

        order = dispute.order
        self.fields["refund_amount"].label = _("Refund amount (%(cur)s)") % {"cur": order.currency}
        self.fields["refund_amount"].help_text = _("At most %(left)s, what is left to refund on this order.") % {
            "left": amount_text(order.total - refunded_so_far(order), order.currency)
        }


def _who_reads(field, viewer) -> None:
    """Say under a note who will read it: the other side and the dispute team."""
    if viewer == "buyer":
        field.help_text = _("The seller and the dispute team will read this.")
    elif viewer == "seller":
        field.help_text = _("The buyer and the dispute team will read this.")


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, dispute=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        _who_reads(self.fields["note"], viewer)


class RejectForm(forms.Form):
    note = forms.CharField(
        label=_("Why you reject the request"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, dispute=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        _who_reads(self.fields["note"], viewer)


class ReturnShipmentForm(forms.Form):
    carrier = forms.ModelChoiceField(
        label=_("Carrier"), queryset=Carrier.objects.filter(is_active=True), to_field_name="code"
    )
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)

    def __init__(self, *args, dispute=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)


class ReturnReceivedForm(forms.Form):
    """How the returned item arrived: nothing chosen until the seller chooses (one answer refunds)."""

    condition = forms.ChoiceField(
        label=_("Condition of the returned item"),
        choices=[("", _("Choose how the item arrived")), *ReturnCondition.choices],
        required=True,
    )

    def __init__(self, *args, dispute=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)


class EvidenceForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    images = MultiplePhotoField(label=_("Photos"), required=False)
