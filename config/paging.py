"""Long lists on pages come a page at a time, never cut off silently."""

from django.core.paginator import Page, Paginator

PER_PAGE = 50


def paginate(request, items, *, per_page: int | None = None) -> Page:
    """The page `?page=` asks for. A number that is not one gives the first page, one past the end
    the last, so a stale or hand-edited link still shows a list instead of an error."""
    return Paginator(items, per_page or PER_PAGE).get_page(request.GET.get("page"))
