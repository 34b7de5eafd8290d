from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from config.errors import RuleViolation
from config.paging import paginate
from orders.models import ExtensionRequest, Order
from sellers.forms import ReturnPolicyForm
from sellers.models import Store
from sellers.services import return_policy_update, store_policy


def _owned_store(request) -> Store:
    """The store this page is about: ?store=slug among the user's stores, else their first."""
    stores = Store.objects.filter(owner=request.user)
    slug = request.GET.get("store") or request.POST.get("store")
    store = get_object_or_404(stores, slug=slug) if slug else stores.first()
    if store is None:
        raise Http404
    return store


@login_required
def store_orders(request):
    """The store's orders, with the buyers' extension requests that wait for an answer on top."""
    store = _owned_store(request)
    page = paginate(request, Order.objects.filter(store=store).select_related("buyer", "carrier", "store"))
    pending = (
        ExtensionRequest.objects.filter(order__store=store, status=ExtensionRequest.Status.PENDING)
        .select_related("order__buyer", "order__carrier")
        .order_by("order__window_closes_at")
    )
    return render(
        request,
        "sellers/store_orders.html",
        {
            "store": store,
            "stores": Store.objects.filter(owner=request.user),
            "orders": page,
            "page": page,
            "pending": pending,
        },
    )


@login_required
def policy_edit(request):
    store = _owned_store(request)
    policy = store_policy(store)
    form = ReturnPolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            return_policy_update(actor=request.user, store=store, **fields)
        except RuleViolation as refusal:
            form.add_error(None, refusal.detail)
        else:
            messages.success(
                request,
                _("Your return policy was saved. Orders already placed keep the policy they were placed under."),
            )
            return redirect(f"{request.path}?store={store.slug}")
    status = 400 if request.method == "POST" else 200
    return render(request, "sellers/policy_form.html", {"store": store, "form": form}, status=status)
