"""Set-based writes go through Django's connection: query logging and execute_wrapper see them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.bulk import insert_values, update_rows
from notifications.models import Notification

pytestmark = pytest.mark.django_db
FIELDS = ["recipient_id", "kind", "dedupe_key", "title", "body", "url", "created_at"]


def test_bulk_statements_pass_through_execute_wrappers_and_the_query_log(world):
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    from django.utils import timezone

    rows = [[world.alice.pk, "your_turn", f"k-{i}", f"Title {i}", "", "", timezone.now()] for i in range(3)]
    with connection.execute_wrapper(wrapper), CaptureQueriesContext(connection) as logged:
        ids = insert_values(Notification, FIELDS, rows)
        notes = list(Notification.objects.filter(pk__in=ids).order_by("pk"))
        for note in notes:
            note.title = note.title.upper()
        update_rows(Notification, notes, ["title"])
    assert len(ids) == 3
    assert list(Notification.objects.filter(pk__in=ids).values_list("title", flat=True).order_by("pk")) == [
        "TITLE 0",
        "TITLE 1",
        "TITLE 2",
    ]
    if connection.vendor == "postgresql":
        assert sum("unnest" in sql for sql in seen) == 2
        assert sum("unnest" in query["sql"] for query in logged.captured_queries) == 2
