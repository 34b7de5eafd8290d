"""The order page and the dispute page, kept for the buyer and the seller who read them again
(core/read_cache.py: never stale).

A page is kept per person and session (its forms carry the session's CSRF token) under the version of
everything about its order that either page shows: the order, its items, store, policy and extension
requests; its disputes with their proposals, evidence, photos, events, refunds, evidence requests,
requests for more time and claims; its return requests with theirs; the conversation with its photos; the
people all of these name; and what the navigation tells the reader (their unread messages elsewhere and
unread notifications). It is read in the same query that checks the reader is a party to the order.

Not kept: a page with a message to show once (after a form was posted), a first visit without a CSRF
cookie, and the team's pages (the team's view shows the review's own state and is read less often).
Reading the page still reads the conversation (`thread_mark_read`), cached or not. With Redis down the page
is built every time (core/cache.py fails open).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse

from core import read_cache
from messaging.services import thread_mark_read
from orders.models import Order
from orders.selectors import ORDER_BASE_PARTS

_DISPUTES = "dispute_id IN (SELECT id FROM disputes_dispute WHERE order_id = o.id)"
_REQUESTS = "request_id IN (SELECT id FROM disputes_returnrequest WHERE order_id = o.id)"
_THREAD = "thread_id IN (SELECT id FROM messaging_thread WHERE order_id = o.id)"
_EVIDENCE = (
    "evidence_id IN (SELECT id FROM disputes_evidence WHERE dispute_id IN"
    " (SELECT id FROM disputes_dispute WHERE order_id = o.id)"
    " OR request_id IN (SELECT id FROM disputes_returnrequest WHERE order_id = o.id))"
)
_MESSAGES = (
    "message_id IN (SELECT id FROM messaging_message WHERE thread_id IN"
    " (SELECT id FROM messaging_thread WHERE order_id = o.id))"
)
_PEOPLE = (
    "id IN (SELECT o.buyer_id UNION SELECT s.owner_id"
    " UNION SELECT author_id FROM messaging_message WHERE thread_id IN"
    " (SELECT id FROM messaging_thread WHERE order_id = o.id)"
    " UNION SELECT actor_id FROM disputes_disputeevent WHERE dispute_id IN"
    " (SELECT id FROM disputes_dispute WHERE order_id = o.id)"
    " UNION SELECT author_id FROM disputes_proposal WHERE dispute_id IN"
    " (SELECT id FROM disputes_dispute WHERE order_id = o.id)"
    " UNION SELECT assignee_id FROM disputes_dispute WHERE order_id = o.id)"
)
_CARRIERS = (
    "id IN (SELECT return_carrier_id FROM disputes_dispute WHERE order_id = o.id"
    " UNION SELECT return_carrier_id FROM disputes_returnrequest WHERE order_id = o.id"
    " UNION SELECT replacement_carrier_id FROM disputes_returnrequest WHERE order_id = o.id)"
)
ORDER_PAGE_PARTS = (
    *ORDER_BASE_PARTS,
    read_cache.rows_version("sellers_returnpolicy", "store_id = s.id"),
    read_cache.rows_version("disputes_dispute", "order_id = o.id"),
    read_cache.rows_version("disputes_returnrequest", "order_id = o.id"),
    read_cache.rows_version(
        "disputes_claimitem", "order_item_id IN (SELECT id FROM orders_orderitem WHERE order_id = o.id)"
    ),
    read_cache.rows_version("disputes_refund", "order_id = o.id"),
    read_cache.rows_version("disputes_proposal", _DISPUTES),
    read_cache.rows_version("disputes_disputeevent", _DISPUTES),
    read_cache.rows_version("disputes_evidencerequest", _DISPUTES),
    read_cache.rows_version("disputes_pendingruling", _DISPUTES),
    read_cache.rows_version("disputes_moretime", _DISPUTES),
    read_cache.rows_version("disputes_evidence", f"{_DISPUTES} OR {_REQUESTS}"),
    read_cache.rows_version("disputes_requestevent", _REQUESTS),
    read_cache.rows_version("messaging_thread", "order_id = o.id"),
    read_cache.rows_version("messaging_message", _THREAD),
    read_cache.rows_version("messaging_photo", f"{_EVIDENCE} OR {_MESSAGES}"),
    read_cache.rows_version("accounts_user", _PEOPLE),
    read_cache.rows_version("orders_carrier", f"{_CARRIERS} OR is_active"),  # the shipment forms list them
)
# What the navigation tells the reader (%s: the reader's id, each time): their own row and groups (the
# team's menu), whether they keep a store and whether they bought anything (a seller's "My orders"), their
# unread messages (this order's are read by the page) and unread notifications.
VIEWER_PARTS = (
    "(SELECT xmin::text FROM accounts_user WHERE id = %s)",
    read_cache.rows_version("accounts_user_groups", "user_id = %s"),
    read_cache.rows_version("sellers_store", "owner_id = %s"),
    "(SELECT EXISTS (SELECT 1 FROM orders_order WHERE buyer_id = %s))::text",
    "(SELECT coalesce(sum(ts.unread), 0)::text FROM messaging_threadstate ts JOIN messaging_thread t"
    " ON t.id = ts.thread_id JOIN orders_order vo ON vo.id = t.order_id JOIN sellers_store vs ON vs.id = vo.store_id"
    " WHERE ts.user_id = %s AND t.order_id <> o.id AND (vo.buyer_id = ts.user_id OR vs.owner_id = ts.user_id))",
    "(SELECT count(*)::text FROM messaging_notification WHERE recipient_id = %s AND read_at IS NULL)",
)
PAGE_SQL = (
    "SELECT o.id, o.buyer_id, s.owner_id,"  # noqa: S608 - our own SQL, values as parameters
    " (SELECT coalesce(sum(ts.unread), 0) FROM messaging_threadstate ts JOIN messaging_thread t"
    " ON t.id = ts.thread_id WHERE ts.user_id = %s AND t.order_id = o.id),"
    " CASE WHEN %s IN (o.buyer_id, s.owner_id) THEN concat_ws(',', "
    + ", ".join([*ORDER_PAGE_PARTS, *VIEWER_PARTS])
    + ") END FROM orders_order o JOIN sellers_store s ON s.id = o.store_id WHERE {where}"
)
BY_NUMBER = "o.number = %s"
BY_DISPUTE = "o.id = (SELECT order_id FROM disputes_dispute WHERE id = %s)"


def party_page(request, kind: str, where: str, value, render: Callable[[], HttpResponse]) -> HttpResponse | None:
    """The page `render()` makes, kept for the order's buyer or seller; None for anyone else, and when there is
    no such order (the caller renders it as before, with its own access check). `where` picks the order
    (BY_NUMBER, BY_DISPUTE) by `value`."""
    if not read_cache.enabled() or request.method != "GET":
        return None
    uid = request.user.pk
    if where not in (BY_NUMBER, BY_DISPUTE):
        raise ValueError(where)
    found = read_cache.fetch(PAGE_SQL.format(where=where), [uid] * 8 + [value])
    if found is None or uid not in found[1:3]:
        return None  # the caller's own access check says 404 (alike for missing and forbidden) or lets the team in
    order_id, _buyer_id, _owner_id, unread_here, version = found
    if unread_here:
        thread_mark_read(user=request.user, order=Order(pk=order_id))  # they are looking at it now
    secret = request.META.get("CSRF_COOKIE")
    if not secret or len(get_messages(request)):
        return render()
    if connection.in_atomic_block:
        return render()  # inside a transaction that may have written rows twice (same xmin): never kept
    name = read_cache.key(f"page:{kind}", [value, uid, secret, request.get_full_path()], version, request)
    html = cache.get(name)
    if html is not None:
        return HttpResponse(html)
    response = render()
    if response.status_code == 200 and not response.cookies:
        cache.set(name, response.content, read_cache.SECONDS)
    return response
