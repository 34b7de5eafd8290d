"""Cached reads that are never stale: a representation is kept under a fingerprint of every row it was
built from, read in the same query as the access check.

How the fingerprint works (PostgreSQL): every row version carries `xmin`, the id of the transaction that
wrote it, and a write always makes a new version with a newer id. So for each table a representation
reads, the count of its rows and the sum of their `xmin` change with every insert, update or delete,
whoever makes it: a service, a sweep's bulk update, an admin edit, a migration. A reader that sees the
change in its fingerprint misses the cache and builds afresh; one that does not see it yet (the writer has
not committed) is served what was true before, as the database itself would serve it. No write path has to
remember to invalidate anything, and no write pays for it.

The key also holds what the representation depends on besides rows: the viewer's role (the team sees
more), the language and time zone, the address the links are built on, and the minute, so that what changes with time
alone (a countdown, a window that closes) is at most a minute old. Elsewhere than PostgreSQL (SQLite for
`make run`) nothing is cached.

The cache is an aid, never a dependency: with Redis down or slow every read misses and is built from the
database, and nothing is kept (core/cache.py answers as a miss and skips Redis for a few seconds after it
fails). When Redis answers again, reads are kept again; nothing kept before the outage can be stale, since its
key holds the rows' version.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone, translation

SECONDS = 60
PREPARE_ONLY_WHEN_ASKED = 2**31 - 1  # psycopg's threshold for preparing a query on its own: never


def rows_version(table: str, where: str) -> str:
    """SQL for the version of `table`'s rows matching `where` (SQL, may name the outer query's aliases):
    how many there are and the sum of the transaction ids that wrote them."""
    # Each row counts as a 64-bit hash of its id and xmin, summed (so the order of rows does not matter): a
    # plain sum of xmin could come out the same after a change (an older transaction overwriting two rows
    # that newer ones wrote). Our own table and column names, never input: the values go in as parameters.
    return (
        f"(SELECT count(*) || '/' || coalesce(sum(hashtextextended(id::text || ':' || xmin::text, 0)), 0)"  # noqa: S608
        f" FROM {table} WHERE {where})"
    )


def row_version(alias: str) -> str:
    """SQL for the version of the outer query's row `alias`."""
    return f"{alias}.xmin::text"


def enabled() -> bool:
    return connection.vendor == "postgresql"


def fetch(sql: str, params: Sequence[Any]) -> tuple | None:
    """One row of `sql`, as a prepared statement: planning a version query (a dozen or more subqueries)
    costs several times its running, and a prepared one is planned once per database connection (psycopg
    keeps it; connections live CONN_MAX_AGE). Behind a pooler in transaction mode, turn the pooler's
    prepared-statement support on."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    prepare = settings.READ_CACHE_PREPARE
    if prepare and raw.prepare_threshold is None and "prepare_threshold" not in connection.settings_dict["OPTIONS"]:
        raw.prepare_threshold = PREPARE_ONLY_WHEN_ASKED  # Django turns preparing off; this prepares what asks
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=prepare)
        return cursor.fetchone()


def key(kind: str, parts: Sequence[Any], fingerprint: str, request) -> str:
    """The key of a representation: `kind`, `parts` (the resource and what of the viewer it depends on), the
    rows' `fingerprint`, and the request's language, time zone, address and minute."""
    key_parts = [
        settings.READ_CACHE_RELEASE,  # what the code that built it was
        *map(str, parts),
        fingerprint,
        translation.get_language() or "",
        timezone.get_current_timezone_name(),
        request.scheme,
        request.get_host(),
        str(int(time.time() // SECONDS)),
    ]
    return f"read:{kind}:" + hashlib.sha256("|".join(key_parts).encode()).hexdigest()


def cached(kind: str, parts: Sequence[Any], fingerprint: str, request, build: Callable[[], Any]) -> Any:
    """The representation `build()` makes, kept under its `key`."""
    if connection.in_atomic_block:
        # Inside a transaction that may have written rows twice (same xmin): built, never kept.
        return build()
    name = key(kind, parts, fingerprint, request)
    found = cache.get(name)
    if found is None:
        found = build()
        cache.set(name, found, SECONDS)
    return found


def cached_response(kind: str, parts: Sequence[Any], fingerprint: str, request, build: Callable[[], Any]):
    """An API read's response from the cache (see `cached`), kept as the JSON it renders to when the client
    asked for JSON (the bytes are served as they are: no unpickling of the data, no rendering again), and as
    the data otherwise (the browsable API, where it is offered)."""
    from rest_framework.renderers import JSONRenderer
    from rest_framework.response import Response

    if getattr(request, "accepted_renderer", None) is None or request.accepted_renderer.format != "json":
        return Response(cached(kind, parts, fingerprint, request, build))
    body = cached(kind + ".json", parts, fingerprint, request, lambda: JSONRenderer().render(build()))
    return HttpResponse(body, content_type="application/json")
