"""The dispute window at every boundary, for each carrier group (docs/rules.md §2)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from orders.window import WindowState, dispute_window

SHIPPED = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
SHIP_BY = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def state_at(now, *, window_days, shipped_at=SHIPPED, ship_by=SHIP_BY, extension_days=0):
    return dispute_window(
        shipped_at=shipped_at, ship_by=ship_by, window_days=window_days, extension_days=extension_days, now=now
    ).state


@pytest.mark.parametrize("window_days", [23, 27, 39])
class TestEachCarrierGroup:
    def test_window_is_not_open_five_days_and_23_59_after_shipment(self, window_days):
        now = SHIPPED + timedelta(days=5, hours=23, minutes=59)
        assert state_at(now, window_days=window_days) == WindowState.NOT_YET_OPEN

    def test_window_opens_exactly_six_days_after_shipment(self, window_days):
        assert state_at(SHIPPED + timedelta(days=6), window_days=window_days) == WindowState.OPEN

    def test_window_is_open_at_the_last_instant_of_its_last_day(self, window_days):
        last_instant = SHIPPED + timedelta(days=window_days) - timedelta(microseconds=1)
        assert state_at(last_instant, window_days=window_days) == WindowState.OPEN

    def test_window_is_closed_once_its_last_day_has_passed(self, window_days):
        assert state_at(SHIPPED + timedelta(days=window_days), window_days=window_days) == WindowState.CLOSED
        assert state_at(SHIPPED + timedelta(days=window_days) + MINUTE, window_days=window_days) == WindowState.CLOSED

    def test_reported_bounds_are_six_days_and_carrier_days_after_shipment(self, window_days):
        window = dispute_window(shipped_at=SHIPPED, ship_by=SHIP_BY, window_days=window_days, now=SHIPPED)
        assert window.opens_at == SHIPPED + timedelta(days=6)
        assert window.closes_at == SHIPPED + timedelta(days=window_days)


class TestUnshippedOrder:
    def test_unshipped_order_window_runs_from_its_ship_by_date(self):
        window = dispute_window(shipped_at=None, ship_by=SHIP_BY, window_days=23, now=SHIP_BY + timedelta(days=7))
        assert window.state == WindowState.OPEN
        assert window.opens_at == SHIP_BY + timedelta(days=6)
        assert window.closes_at == SHIP_BY + timedelta(days=23)

    def test_unshipped_order_before_ship_by_plus_six_days_is_not_yet_open(self):
        now = SHIP_BY + timedelta(days=6) - MINUTE
        assert state_at(now, window_days=39, shipped_at=None) == WindowState.NOT_YET_OPEN

    def test_unshipped_order_closes_on_the_carrier_deadline_from_ship_by(self):
        assert state_at(SHIP_BY + timedelta(days=39), window_days=39, shipped_at=None) == WindowState.CLOSED


class TestExtensions:
    def test_granted_days_move_the_close_later(self):
        closes = SHIPPED + timedelta(days=23)
        assert state_at(closes, window_days=23) == WindowState.CLOSED
        assert state_at(closes, window_days=23, extension_days=5) == WindowState.OPEN
        assert state_at(closes + timedelta(days=5), window_days=23, extension_days=5) == WindowState.CLOSED

    def test_extension_does_not_change_when_the_window_opens(self):
        now = SHIPPED + timedelta(days=5)
        assert state_at(now, window_days=23, extension_days=10) == WindowState.NOT_YET_OPEN

    def test_a_window_never_shrinks(self):
        with pytest.raises(ValueError, match="only grows"):
            state_at(SHIPPED, window_days=23, extension_days=-1)


class TestTimeZones:
    def test_shipment_at_23_30_in_utc_minus_8_counts_from_that_instant(self):
        shipped = datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))  # 07:30 UTC on 2 Mar
        window = dispute_window(shipped_at=shipped, ship_by=SHIP_BY, window_days=23, now=shipped)
        assert window.opens_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
        assert window.closes_at == datetime(2026, 3, 25, 7, 30, tzinfo=UTC)
        just_before = datetime(2026, 3, 7, 23, 29, tzinfo=ZoneInfo("America/Los_Angeles"))
        assert state_at(just_before, window_days=23, shipped_at=shipped) == WindowState.NOT_YET_OPEN
        assert state_at(window.opens_at, window_days=23, shipped_at=shipped) == WindowState.OPEN

    def test_viewers_in_different_zones_see_the_same_instant_on_their_own_calendar_day(self):
        shipped = datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
        window = dispute_window(shipped_at=shipped, ship_by=SHIP_BY, window_days=23, now=shipped)
        with timezone.override(ZoneInfo("America/Los_Angeles")):
            assert date_format(timezone.localtime(window.opens_at), "j M") == "7 Mar"
        with timezone.override(ZoneInfo("Asia/Shanghai")):
            assert date_format(timezone.localtime(window.opens_at), "j M") == "8 Mar"

    def test_a_daylight_saving_change_inside_the_window_does_not_shorten_it(self):
        # US clocks spring forward on 8 March 2026, inside this window.
        shipped = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("America/New_York"))
        window = dispute_window(shipped_at=shipped, ship_by=SHIP_BY, window_days=23, now=shipped)
        # Subtracting two times of the same zone compares wall clocks and would hide a lost hour:
        # compare instants. 12:00 EST is 17:00 UTC; 23 days of 24 hours later is 17:00 UTC (13:00 EDT).
        assert window.closes_at.astimezone(UTC) - shipped.astimezone(UTC) == timedelta(days=23)
        assert window.closes_at == datetime(2026, 3, 24, 17, 0, tzinfo=UTC)

    def test_naive_datetimes_are_refused(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            dispute_window(shipped_at=datetime(2026, 3, 1), ship_by=SHIP_BY, window_days=23, now=SHIPPED)
