import re
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from core.money import format_money
from disputes import policy
from disputes.claims import claim_refusal, picks_amount, picks_from
from disputes.models import Reason, RefundType, RequestKind, ReturnCondition
from disputes.payments import refunded_so_far
from disputes.requests import REASONS
from disputes.terms import return_possible
from messaging.forms import MultiplePhotoField
from orders.models import Carrier, Order, OrderItem
from sellers.models import ReturnReason

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


# --- which items a claim covers ------------------------------------------------------------------


class AmountField(forms.DecimalField):
    """An amount typed in digits ("12.50", "1234", "1.250"): up to the columns' three decimals here;
    the service then holds it to the order's currency (core.money.parse_amount). "1e3" is refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", Decimal("0.001"))
        super().__init__(max_digits=15, decimal_places=3, **kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not re.fullmatch(r"\s*\d+([.,]\d+)?\s*", value):
            raise forms.ValidationError(_("Give the amount in digits, such as 12.50."), code="invalid")
        return super().to_python(value.replace(",", ".") if isinstance(value, str) else value)


@dataclass(frozen=True)
class ItemRow:
    """One order item as the item picker shows it: what all of it is worth, and why it cannot be
    claimed now ("" when it can)."""

    item: OrderItem
    amount: Decimal
    why_not: str = ""

    @property
    def free(self) -> bool:
        return not self.why_not


def item_rows(order: Order) -> list[ItemRow]:
    """The order's items for a new request or dispute: each with its worth (disputes.claims) and,
    when another claim holds it or settled it, the sentence that says so."""
    rows = []
    for pick in picks_from(order, None):
        refusal = claim_refusal(order, [pick], code="request_exists")
        rows.append(ItemRow(pick.item, picks_amount(order, [pick]), str(refusal.detail) if refusal else ""))
    return rows


class ItemPicksWidget(forms.Widget):
    """A checkbox per item (its id posted as `<name>`) and how many (`<name>_<id>_quantity`); every
    item that can be claimed is ticked, all of it, until the buyer says otherwise. A hidden
    `<name>_shown` tells a form that showed the picker from a post that never had one (all of the
    order, as before items could be chosen)."""

    template_name = "disputes/request_items.html"
    use_fieldset = True

    def __init__(self, attrs=None, rows=(), currency="USD"):
        super().__init__(attrs)
        self.rows = list(rows)
        self.currency = currency

    def value_from_datadict(self, data, files, name):
        if f"{name}_shown" not in data:
            return None
        picked = data.getlist(name) if hasattr(data, "getlist") else list(data.get(name) or [])
        quantities = {str(row.item.pk): data.get(f"{name}_{row.item.pk}_quantity", "") for row in self.rows}
        return {"picked": [str(value) for value in picked], "quantities": quantities}

    def value_omitted_from_data(self, data, files, name):
        return f"{name}_shown" not in data

    def render(self, name, value, attrs=None, renderer=None):
        from disputes.guide import amount_text

        base = (attrs or {}).get("id") or f"id_{name}"
        shown = []
        for index, row in enumerate(self.rows):
            key = str(row.item.pk)
            if value is None:
                checked, quantity = row.free, row.item.quantity
            else:
                checked = row.free and key in value["picked"]
                quantity = value["quantities"].get(key, "") or row.item.quantity
            shown.append(
                {
                    "id": key,
                    # The first box carries the field's own id: the error summary links to it.
                    "check_id": base if index == 0 else f"{base}_{key}",
                    "quantity_id": f"{base}_{key}_quantity",
                    "quantity_name": f"{name}_{key}_quantity",
                    "title": row.item.title,
                    "ordered": row.item.quantity,
                    "quantity": quantity,
                    "amount": amount_text(row.amount, self.currency),
                    "checked": checked,
                    "why_not": row.why_not,
                }
            )
        return render_to_string(self.template_name, {"name": name, "rows": shown})


class ItemPicksField(forms.Field):
    """The items a request or a dispute covers, as the services take them: `[{"item": id,
    "quantity": n}]`, or None when the post had no picker (all of the order)."""

    widget = ItemPicksWidget

    def __init__(self, *, rows=(), currency="USD", **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.set_rows(rows, currency)

    def set_rows(self, rows, currency: str) -> None:
        self.rows = list(rows)
        self.widget.rows = self.rows
        self.widget.currency = currency

    def to_python(self, value):
        if value is None:
            return None
        picks = []
        for row in self.rows:
            key = str(row.item.pk)
            if not row.free or key not in value["picked"]:
                continue
            raw = str(value["quantities"].get(key, "")).strip()
            try:
                quantity = int(raw)
            except ValueError:
                quantity = 0
            if not 1 <= quantity <= row.item.quantity:
                raise forms.ValidationError(
                    _("For “%(title)s” choose how many, from 1 to %(max)s."),
                    code="quantity",
                    params={"title": row.item.title, "max": row.item.quantity},
                )
            picks.append({"item": row.item.pk, "quantity": quantity})
        if not picks:
            raise forms.ValidationError(_("Tick at least one item."), code="required")
        return picks

    def validate(self, value):
        pass  # to_python said everything


class DisputeOpenForm(forms.Form):
    """The buyer's dispute, asked with what the order already says: a delivered order defaults to
    "received", a never-shipped one to "not received"; a return defaults to what the store's policy
    (as the order froze it) needs; the amount and the return ask only when they apply (the page's
    CSS hides them otherwise, and without it their labels say when they apply). Two questions in the
    buyer's words: what happened, and why it could not be settled with the seller."""

    item_received = forms.TypedChoiceField(
        label=_("Did you receive the item?"), choices=YES_NO, coerce=lambda v: v == "yes", widget=forms.RadioSelect
    )
    reason = forms.ChoiceField(label=_("What went wrong?"), choices=Reason.choices)
    refund_type = forms.ChoiceField(
        label=_("What do you ask for?"), choices=RefundType.choices, widget=forms.RadioSelect, initial=RefundType.FULL
    )
    refund_amount = AmountField(label=_("Amount, for a partial refund only"), required=False)
    return_item = forms.TypedChoiceField(
        label=_("Will you send the item back?"),
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        initial="no",
    )
    description = forms.CharField(
        label=_("What happened?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "What you expected, what arrived (or did not), and when. The seller and the dispute team will read this."
        ),
    )
    why_unresolved = forms.CharField(
        label=_("Why couldn't you resolve it with the seller?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "What you asked the seller and what they answered, or that they did not answer (up to 2,000 "
            "characters). The seller and the dispute team will read this."
        ),
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
        # Which items the dispute is about (all of them until the buyer unticks some): a full
        # refund asks for what the ticked items are worth. An order without items is one thing.
        rows = item_rows(order)
        if rows:
            self.fields["items"] = ItemPicksField(
                label=_("Which items is the dispute about?"),
                rows=rows,
                currency=order.currency,
                help_text=_(
                    "Untick the items that are fine and say how many of each are affected. A full refund is what "
                    "the ticked items are worth, as shown."
                ),
            )
            self.order_fields(["item_received", "reason", "items"])
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

    refund_amount = AmountField(label=_("Refund amount"))
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
    postage = forms.CharField(label=_("Return postage you paid"), max_length=20, required=False)
    images = MultiplePhotoField(label=_("Photo of the postage receipt"), required=False)

    def __init__(self, *args, dispute=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.multipart = True
        if dispute is None or policy.postage_payer(dispute.order, dispute.reason) != policy.SELLER:
            # The buyer pays postage for this reason under the store's policy: nothing to claim.
            del self.fields["postage"], self.fields["images"]
            return
        order = dispute.order
        self.fields["postage"].label = _("Return postage you paid (%(cur)s)") % {"cur": order.currency}
        self.fields["postage"].help_text = _(
            "The store's policy has the seller pay return postage for this reason: it is refunded with the item, "
            "up to %(cap)s. Add a photo of the receipt."
        ) % {"cap": format_money(policy.postage_cap(order), order.currency)}


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


# --- return and exchange requests ----------------------------------------------------------------


class PolicyChoiceField(forms.ChoiceField):
    """A choice among what the order's policy offers (the choices shown). Any value the service
    knows is let through, so that the service refuses it in the policy's own words."""

    def __init__(self, *, known=(), **kwargs):
        self.known = {str(value) for value in known}
        super().__init__(**kwargs)

    def valid_value(self, value):
        return str(value) in self.known or super().valid_value(value)


class RequestOpenForm(forms.Form):
    """The buyer asks the seller for a return, an exchange or (where the policy offers it) a refund
    without return, for one of the reasons the order's policy covers, over the items ticked."""

    kind = PolicyChoiceField(
        label=_("What do you ask for?"),
        known=RequestKind.values,
        widget=forms.RadioSelect,
        initial=RequestKind.RETURN_REFUND,
    )
    reason = PolicyChoiceField(label=_("Why?"), known=REASONS)
    variant = forms.CharField(
        label=_("For an exchange: what you want instead"),
        required=False,
        max_length=200,
        help_text=_("The size, colour or model you want. Leave it empty to get the same item again."),
    )
    note = forms.CharField(
        label=_("Note to the seller (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What is wrong, or anything the seller should know. The seller reads this."),
    )
    images = MultiplePhotoField(
        label=_("Photos (optional)"),
        required=False,
        help_text=_("Photos of the item help the seller decide. Up to 6 photos, 10 MB each."),
    )

    def __init__(self, *args, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        if order is None:
            return
        kinds = [RequestKind.RETURN_REFUND, RequestKind.EXCHANGE]
        if policy.terms(order).get("refund_without_return"):
            kinds.append(RequestKind.REFUND_ONLY)
        self.fields["kind"].choices = [(kind.value, kind.label) for kind in kinds]
        labels = dict(ReturnReason.choices)
        self.fields["reason"].choices = [
            ("", _("Choose a reason")),
            *((reason, labels[reason]) for reason in policy.covered_reasons(order)),
        ]
        self.fields["reason"].help_text = _("The reasons the store's policy covers.")
        rows = item_rows(order)
        if not rows:
            return  # an order without items: the request covers the order
        self.fields["items"] = ItemPicksField(
            label=_("Which items?"),
            rows=rows,
            currency=order.currency,
            help_text=_(
                "Every item you can ask about is ticked: untick what you keep, and say how many of each the "
                "request is about."
            ),
        )
        self.order_fields(["kind", "reason", "items", "variant", "note", "images"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") != RequestKind.EXCHANGE:
            cleaned["variant"] = ""  # only an exchange asks for a variant
        return cleaned


def _money(amount, currency: str) -> str:
    from disputes.guide import amount_text

    return amount_text(amount, currency)


def _seller_reads(field) -> None:
    field.help_text = _("The seller reads this.")


class RequestNoteForm(forms.Form):
    """Approving, cancelling, confirming or turning a request into a dispute: an optional note."""

    note = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, return_request=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if viewer == "buyer":
            _seller_reads(self.fields["note"])
        elif viewer == "seller":
            self.fields["note"].help_text = _("The buyer reads this.")


class RequestDeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why you decline"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The buyer reads this, and can then turn the request into a dispute."),
    )

    def __init__(self, *args, return_request=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)


class RequestReturnShipmentForm(forms.Form):
    """The return's tracking; when the policy has the seller pay postage, what it cost and a photo
    of the receipt (refunded with the item, up to the cap)."""

    carrier = forms.ModelChoiceField(
        label=_("Carrier"), queryset=Carrier.objects.filter(is_active=True), to_field_name="code"
    )
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)
    postage = forms.CharField(label=_("Postage you paid"), required=False, max_length=20)
    images = MultiplePhotoField(label=_("Photo of the postage receipt"), required=False)

    def __init__(self, *args, return_request=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.seller_pays = bool(return_request and return_request.postage_payer == policy.SELLER)
        if return_request is None:
            return
        order = return_request.order
        if not self.seller_pays:
            # The buyer pays the postage: nothing of it is refunded, so nothing is asked.
            del self.fields["postage"]
            del self.fields["images"]
            return
        self.fields["postage"].label = _("Postage you paid (%(currency)s)") % {"currency": order.currency}
        self.fields["postage"].widget.attrs["inputmode"] = "decimal"
        self.fields["postage"].help_text = _(
            "The seller pays the return postage under the store's policy: it is refunded with the item, up to "
            "%(cap)s. Add a photo of the receipt below."
        ) % {"cap": _money(policy.postage_cap(order), order.currency)}
        self.fields["images"].help_text = _(
            "Required when you give the postage: the seller refunds it on this evidence. Up to 6 photos, 10 MB each."
        )


class RequestReturnReceivedForm(forms.Form):
    """How the returned item arrived: nothing chosen until the seller chooses (one answer refunds)."""

    condition = forms.ChoiceField(
        label=_("How did the item arrive?"),
        choices=[("", _("Choose how the item arrived")), *ReturnCondition.choices],
        help_text=_(
            "“Received in the expected condition” refunds the buyer now. Any other answer sends the request to "
            "the dispute team as a dispute."
        ),
    )

    def __init__(self, *args, return_request=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)


class RequestReplacementShipmentForm(forms.Form):
    carrier = forms.ModelChoiceField(
        label=_("Carrier"), queryset=Carrier.objects.filter(is_active=True), to_field_name="code"
    )
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=80)

    def __init__(self, *args, return_request=None, viewer=None, **kwargs):
        super().__init__(*args, **kwargs)


# --- linked cases: the dispute team's forms in admin (disputes/case_pages.py) ----------------------

CASE_OUTCOMES = [
    ("full_refund", _("Full refund")),
    ("partial_refund", _("Partial refund")),
    ("return_and_refund", _("Return and refund")),
    ("no_refund", _("No refund")),
]


class CaseRulingForm(forms.Form):
    """One ruling for every live member of a case. The amounts stay text: disputes/cases.py holds each to its
    dispute's currency and says which one is wrong."""

    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", _("Choose an outcome…")), *CASE_OUTCOMES],
        error_messages={"required": _("Choose an outcome.")},
    )
    percent = forms.DecimalField(
        label=_("Percentage of what each dispute's items are worth"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        max_digits=5,
        decimal_places=2,
        help_text=_("For a partial refund or a return and refund: the same share for every dispute."),
    )
    note = forms.CharField(
        label=_("Note both parties of every dispute see"),
        help_text=_("Every buyer and seller of the case reads it: never name the other disputes or their parties."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, disputes=(), **kwargs):
        super().__init__(*args, **kwargs)
        # One optional amount per live member, instead of the percentage.
        for dispute in disputes:
            self.fields[f"amount_{dispute.pk}"] = forms.CharField(
                label=_("Amount for dispute #%(id)s (%(currency)s)") % {"id": dispute.pk,
                                                                        "currency": dispute.order.currency},
                required=False,
                max_length=20,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 10}),
            )  # fmt: skip
        self.amount_names = [name for name in self.fields if name.startswith("amount_")]

    def main_fields(self):
        return [self[name] for name in self.fields if name not in self.amount_names]

    def amount_fields(self):
        return [self[name] for name in self.amount_names]

    def ruling(self) -> dict:
        """What disputes/cases.case_rule takes: the amounts by dispute id only when any was given."""
        data = self.cleaned_data
        given = {name.removeprefix("amount_"): (data.get(name) or "").strip() for name in self.amount_names}
        return {
            "outcome": data["outcome"],
            "percent": data.get("percent"),
            "amounts": given if any(given.values()) else None,
            "note": data["note"],
        }


class CaseCreateForm(forms.Form):
    """A new case from a dispute's review screen: that dispute and the suggestions the member ticks."""

    others = forms.TypedMultipleChoiceField(label=_("Disputes that share its cause"), coerce=int, required=False,
                                            widget=forms.CheckboxSelectMultiple)  # fmt: skip
    public_reason = forms.CharField(
        label=_("Reason both parties of every dispute read"),
        max_length=300,
        required=False,
        help_text=_("Say the shared cause without naming the other disputes, buyers or stores."),
    )
    note = forms.CharField(label=_("Team note (only the team reads it)"), max_length=4000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args, suggestions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["others"].choices = [(s.dispute.pk, f"#{s.dispute.pk}") for s in suggestions]


class CaseJoinForm(forms.Form):
    """Add the dispute on the review screen to a case that exists."""

    case = forms.IntegerField(label=_("Case number"), min_value=1)


class CaseAddForm(forms.Form):
    """Add a dispute the member found to the case on its page: by its id ("11", "#11") or by its order's
    number ("DD-4103": the order's live dispute, else its latest)."""

    dispute = forms.CharField(
        label=_("Dispute id or order number"), max_length=80, help_text=_("For example 11, #11 or DD-4103.")
    )

    def clean_dispute(self) -> int:
        from disputes.models import Dispute
        from disputes.states import LIVE_STATES

        given = self.cleaned_data["dispute"].strip()
        number = given.lstrip("#")
        if number.isdigit() and len(number) < 19 and Dispute.objects.filter(pk=int(number)).exists():
            return int(number)
        on_order = Dispute.objects.filter(order__number__iexact=given)
        found = on_order.filter(state__in=LIVE_STATES).order_by("-opened_at", "-id").first() or on_order.first()
        if found is None:
            raise forms.ValidationError(_("No dispute has this id, and no order with this number has a dispute."))
        return found.pk
