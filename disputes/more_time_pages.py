"""The dispute page's part for more time: a party asks the other side for more days on the current
deadline, and the other side accepts or declines (disputes/pauses.py). Plain form posts."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.pages import form_submit
from disputes.models import Dispute, MoreTime, Party
from disputes.pauses import PARTY_CLOCK_STATES, more_time_answer, more_time_ask
from disputes.selectors import dispute_get_for


class MoreTimeForm(forms.Form):
    days = forms.IntegerField(label=gettext_lazy("How many more days"), min_value=1)
    note = forms.CharField(
        label=gettext_lazy("Why (the other side reads this)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The most days is a setting: read when the form is made, not when the module is imported.
        self.fields["days"] = forms.IntegerField(
            label=self.fields["days"].label, min_value=1, max_value=settings.MORE_TIME_MAX_DAYS
        )


class MoreTimeAnswerForm(forms.Form):
    accept = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")], coerce=lambda v: v == "1")


def more_time_context(dispute: Dispute, party: str) -> dict:
    """What the page shows of more time for this reader: every request, the one waiting for them to
    answer, and whether they may still ask (once per side, while a party's deadline runs)."""
    asked = list(dispute.more_time.all())
    pending = next((m for m in asked if m.status == MoreTime.Status.PENDING), None)
    may_ask = (
        party in (Party.BUYER, Party.SELLER)
        and dispute.state in PARTY_CLOCK_STATES
        and pending is None
        and not any(m.party == party for m in asked)
    )
    return {
        "more_time_asked": asked,
        "more_time_to_answer": pending if pending is not None and pending.party != party else None,
        "more_time_form": MoreTimeForm(prefix="more") if may_ask else None,
        "more_time_max": settings.MORE_TIME_MAX_DAYS,
    }


def _page_again(request, dispute, form):
    from disputes.views import _page

    return _page(request, dispute, forms_with_errors={"more_time": form}, status=400)


@login_required
@require_POST
def more_time_view(request, pk: int):
    dispute = dispute_get_for(request.user, pk)
    form = MoreTimeForm(request.POST, prefix="more")
    return form_submit(
        request,
        form,
        lambda data: more_time_ask(user=request.user, dispute=dispute, days=data["days"], note=data["note"]),
        success=_("Asked. The other side has been told and can accept or decline."),
        next_url=reverse("disputes:detail", args=[dispute.pk]),
        page=lambda: _page_again(request, dispute, form),
        fields_by_code={"invalid": "days"},
        anchor=reverse("disputes:detail", args=[dispute.pk]) + "#more-time",
    )


@login_required
@require_POST
def more_time_answer_view(request, pk: int):
    dispute = dispute_get_for(request.user, pk)
    form = MoreTimeAnswerForm(request.POST)
    return form_submit(
        request,
        form,
        lambda data: more_time_answer(user=request.user, dispute=dispute, accept=data["accept"]),
        success=_("Done. The other side has been told."),
        next_url=reverse("disputes:detail", args=[dispute.pk]),
        page=lambda: _page_again(request, dispute, form),
        anchor=reverse("disputes:detail", args=[dispute.pk]) + "#more-time",
    )
