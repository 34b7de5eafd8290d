"""Benchmark: the deadline sweep on a large database (issue: every clock enforced by Celery).

Builds (or reuses) a PostgreSQL database `dispute_desk_bench` with ORDERS orders and 20,000
disputes, DUE of them past their seller deadline, then in one run:
  1. times a raw SQL UPDATE of exactly the due rows (in a transaction that is rolled back),
  2. times one sweep (`sweep_clocks`) acting on the same rows through the workflow service
     (chunks of 500 run through the workflow together, their writes gathered: disputes/writes.py),
  3. times a second sweep that finds nothing due,
and prints the ratio, plus the query plan of the due-rows query (the index it uses).

    make bench                      # 1,000,000 orders
    BENCH_ORDERS=10000000 make bench

Run it on an otherwise idle machine; the figures go into docs/performance.md.
"""

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/dispute_desk_bench")
os.environ["DATABASE_URL"] = BASE_URL
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
# Tasks go to Redis as in production (not run inline), and the audit log goes to a file.
os.environ["CELERY_EAGER"] = "false"

ORDERS = int(os.environ.get("BENCH_ORDERS", "1000000"))
DISPUTES = 20_000
DUE = 10_000


def ensure_database() -> None:
    import psycopg

    admin = BASE_URL.rsplit("/", 1)[0] + "/postgres"
    name = BASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    import logging

    import django

    django.setup()
    # The audit trail (two lines per dispute acted on) goes to a file, as in production, not the screen.
    (ROOT / "var").mkdir(exist_ok=True)
    audit = logging.getLogger("dispute_desk")
    audit.handlers = [logging.FileHandler(ROOT / "var" / "bench-audit.log")]
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def populate() -> None:
    from django.core.serializers.json import DjangoJSONEncoder
    from django.db import connection

    from accounts.models import User
    from orders.reference import seed_reference_data
    from sellers.models import Store
    from sellers.services import store_policy

    with connection.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM orders_order), (SELECT count(*) FROM disputes_dispute)")
        if cur.fetchone() == (ORDERS, DISPUTES):  # a build that stopped half way is built again
            print(f"reusing {ORDERS:,} orders")
            return
    print(f"building {ORDERS:,} orders and {DISPUTES:,} disputes ...", flush=True)
    started = time.perf_counter()
    from django.apps import apps

    seed_reference_data(apps)
    buyer, _ = User.objects.get_or_create(username="bench-buyer", defaults={"email": "b@example.com"})
    seller, _ = User.objects.get_or_create(username="bench-seller", defaults={"email": "s@example.com"})
    store, _ = Store.objects.get_or_create(slug="bench", defaults={"name": "Bench", "owner": seller, "country": "CN"})
    # Every order keeps the policy it was placed under, as the service writes it.
    snapshot = json.dumps(store_policy(store).snapshot(), cls=DjangoJSONEncoder)
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE disputes_refund, disputes_disputeevent, disputes_proposal, disputes_evidence, "
            "disputes_idempotencyrecord, messaging_notification, disputes_dispute, orders_orderitem, "
            "orders_orderevent, orders_extensionrequest, orders_order CASCADE"
        )
        cur.execute("SELECT id FROM orders_carrier WHERE code = 'dhl'")
        carrier = cur.fetchone()[0]
        # Most orders are long settled; the disputed ones shipped 10 days ago (window open).
        cur.execute(
            """
            INSERT INTO orders_order (number, buyer_id, store_id, carrier_id, total, currency, placed_at, ship_by,
                shipped_at, tracking_number, status, extension_days, window_opens_at, window_closes_at,
                return_policy_snapshot, source_fingerprint, created_at, updated_at,
                notified_window_open, notified_window_closing, window_days)
            SELECT 'B-' || g, %s, %s, %s, 80.00, 'USD', t - interval '3 days', t - interval '1 day', t, 'T' || g,
                   CASE WHEN g <= %s THEN 'shipped' ELSE 'completed' END, 0,
                   t + interval '6 days', t + interval '23 days', %s::jsonb, '', now(), now(), true, true, 23
            FROM (SELECT g, CASE WHEN g <= %s THEN now() - interval '10 days'
                                 ELSE now() - interval '400 days' + (g %% 300) * interval '1 day' END AS t
                  FROM generate_series(1, %s) g) s
            """,
            [buyer.pk, store.pk, carrier, DISPUTES, snapshot, DISPUTES, ORDERS],
        )
        cur.execute(
            """
            INSERT INTO disputes_dispute (order_id, opened_by_id, reason, item_received, description, refund_type,
                refund_amount, return_item, state, respond_by, escalate_at, opened_at, return_tracking_number,
                return_condition, agreed_cause, ruling_note, buyer_appealed, seller_appealed, outcome, cause,
                resolution_number, updated_at, refunded_amount, set_aside_reason, why_unresolved)
            SELECT o.id, %s, 'not_received', false, 'bench', 'full', 80.00, false, 'awaiting_seller',
                   CASE WHEN row_number() OVER (ORDER BY o.id) <= %s THEN now() - interval '1 hour'
                        ELSE now() + interval '3 days' END,
                   now() + interval '10 days', now() - interval '5 days', '', '', '', '', false, false, '', '',
                   0, now(), 0.00, '', ''
            FROM orders_order o WHERE o.status = 'shipped' ORDER BY o.id LIMIT %s
            """,
            [buyer.pk, DUE, DISPUTES],
        )
        cur.execute(
            """
            INSERT INTO disputes_proposal (dispute_id, party, kind, refund_amount, return_item, note, author_id,
                created_at)
            SELECT id, 'buyer', 'request', 80.00, false, 'bench', %s, opened_at FROM disputes_dispute
            """,
            [buyer.pk],
        )
        cur.execute("ANALYZE")
    print(f"built in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    ensure_database()
    setup_django()
    populate()
    from django.db import connection, transaction
    from django.utils import timezone

    from disputes.models import Dispute
    from disputes.sweeps import due_clocks, sweep_clocks

    reset_due()
    now = timezone.now()
    due = due_clocks(now).count()
    print(f"orders: {ORDERS:,}  disputes: {Dispute.objects.count():,}  due now: {due:,}")

    from disputes.sweeps import due_queries

    with connection.cursor() as cur:
        sql, params = due_queries(now)[0].values("pk")[:500].query.sql_with_params()
        cur.execute("EXPLAIN " + sql, params)
        print("plan of the due-rows query (first batch):\n  " + "\n  ".join(r[0] for r in cur.fetchall()))

    # 1. The baseline: one UPDATE of exactly the due rows, rolled back so they stay due.
    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE disputes_dispute SET state = 'resolved', cause = 'seller_timeout', outcome = 'full_refund', "
                "resolved_refund_amount = refund_amount, resolved_at = %s, respond_by = NULL "
                "WHERE id IN (SELECT id FROM disputes_dispute WHERE state = 'awaiting_seller' AND respond_by <= %s)",
                [now, now],
            )
            updated = cur.rowcount
        raw = time.perf_counter() - started
        transaction.set_rollback(True)
    print(f"raw UPDATE of {updated:,} due rows: {raw:.3f} s")

    # 1b. The floor for any sweep that writes what a clock must write (the dispute, an event, a
    # refund, the order's status, the notifications), done entirely in SQL, rolled back.
    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE due ON COMMIT DROP AS SELECT id, order_id, opened_by_id FROM disputes_dispute "
                "WHERE id IN (SELECT id FROM disputes_dispute WHERE state = 'awaiting_seller' AND respond_by <= %s) "
                "FOR UPDATE SKIP LOCKED",
                [now],
            )
            cur.execute(
                "UPDATE disputes_dispute d SET state = 'resolved', cause = 'seller_timeout', "
                "outcome = 'full_refund', resolved_refund_amount = refund_amount, resolved_at = now(), "
                "respond_by = NULL, resolution_number = 1, refunded_amount = refund_amount "
                "FROM due WHERE d.id = due.id"
            )
            cur.execute(
                "INSERT INTO disputes_disputeevent (dispute_id, actor_party, action, from_state, to_state, "
                "payload, created_at) SELECT id, 'system', 'seller_timeout', 'awaiting_seller', 'resolved', "
                "'{}', now() FROM due"
            )
            cur.execute(
                "INSERT INTO disputes_refund (dispute_id, order_id, resolution_number, amount, currency, "
                "gateway, gateway_reference, cause, created_at, postage) SELECT id, order_id, 1, 80.00, 'USD', "
                "'local', 'bench-' || id, 'seller_timeout', now(), 0 FROM due"
            )
            cur.execute("UPDATE orders_order o SET status = 'refunded' FROM due WHERE o.id = due.order_id")
            cur.execute(
                "INSERT INTO messaging_notification (recipient_id, kind, dedupe_key, title, body, url, "
                "created_at) SELECT opened_by_id, k, 'bench-' || id || k, 't', '', '', now() FROM due, "
                "(VALUES ('resolved'), ('refunded'), ('seller')) v(k) ON CONFLICT DO NOTHING"
            )
        floor = time.perf_counter() - started
        transaction.set_rollback(True)
    print(f"all of a clock's writes in SQL: {floor:.3f} s  ({floor / raw:.1f}x the raw UPDATE: the floor)")

    # 1c. What any sweep that runs the workflow's Python pays before deciding anything: the due
    # rows locked and loaded as the models the workflow takes (each dispute with its order), in the
    # sweep's chunks of 500, rolled back. The sweep's own time is this, the writes, and the rules.
    from disputes.sweeps import _due_ids

    ids = _due_ids(now, DUE)
    with transaction.atomic():
        started = time.perf_counter()
        for start in range(0, len(ids), 500):
            list(
                Dispute.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("order")
                .defer("order__return_policy_snapshot")
                .filter(pk__in=ids[start : start + 500])
                .order_by("pk")
            )
        loading = time.perf_counter() - started
        transaction.set_rollback(True)
    print(f"loading the due rows as models:  {loading:.3f} s  (floor + loading: {floor + loading:.3f} s)")

    # 2. The sweep over the same rows.
    started = time.perf_counter()
    acted = sweep_clocks(now=now)
    sweep = time.perf_counter() - started
    print(f"sweep acting on {acted:,} rows:   {sweep:.3f} s  ({sweep / acted * 1000:.2f} ms a row)")
    print(f"ratio sweep / raw UPDATE:      {sweep / raw:.1f}x  (target 3x)")
    print(f"ratio sweep / the floor:       {sweep / floor:.1f}x  (target 2x)")
    print(f"ratio sweep / floor + loading: {sweep / (floor + loading):.1f}x")

    # 3. Nothing left to do.
    started = time.perf_counter()
    idle_acted = sweep_clocks(now=now)
    idle = time.perf_counter() - started
    print(f"idle sweep (found {idle_acted} due): {idle * 1000:.1f} ms")

    reset_due()


def reset_due() -> None:
    """Make the same DUE rows due again (the sweep resolved them), so runs are repeatable."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE disputes_refund, disputes_disputeevent, messaging_notification")
        cur.execute(
            "UPDATE disputes_dispute SET state = 'awaiting_seller', outcome = '', cause = '', resolved_at = NULL, "
            "resolved_refund_amount = NULL, resolution_number = 0, respond_by = now() - interval '1 hour', "
            "escalate_at = now() + interval '10 days' WHERE resolved_at IS NOT NULL OR respond_by <= now()"
        )
        cur.execute("UPDATE orders_order SET status = 'shipped' WHERE status IN ('refunded', 'partially_refunded')")
        # The dead row versions the last run left behind would slow the next one: every run starts clean.
        cur.execute("VACUUM ANALYZE disputes_dispute, orders_order, disputes_refund, disputes_disputeevent, "
                    "messaging_notification")  # fmt: skip


if __name__ == "__main__":
    main()
