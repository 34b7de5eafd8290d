"""The operator's page in admin, for superusers: whether the service is ready (the same checks as
/readyz), whether the clocks keep up, the Celery queue, what needs a person, the last money check."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import heartbeat, metrics
from core.health import readiness
from disputes import reconcile
from disputes.models import Dispute
from disputes.sweeps import due_queries

SET_ASIDE_SHOWN = 20


@dataclass(frozen=True)
class Beat:
    at: datetime | None
    seconds: int | None  # how long ago
    stale: bool


@dataclass(frozen=True)
class Overdue:
    count: int
    oldest: datetime | None  # the deadline of the clock overdue longest


@dataclass(frozen=True)
class Reconciliation:
    at: datetime | None
    ok: bool | None
    mismatches: int | None
    report: str


def beat_read(name: str, now: datetime) -> Beat:
    at = heartbeat.last_beat(name)
    if at is None:
        return Beat(at=None, seconds=None, stale=True)
    seconds = round((now - at).total_seconds())
    return Beat(at=at, seconds=seconds, stale=seconds > settings.BEAT_STALE_SECONDS)


def overdue_clocks(now: datetime) -> Overdue:
    """The clocks the sweep has yet to act on: each minute's run leaves none behind, so an old one
    means the sweeps have stopped or fall behind. Read from the sweep's own partial indexes."""
    by_answer, by_age = due_queries(now)
    count = by_answer.order_by().values("pk").union(by_age.order_by().values("pk")).count()
    deadlines = [
        by_answer.values_list("respond_by", flat=True).first(),
        by_age.values_list("escalate_at", flat=True).first(),
    ]
    return Overdue(count=count, oldest=min(filter(None, deadlines), default=None))


def reconciliation_read() -> Reconciliation | None:
    """The last reconciliation as `disputes.reconcile.last_run()` gives it (an object or a dict with
    `at`, `ok`, `mismatches`, `report`), read without trusting any one of them to be there."""
    run = reconcile.last_run()
    if run is None:
        return None

    def read(name: str):
        return run.get(name) if isinstance(run, Mapping) else getattr(run, name, None)

    mismatches, ok = read("mismatches"), read("ok")
    if ok is None and mismatches is not None:
        ok = not mismatches
    return Reconciliation(at=read("at"), ok=ok, mismatches=mismatches, report=str(read("report") or ""))


def operator_page(request):
    # Admin's own door has let in staff only; of those, only superusers see the operations.
    if not request.user.is_superuser:
        raise PermissionDenied
    now = timezone.now()
    checks = readiness()
    set_aside = Dispute.objects.filter(set_aside_at__isnull=False)
    context = {
        **admin.site.each_context(request),
        "title": _("Operations"),
        "checks": checks,
        "ready": all(check.ok for check in checks),
        "sweep_started": beat_read(heartbeat.SWEEPS, now),
        "sweep_finished": beat_read(heartbeat.SWEEPS_FINISHED, now),
        "stale_seconds": settings.BEAT_STALE_SECONDS,
        "overdue": overdue_clocks(now),
        "queue_depth": metrics.queue_depth(),
        "set_aside_count": set_aside.count(),
        "set_aside": set_aside.select_related("order").order_by("set_aside_at")[:SET_ASIDE_SHOWN],
        "reconciliation": reconciliation_read(),
    }
    return TemplateResponse(request, "admin/operator.html", context)
