"""The order pages: "My orders" and the order page, with the extension and message forms on it.

They show the buyer–seller conversation (messaging) and the order's dispute, so they are composed
here, in the top app; the order app below knows nothing of either (docs/architecture.md)."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import roles
from core.pages import form_submit
from core.paging import paginate
from core.throttles import page_write_throttle
from disputes import guide, page_cache, policy, request_pages
from disputes.models import ClaimItem, Dispute, RequestKind, RequestState, ReturnRequest
from disputes.services import free_items, open_refusal
from disputes.states import AWAITING, FINAL, LIVE_STATES, State
from messaging.forms import MessageForm
from messaging.models import Message
from messaging.photos import pending_photos
from messaging.selectors import thread_messages, unread_by_order, unread_states
from messaging.services import message_post, team_may_post, thread_mark_read
from orders import services
from orders.forms import ExtensionDeclineForm, ExtensionGrantForm, ExtensionRequestForm
from orders.models import ExtensionRequest, Order
from orders.selectors import order_get_for, order_seen_by, orders_visible_to
from orders.window import WindowState
from sellers.models import Store
from sellers.views import owned_store

# The filters over both order lists (?show=...): what a person looks for first.
LIST_FILTERS = {
    "waiting": gettext_lazy("Waiting for me"),
    "disputes": gettext_lazy("Open disputes"),
    "closed": gettext_lazy("Closed"),
}


def _orders_shown(request, orders: QuerySet[Order], *, side: str) -> tuple[QuerySet[Order], str]:
    """The list narrowed by ?show=: "waiting" (a dispute waits for this side, a message is unread,
    and for the seller an extension request waits), "disputes" (a live dispute), "closed" (nothing
    live, and the window has closed or the dispute was settled). Anything else: every order."""
    show = request.GET.get("show", "")
    if show == "waiting":
        my_turn = [state for state, who in AWAITING.items() if who == side]
        waiting = Q(dispute_state__in=my_turn) | Q(pk__in=unread_states(request.user).values("thread__order"))
        if side == roles.SELLER:
            pending = ExtensionRequest.objects.filter(order=OuterRef("pk"), status=ExtensionRequest.Status.PENDING)
            waiting |= Q(Exists(pending))
        # A return or exchange request whose clock waits for this side.
        waits = [state for state, clock in request_pages.CLOCKS.items() if clock.waits_for == side]
        waiting |= Q(Exists(ReturnRequest.objects.filter(order=OuterRef("pk"), state__in=waits)))
        return orders.filter(waiting), show
    if show == "disputes":
        return orders.filter(dispute_state__in=LIVE_STATES), show
    if show == "closed":
        settled = Q(dispute_state__isnull=True) | Q(dispute_state__in=FINAL)
        ended = Q(window_closes_at__lte=timezone.now()) | Q(dispute_state=State.RESOLVED)
        return orders.filter(settled & ended), show
    return orders, ""


def _list_rows(request, page, *, side: str) -> None:
    """What each row of a list shows besides the order: unread messages, whose turn it is."""
    unread = unread_by_order(request.user)
    ids = [order.live_dispute_id for order in page if getattr(order, "live_dispute_id", None)]
    disputes = Dispute.objects.select_related("order").in_bulk(ids) if ids else {}
    now = timezone.now()
    for order in page:
        order.unread = unread.get(order.number, 0)
        order.dispute_live = order.dispute_state in LIVE_STATES
        order.my_turn = order.dispute_live and AWAITING.get(order.dispute_state) == side
        dispute = disputes.get(getattr(order, "live_dispute_id", None))
        # The same words as the disputes list, in this side's voice ("Waiting for the seller").
        order.dispute_text = guide.short_state(dispute, side, now) if dispute is not None else ""


def _filters(show: str) -> list[dict]:
    return [{"key": "", "label": _("All orders"), "current": not show}] + [
        {"key": key, "label": label, "current": key == show} for key, label in LIST_FILTERS.items()
    ]


@login_required
def order_list(request):
    """My orders: what the buyer bought, newest first, each with its items, amount, window and dispute."""
    orders, show = _orders_shown(request, orders_visible_to(request.user).filter(buyer=request.user), side=roles.BUYER)
    page = paginate(request, orders.prefetch_related("items"))
    _list_rows(request, page, side=roles.BUYER)
    context = {"orders": page, "page": page, "filters": _filters(show), "show": show}
    return render(request, "orders/order_list.html", context)


def seller_waiting_requests(store: Store) -> QuerySet[ReturnRequest]:
    """The store's return and exchange requests that wait for the seller: an answer, an approved
    exchange to ship, a return on its way to confirm; soonest deadline first."""
    waiting = Q(state__in=[RequestState.AWAITING_SELLER, RequestState.RETURN_IN_TRANSIT]) | Q(
        state=RequestState.APPROVED, kind=RequestKind.EXCHANGE
    )
    return (
        ReturnRequest.objects.filter(waiting, order__store=store)
        .select_related("order__buyer", "order__store")
        .prefetch_related(
            Prefetch("claim_items", queryset=ClaimItem.objects.select_related("order_item")),
            "order__items",  # each request's amount is its items' share of the order
        )
        .order_by(F("respond_by").asc(nulls_last=True), "opened_at")
    )


@login_required
def store_orders(request):
    """The store's orders, with what waits for the seller on top: the buyers' extension requests
    (each with the buyer's reason, to grant any number of days or decline with a reason), and the
    return and exchange requests to answer, ship or confirm, each with its clock."""
    store = owned_store(request)
    orders, show = _orders_shown(
        request,
        orders_visible_to(request.user).filter(store=store).select_related("buyer", "carrier", "store"),
        side=roles.SELLER,
    )
    page = paginate(request, orders.prefetch_related("items"))
    _list_rows(request, page, side=roles.SELLER)
    pending = (
        ExtensionRequest.objects.filter(order__store=store, status=ExtensionRequest.Status.PENDING)
        .select_related("order__buyer", "order__carrier")
        .order_by("order__window_closes_at")
    )
    context = {
        "store": store,
        "stores": Store.objects.filter(owner=request.user),
        "orders": page,
        "page": page,
        "pending": pending,
        "waiting_requests": request_pages.seller_rows(seller_waiting_requests(store)),
        "filters": _filters(show),
        "show": show,
        "max_days": settings.EXTENSION_MAX_DAYS,
    }
    return render(request, "sellers/store_orders.html", context)


@dataclass(frozen=True)
class WindowSummary:
    """The order page's one sentence about opening a dispute, and whether the reader may open one."""

    sentence: str
    can_open: bool
    # False once nothing can be opened on the order again (a dispute resolved, the reopen used):
    # the window's dates and extensions no longer change anything, so the page stops offering them.
    window_matters: bool = True
    # A dispute is open: the sentence is about it, not the window's dates.
    dispute_live: bool = False


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "j M Y, H:i T")


