"""Long lists on pages come a page at a time, never cut off silently."""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

PER_PAGE = 50


def paginate(request, items: QuerySet, *, per_page: int | None = None) -> Page:
    """The page `?page=` asks for. A number that is not one gives the first page, one past the end
    the last, so a stale or hand-edited link still shows a list instead of an error.

    Counting and skipping run on the ids alone, in the list's order; only the page's own rows are
    then loaded with their joins and annotations. (Skipping to a deep page would otherwise build
    every skipped row in full.)"""
    page = Paginator(items.values_list("pk", flat=True), per_page or PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = rows_in_order(items, list(page.object_list))
    return page


def rows_in_order(items: QuerySet, ids: list) -> list:
    """The rows of `items` with these ids, with its joins and annotations, in the ids' order (one
    deleted in between is left out)."""
    rows = items.in_bulk(ids)
    return [rows[pk] for pk in ids if pk in rows]
