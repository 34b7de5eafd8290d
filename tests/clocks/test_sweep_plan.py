"""The clock sweep reads what is due through its partial indexes (disputes/models.py), in deadline
order, stopping at a batch: its work follows the rows due, not the size of the table. If the
sweep's filter and an index's condition drift apart, PostgreSQL can no longer use the index."""

import pytest
from django.db import connection
from django.utils import timezone

from disputes.models import Dispute
from disputes.sweeps import due_queries, pauses_ended

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]


@pytest.mark.parametrize(("query", "index"), [(0, "dispute_answer_due"), (1, "dispute_escalation_due")])
def test_the_due_queries_walk_their_partial_index_without_a_filter_or_a_sort(query, index):
    sql, params = due_queries(timezone.now())[query].values("pk")[:500].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is tiny: ask what it would do at scale
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Index Scan using {index} on {Dispute._meta.db_table}" in plan, plan
    assert "Filter" not in plan and "Sort" not in plan, plan


def test_the_ended_pauses_are_read_from_their_partial_index_without_a_filter_or_a_sort():
    query = pauses_ended(timezone.now()).order_by("paused_until").values("pk")[:500]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert f"Index Scan using dispute_pause_ends on {Dispute._meta.db_table}" in plan, plan
    assert "Filter" not in plan and "Sort" not in plan, plan
