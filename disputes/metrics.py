"""The desk's work as it stands, for /metrics: how many disputes wait in each state, clocks the sweep
has not caught up with, rulings past their deadline, disputes set aside for a person, refunds paid,
notifications not yet delivered and each team member's open reviews.

Read by the process answering the scrape, at most once every METRICS_CACHE_SECONDS whoever scrapes
(core.metrics.scrape_cached), in a fixed number of queries however many rows there are. Each query
reads an index that holds only the rows it counts, except the refunds' sums, which read the ledger
(docs/operations.md, "Metrics")."""

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from accounts.roles import team_members
from core.metrics import scrape_cached
from disputes.models import Dispute, Refund
from disputes.states import LIVE_STATES, WITH_TEAM, State
from disputes.sweeps import due_queries
from notifications.models import Notification

# due_queries answers by answer deadline, then by age: the deadline column each one is ordered on.
DUE_COLUMNS = ("respond_by", "escalate_at")


def desk_figures(*, now: datetime | None = None) -> dict:
    """The figures, as plain values (kept in the cache between scrapes)."""
    now = now or timezone.now()
    by_state = dict.fromkeys((str(state) for state in LIVE_STATES), 0)
    # Live states only: a count of resolved disputes grows for ever and would read every row.
    live = Dispute.objects.filter(state__in=LIVE_STATES).values("state").annotate(n=Count("*")).order_by()
    by_state.update({row["state"]: row["n"] for row in live})

    overdue = {}
    for column, due in zip(DUE_COLUMNS, due_queries(now), strict=True):
        found = due.aggregate(n=Count("*"), oldest=Min(column))
        overdue[column] = (found["n"], _age(found["oldest"], now))

    sla_breaches = Dispute.objects.filter(state__in=WITH_TEAM, respond_by__lte=now).count()
    set_aside = Dispute.objects.filter(set_aside_at__isnull=False).count()

    refunds = {
        row["currency"]: (row["n"], _number(row["amount"]), _number(row["postage"]))
        for row in Refund.objects.values("currency")
        .annotate(n=Count("*"), amount=Sum("amount"), postage=Sum("postage"))
        .order_by()
    }

    undelivered = Notification.objects.filter(delivered_at__isnull=True).aggregate(
        n=Count("*"), oldest=Min("created_at")
    )

    # Every member shows, at 0 when they have nothing open; someone who left the team shows until
    # the routing sweep has handed their work back.
    open_reviews = dict.fromkeys(team_members().values_list("username", flat=True), 0)
    # By state alone: the (state, respond_by) index holds only these rows; the assignee's index would
    # walk every dispute each member ever had.
    reviews = Dispute.objects.filter(state=State.UNDER_REVIEW).values_list("assignee__username").annotate(n=Count("*"))
    open_reviews.update((username, n) for username, n in reviews.order_by() if username is not None)

    return {
        "disputes": by_state,
        "overdue": overdue,
        "sla_breaches": sla_breaches,
        "set_aside": set_aside,
        "refunds": refunds,
        "undelivered": (undelivered["n"], _age(undelivered["oldest"], now)),
        "open_reviews": open_reviews,
    }


def _age(then: datetime | None, now: datetime) -> float:
    return max(0.0, (now - then).total_seconds()) if then else 0.0


def _number(amount: Decimal | None) -> float:
    return float(amount or 0)


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"dispute_desk_{name}", documentation, labels=labels)


def _single(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"dispute_desk_{name}", documentation, value=value)


class DeskCollector:
    """Handed to core.metrics (DisputesConfig.ready): read on every scrape."""

    name = "disputes"

    def collect(self) -> Iterator[Metric]:
        figures = scrape_cached("disputes", desk_figures)

        disputes = _gauge("disputes", "Live disputes, by state.", ["state"])
        for state, count in figures["disputes"].items():
            disputes.add_metric([state], count)
        yield disputes

        overdue = _gauge(
            "clocks_overdue",
            "Disputes whose clock has run out but that the sweep has not moved yet, by deadline column "
            "(respond_by: an answer or a return; escalate_at: escalation by age). Set-aside disputes are not counted.",
            ["deadline"],
        )
        oldest = _gauge(
            "clocks_overdue_oldest_seconds",
            "How long ago the oldest of those clocks ran out (0 when none): the sweep's lag.",
            ["deadline"],
        )
        for column, (count, age) in figures["overdue"].items():
            overdue.add_metric([column], count)
            oldest.add_metric([column], age)
        yield overdue
        yield oldest

        yield _single(
            "ruling_sla_breaches",
            "Disputes with the team (escalated or under review) past their ruling deadline (respond_by).",
            figures["sla_breaches"],
        )
        yield _single(
            "disputes_set_aside",
            "Disputes set aside for a person: a clock or routing step failed on them.",
            figures["set_aside"],
        )

        paid = _gauge("refunds_paid", "Refunds paid since the start, by currency (a running total).", ["currency"])
        amount = _gauge(
            "refunds_paid_amount",
            "Money refunded since the start, return postage included, in the currency's major unit, by currency.",
            ["currency"],
        )
        postage = _gauge(
            "refunds_paid_postage_amount",
            "The return postage part of that money, in the currency's major unit, by currency.",
            ["currency"],
        )
        for currency, (count, total, of_postage) in sorted(figures["refunds"].items()):
            paid.add_metric([currency], count)
            amount.add_metric([currency], total)
            postage.add_metric([currency], of_postage)
        yield from (paid, amount, postage)

        count, age = figures["undelivered"]
        yield _single("notifications_undelivered", "Notifications not yet emailed.", count)
        yield _single(
            "notifications_undelivered_oldest_seconds",
            "Age of the oldest notification not yet emailed (0 when none); the delivery sweep sends those "
            "over a minute old.",
            age,
        )

        reviews = _gauge("reviews_open", "Disputes under review, by the team member who has them.", ["assignee"])
        for username, count in sorted(figures["open_reviews"].items()):
            reviews.add_metric([username], count)
        yield reviews