def _viewer(*, is_buyer: bool, is_seller: bool, dispute: Dispute | None = None) -> str | None:
    """Whose voice the order page speaks in: "buyer", "seller", or None (the team, neutral). Someone
    who bought from their own store reads as the side the dispute waits for."""
    waits_for = AWAITING.get(dispute.state) if dispute is not None else None
    if (waits_for == roles.SELLER and is_seller) or (waits_for == roles.BUYER and is_buyer):
        return waits_for
    if is_buyer:
        return roles.BUYER
    return roles.SELLER if is_seller else None


def window_summary(order: Order, *, is_buyer: bool, is_seller: bool = False, now=None) -> WindowSummary:
    """One true sentence about the window, with the reason when no dispute can be opened: a
    dispute that is open or was settled comes first (it is why, whatever the dates say), then the
    window's dates, then the reopen limit. Said to the buyer as "you"."""
    now = now or timezone.now()
    window = order.dispute_window(now)
    disputes = sorted(order.disputes.all(), key=lambda d: (d.opened_at, d.pk))
    live = next((d for d in reversed(disputes) if d.is_live), None)
    viewer = _viewer(is_buyer=is_buyer, is_seller=is_seller, dispute=live)
    # Claims are per item: items no request or dispute holds or settled may still be disputed.
    free = free_items(order) if window.state == WindowState.OPEN else []
    if live is not None:
        waits_for = AWAITING.get(live.state)
        if waits_for is not None and waits_for == viewer:
            return WindowSummary(
                _("Dispute #%(id)s on this order is waiting for your answer.") % {"id": live.pk},
                False,
                dispute_live=True,
            )
        if free:
            return WindowSummary(
                _(
                    "Dispute #%(id)s is open on this order (%(state)s). A dispute over the other items can be "
                    "opened until %(date)s."
                )
                % {
                    "id": live.pk,
                    "state": guide.short_state(live, viewer, now).lower(),
                    "date": _when(window.closes_at),
                },
                is_buyer,
                dispute_live=True,
            )
        return WindowSummary(
            _("Dispute #%(id)s is open on this order (%(state)s), so another cannot be opened.")
            % {"id": live.pk, "state": guide.short_state(live, viewer, now).lower()},
            False,
            dispute_live=True,
        )
    resolved = next((d for d in reversed(disputes) if d.state == State.RESOLVED), None)
    if resolved is not None and not free:
        text = _("Dispute #%(id)s on this order was resolved on %(date)s, so no new dispute can be opened.") % {
            "id": resolved.pk,
            "date": _when(resolved.resolved_at or resolved.updated_at),
        }
        until = guide.appeal_open_for(resolved, viewer, now)
        if until is not None:
            text += " " + _("You may appeal the ruling until %(date)s.") % {"date": _when(until)}
        return WindowSummary(text, False, window_matters=False)
    days = settings.DISPUTE_WINDOW_OPENS_AFTER_DAYS
    if window.state == WindowState.NOT_YET_OPEN:
        if order.shipped_at is not None:
            text = _("A dispute can be opened from %(date)s — %(days)s days after the seller shipped the order.")
        else:
            text = _(
                "A dispute can be opened from %(date)s — %(days)s days after the ship-by date, "
                "as the order has not shipped yet."
            )
        return WindowSummary(text % {"date": _when(window.opens_at), "days": days}, False)
    if window.state == WindowState.CLOSED:
        return WindowSummary(
            _("The window to open a dispute closed on %(date)s.") % {"date": _when(window.closes_at)}, False
        )
    refusal = open_refusal(order, now=now, picks=free or None)
    if refusal is not None and refusal.code == "reopen_limit":  # a dispute was cancelled and reopened once already
        return WindowSummary(
            _("A dispute on this order was cancelled and reopened once already, so no new one can be opened."),
            False,
            window_matters=False,
        )
    if refusal is not None:  # every item is held by a return or exchange request, or settled by one
        return WindowSummary(refusal.detail, False)
    until = _when(window.closes_at)
    if any(d.state == State.CANCELLED for d in disputes) and is_buyer:
        return WindowSummary(
            _("You cancelled a dispute on this order; you can open one more, until %(date)s.") % {"date": until},
            True,
        )
    return WindowSummary(_("A dispute can be opened until %(date)s.") % {"date": until}, is_buyer)


