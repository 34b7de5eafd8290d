"""Heartbeats: a named moment, overwritten each time something that must keep running runs."""

from datetime import datetime

from django.utils import timezone

from core.models import Heartbeat

# Beat's sweep task writes SWEEPS as each run starts (/readyz goes stale when beat or every worker
# has stopped) and SWEEPS_FINISHED when a run completes (a sweep that keeps failing shows there).
SWEEPS = "sweeps"
SWEEPS_FINISHED = "sweeps_finished"


def beat(name: str, at: datetime | None = None) -> None:
    """Record that `name` ran at `at` (now): one upsert, whether or not it ran before."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, at=at or timezone.now())],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["at"],
    )


def last_beat(name: str) -> datetime | None:
    return Heartbeat.objects.filter(name=name).values_list("at", flat=True).first()
