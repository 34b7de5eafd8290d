from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from core.pages import form_submit
from sellers.forms import ReturnPolicyForm
from sellers.models import Store
from sellers.services import return_policy_update, store_policy


def owned_store(request) -> Store:
    """The store a seller's page is about: ?store=slug among the user's stores, else their first."""
    stores = Store.objects.filter(owner=request.user)
    slug = request.GET.get("store") or request.POST.get("store")
    store = get_object_or_404(stores, slug=slug) if slug else stores.first()
    if store is None:
        raise Http404
    return store


@login_required
def policy_edit(request):
    store = owned_store(request)
    form = ReturnPolicyForm(request.POST or None, instance=store_policy(store))

    def policy_page(status: int):
        return render(request, "sellers/policy_form.html", {"store": store, "form": form}, status=status)

    if request.method != "POST":
        return policy_page(200)
    return form_submit(
        request,
        form,
        lambda data: return_policy_update(actor=request.user, store=store, **data),
        success=_("Your return policy was saved. Orders already placed keep the policy they were placed under."),
        next_url=f"{request.path}?store={store.slug}",
        page=lambda: policy_page(400),
        anchor=f"{request.path}?store={store.slug}#policy-form",
    )