def render_order_page(
    request,
    order=None,
    *,
    number=None,
    extension_form=None,
    grant_form=None,
    decline_form=None,
    message_form=None,
    status=200,
):
    """The order page: facts, window, policy snapshot, and the buyer–seller thread. The order (or its
    `number`) is read again with all the page shows, in the query that checks the reader may see it."""
    found = (
        order_seen_by(request.user)
        .prefetch_related(
            "items",
            Prefetch("extension_requests", queryset=ExtensionRequest.objects.order_by("-created_at")),
            Prefetch(
                "disputes",
                queryset=Dispute.objects.order_by("opened_at", "id").prefetch_related(
                    Prefetch("claim_items", queryset=ClaimItem.objects.select_related("order_item"))
                ),
            ),
            Prefetch(
                "return_requests",
                queryset=ReturnRequest.objects.order_by("opened_at", "id").prefetch_related(
                    Prefetch("claim_items", queryset=ClaimItem.objects.select_related("order_item"))
                ),
            ),
        )
        .filter(**({"number": number} if order is None else {"pk": order.pk}))
        .first()
    )
    if found is None:
        raise Http404
    order = found
    # Someone who bought from their own store is its buyer here and may still answer as the store.
    is_buyer, is_seller = roles.is_order_buyer(request.user, order), roles.is_order_seller(request.user, order)
    window = order.dispute_window()
    requests = list(order.extension_requests.all())
    pending = next((r for r in requests if r.status == ExtensionRequest.Status.PENDING), None)
    # The latest answered request, so the buyer reads the seller's answer (and a decline's reason).
    answered = next((r for r in requests if r.status != ExtensionRequest.Status.PENDING), None)
    # The buyer and seller's conversation is theirs and the team's: the platform reads the order only.
    conversation = (
        thread_messages(order)
        if is_buyer or is_seller or roles.is_dispute_team(request.user)
        else Message.objects.none()
    )
    if (is_buyer or is_seller) and request.method == "GET":
        thread_mark_read(user=request.user, order=order)  # they are looking at it now
    disputes = list(order.disputes.all())
    latest = disputes[-1] if disputes else None
    context = {
        "summary": window_summary(order, is_buyer=is_buyer, is_seller=is_seller),
        "latest_dispute": latest,
        # Beside the dispute's button: its state in the reader's words, as the lists say it.
        "latest_dispute_text": guide.short_state(
            latest, _viewer(is_buyer=is_buyer, is_seller=is_seller, dispute=latest)
        )
        if latest
        else "",
        "thread_messages": conversation,
        "message_form": message_form or MessageForm(),
        "can_post": is_buyer or is_seller or (roles.is_dispute_team(request.user) and team_may_post(order)),
        "order": order,
        "window": window,
        "policy": order.return_policy_snapshot,
        "is_buyer": is_buyer,
        "is_seller": is_seller,
        "pending_extension": pending,
        "answered_extension": answered if not pending else None,
        "extension_form": extension_form or ExtensionRequestForm(),
        "grant_form": grant_form or ExtensionGrantForm(initial={"days": pending.days if pending else 7}),
        "decline_form": decline_form or ExtensionDeclineForm(),
        "max_days": settings.EXTENSION_MAX_DAYS,
        "returns": returns_summary(order, is_buyer=is_buyer),
        "claims": order_claims(order, is_buyer=is_buyer, is_seller=is_seller),
    }
    return render(request, "orders/order_detail.html", context, status=status)


