"""API conventions shared by every app: one error shape, one pagination."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.audit import audit
from core.errors import RuleViolation
from core.paging import rows_in_order


class DocsPermission(BasePermission):
    """The schema and API docs: open while API_DOCS_PUBLIC (development), else signed-in users only."""

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        """Count and skip on the ids alone, then load only the page's rows with their joins and
        annotations (as `core.paging` does for the pages): a deep page does not build every
        row it skips."""
        if not isinstance(queryset, QuerySet):
            return super().paginate_queryset(queryset, request, view)
        ids = super().paginate_queryset(queryset.values_list("pk", flat=True), request, view)
        if ids is None:
            return None
        return rows_in_order(queryset, ids)


_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "too_many_requests",
    exceptions.ParseError: "parse_error",
}


def _field_messages(detail) -> dict:
    """Flatten DRF's nested error detail into {field: [messages]} (nested paths joined by dots)."""
    fields: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                if key in ("non_field_errors", "non_field_error") and prefix:
                    walk(prefix, sub)  # "items": the list as a whole, not a field inside it
                else:
                    walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                fields.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for index, sub in enumerate(value):
                    if sub:
                        walk(f"{prefix}.{index}", sub)
        else:
            fields.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return fields


def error_body(code: str, detail: str, fields: dict | None = None) -> dict:
    body = {"code": code, "detail": str(detail)}
    if fields:
        body["fields"] = fields
    return body


def exception_handler(exc, context):
    """Give every API error the shape {"code", "detail", "fields"?} of docs/rules.md §6."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if isinstance(exc, RuleViolation):
        audit(
            "api.refused",
            code=exc.code,
            status=exc.status,
            user=getattr(user, "username", None) or "anonymous",
            path=getattr(request, "path", ""),
            detail=exc.detail,
        )
        return Response(error_body(exc.code, exc.detail, exc.fields or None), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's 500 handler answers, without a trace
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_messages(exc.detail)
        detail = _("Some fields are invalid; see fields for what to correct.")
        if list(fields) == ["non_field_errors"]:
            detail = fields["non_field_errors"][0]
            fields = {}
        response.data = error_body("invalid", detail, fields)
    else:
        code = getattr(exc, "default_code", None)
        for cls, mapped in _CODES.items():
            if isinstance(exc, cls):
                code = mapped
                break
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if isinstance(exc, exceptions.APIException) and hasattr(exc, "get_codes"):
            custom = exc.get_codes()
            if isinstance(custom, str) and custom not in ("error", getattr(exc, "default_code", "")):
                code = custom
        response.data = error_body(code or "error", detail)
        if response.status_code in (401, 403):
            audit(
                "api.refused",
                code=code,
                status=response.status_code,
                user=getattr(user, "username", None) or "anonymous",
                path=getattr(request, "path", ""),
            )
    return response


def api_bad_request(request, exception=None):
    body = error_body("bad_request", _("The request is too large or malformed: send fewer or smaller parts."))
    return JsonResponse(body, status=status.HTTP_400_BAD_REQUEST)


def api_permission_denied(request, exception=None):
    body = error_body("permission_denied", _("You do not have permission to perform this action."))
    return JsonResponse(body, status=status.HTTP_403_FORBIDDEN)


def api_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)


def api_server_error(request):
    return JsonResponse(
        error_body("server_error", _("Something went wrong on our side; it has been logged. Please try again.")),
        status=500,
    )
