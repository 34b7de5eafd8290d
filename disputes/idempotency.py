"""Idempotency-Key for the endpoints that move money (docs/rules.md §6): a retry with the same key and body
gets the first response and changes nothing; the same key with another body is refused (422)."""

import hashlib
import json

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.api import exception_handler
from core.errors import RuleViolation
from disputes.models import IdempotencyRecord


def _fingerprint(request) -> str:
    body = request.data
    try:
        canonical = json.dumps(body, sort_keys=True, default=str)
    except TypeError:
        canonical = repr(sorted(body.items())) if hasattr(body, "items") else repr(body)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent(request, view, handler) -> Response:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key:
        return handler()
    if len(key) > 200:
        raise RuleViolation("invalid", _("Idempotency-Key is at most 200 characters."), status=400)
    fingerprint = _fingerprint(request)
    # The record's row is inserted first and held until this transaction ends, so a concurrent
    # retry with the same key waits here and then replays the stored response.
    with transaction.atomic():
        record, created = IdempotencyRecord.objects.get_or_create(
            user=request.user, key=key, defaults={"fingerprint": fingerprint}
        )
        if not created:
            if record.fingerprint != fingerprint:
                raise RuleViolation(
                    "idempotency_key_reused",
                    _("This Idempotency-Key was already used with a different request; use a new key."),
                    status=422,
                )
            response = Response(record.response_body, status=record.response_status)
            response["Idempotent-Replay"] = "true"
            return response
        try:
            response = handler()
        except Exception as error:
            response = exception_handler(error, {"request": request, "view": view})
            if response is None:
                raise
        record.response_status = response.status_code
        # Stored as the client saw it: rendered to JSON (times and decimals as strings).
        record.response_body = json.loads(JSONRenderer().render(response.data))
        record.save(update_fields=["response_status", "response_body"])
    return response