@dataclass(frozen=True)
class ReturnsSummary:
    """The order page's sentence about returns and exchanges under the order's policy, and whether
    the reader may ask for one now."""

    sentence: str
    can_ask: bool = False
    note: str = ""


def returns_summary(order: Order, *, is_buyer: bool, now=None) -> ReturnsSummary:
    """What the policy allows now: to the buyer, in the policy's own sentence (policy.allows_now),
    with the button when a request can be made; to the seller and the team, the same in the third
    person."""
    now = now or timezone.now()
    if is_buyer:
        refusal = request_pages.general_refusal(order, now=now)
        # The policy allows it, but every item is already held or settled by another claim: say which.
        note = refusal.detail if refusal is not None and refusal.code in ("request_exists", "reopen_limit") else ""
        return ReturnsSummary(policy.allows_now(order, now=now), can_ask=refusal is None, note=note)
    if not policy.accepts_returns(order):
        return ReturnsSummary(_("The return policy of this order accepts no returns."))
    period = policy.return_period(order)
    if period is None or now < period[0]:
        return ReturnsSummary(_("The buyer can ask for a return or an exchange once the order is delivered."))
    if now > period[1]:
        return ReturnsSummary(_("The time to ask for a return ended on %(date)s.") % {"date": _when(period[1])})
    return ReturnsSummary(
        _("The buyer can ask for a return or an exchange until %(date)s.") % {"date": _when(period[1])}
    )


