"""The dispute window: when a buyer may open a dispute on an order. A pure function of the order's facts.

The window is anchored on the moment the seller shipped, or, for an order that never shipped, on the
ship-by date it should have shipped by. It opens `opens_after_days` after the anchor and closes the
carrier's number of days after the same anchor, plus any days the seller granted. Both bounds are
instants in UTC: open means opens_at <= now < closes_at.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class WindowState(StrEnum):
    NOT_YET_OPEN = "not_yet_open"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class DisputeWindow:
    state: WindowState
    opens_at: datetime
    closes_at: datetime

    @property
    def is_open(self) -> bool:
        return self.state is WindowState.OPEN


def window_bounds(
    *,
    shipped_at: datetime | None,
    ship_by: datetime,
    window_days: int,
    extension_days: int = 0,
    opens_after_days: int = 6,
) -> tuple[datetime, datetime]:
    if shipped_at is not None and shipped_at.tzinfo is None:
        raise ValueError("shipped_at must be timezone-aware")
    if ship_by.tzinfo is None:
        raise ValueError("ship_by must be timezone-aware")
    if extension_days < 0:
        raise ValueError("a window only grows: extension_days cannot be negative")
    # Count elapsed days in UTC: adding days to a zone-aware time would follow the wall clock and
    # lose or gain an hour across a daylight-saving change.
    anchor = (shipped_at if shipped_at is not None else ship_by).astimezone(UTC)
    opens_at = anchor + timedelta(days=opens_after_days)
    closes_at = anchor + timedelta(days=window_days + extension_days)
    return opens_at, closes_at


def dispute_window(
    *,
    shipped_at: datetime | None,
    ship_by: datetime,
    window_days: int,
    now: datetime,
    extension_days: int = 0,
    opens_after_days: int = 6,
) -> DisputeWindow:
    opens_at, closes_at = window_bounds(
        shipped_at=shipped_at,
        ship_by=ship_by,
        window_days=window_days,
        extension_days=extension_days,
        opens_after_days=opens_after_days,
    )
    return window_state(opens_at=opens_at, closes_at=closes_at, now=now)


def window_state(*, opens_at: datetime, closes_at: datetime, now: datetime) -> DisputeWindow:
    if now < opens_at:
        state = WindowState.NOT_YET_OPEN
    elif now < closes_at:
        state = WindowState.OPEN
    else:
        state = WindowState.CLOSED
    return DisputeWindow(state=state, opens_at=opens_at, closes_at=closes_at)