def _items_text(claim) -> str:
    return ", ".join(
        _("%(title)s × %(n)s") % {"title": item.order_item.title, "n": item.quantity}
        for item in claim.claim_items.all()
    )


def order_claims(order: Order, *, is_buyer: bool, is_seller: bool) -> list[dict]:
    """The order's return and exchange requests and its disputes, oldest first, each with its
    items, its state in the reader's words and its page."""
    viewer = roles.BUYER if is_buyer else roles.SELLER if is_seller else None
    now = timezone.now()
    claims = [
        {
            "key": f"request-{req.pk}",
            "label": request_pages.request_title(req),
            "url": reverse("disputes:request", args=[req.pk]),
            "state": request_pages.state_text(req, viewer),
            "items": _items_text(req),
            "live": req.is_live,
            "at": req.opened_at,
        }
        for req in order.return_requests.all()
    ]
    for dispute in order.disputes.all():
        claims.append(
            {
                "key": f"dispute-{dispute.pk}",
                "label": _("Dispute #%(id)s") % {"id": dispute.pk},
                "url": reverse("disputes:detail", args=[dispute.pk]),
                "state": guide.short_state(
                    dispute, _viewer(is_buyer=is_buyer, is_seller=is_seller, dispute=dispute), now
                ),
                "items": _items_text(dispute),
                "live": dispute.is_live,
                "at": dispute.opened_at,
            }
        )
    return sorted(claims, key=lambda claim: claim["at"])


# The buyer's return/exchange form lives with the request pages; the order pages' URLs mount it.
request_open = request_pages.request_open_view


@login_required
def order_detail(request, number: str):
    def render():
        return render_order_page(request, number=number)

    if "\x00" in number:
        raise Http404  # no order number holds a NUL (PostgreSQL text cannot)
    return page_cache.party_page(request, "order", page_cache.BY_NUMBER, number, render) or render()


def _extension_answer(
    request, number: str, form_class, service, *, role: str, success: str, form_name: str, anchor: str
):
    """The order page's extension forms: post, call the service as this person, come back at the form."""
    order = order_get_for(request.user, number)
    form = form_class(request.POST)
    page_url = reverse("orders:detail", args=[order.number])
    return form_submit(
        request,
        form,
        lambda data: service(order=order, **{role: request.user}, **data),  # buyer= or seller=
        success=success,
        next_url=page_url,
        page=lambda: render_order_page(request, order, **{form_name: form}, status=400),
        anchor=f"{page_url}#{anchor}",
    )


@login_required
@require_POST
@page_write_throttle("extension")
def extension_request_view(request, number: str):
    return _extension_answer(request, number, ExtensionRequestForm, services.extension_request, role="buyer",
                             success=_("Your request was sent to the seller."),
                             form_name="extension_form", anchor="extension-request")  # fmt: skip


@login_required
@require_POST
def extension_grant_view(request, number: str):
    return _extension_answer(request, number, ExtensionGrantForm, services.extension_grant, role="seller",
                             success=_("The buyer's protection was extended."),
                             form_name="grant_form", anchor="grant")  # fmt: skip


@login_required
@require_POST
def extension_decline_view(request, number: str):
    return _extension_answer(request, number, ExtensionDeclineForm, services.extension_decline, role="seller",
                             success=_("You declined the buyer's request. They can read your reason on the order."),
                             form_name="decline_form", anchor="decline")  # fmt: skip


@login_required
@require_POST
@page_write_throttle("messages")
def message_post_view(request, number: str):
    """The thread's form on the order page posts here; errors come back on the order page."""
    order = order_get_for(request.user, number, conversation=True)
    form = MessageForm(request.POST, request.FILES)
    return form_submit(
        request,
        form,
        lambda data: message_post(author=request.user, order=order, body=data["body"], uploads=data["images"]),
        success=_("Message sent."),
        next_url=reverse("orders:detail", args=[order.number]) + "#thread",
        page=lambda: render_order_page(request, order, message_form=form, status=400),
        upload_field="images",
        keeper=pending_photos,  # a refused message keeps its photos for the next try
        anchor=reverse("orders:detail", args=[order.number]) + "#message-form",
    )
