"""The stretch of time a figure is about: from `start` (included) to `end` (excluded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone

DEFAULT_DAYS = 30
# Further apart than this, a "period" is a typing mistake (and would overflow date arithmetic).
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def __post_init__(self):
        if self.end <= self.start:
            raise ValidationError({"period_end": "the period ends before it starts"})

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, now: datetime | None = None) -> Period:
        end = now or timezone.now()
        return cls(end - timedelta(days=days), end)

    @classmethod
    def month(cls, year: int, month: int, zone: str = "UTC") -> Period:
        """A calendar month as its own time zone has it (the zone of an agreement's service
        hours, for a service report)."""
        if not 1 <= month <= 12 or not 1970 <= year <= 8999:
            raise ValidationError({"month": f"{year:04d}-{month:02d} is not a month"})
        tz = ZoneInfo(zone)
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls(
            datetime.combine(date(year, month, 1), time(), tz).astimezone(UTC),
            datetime.combine(following, time(), tz).astimezone(UTC),
        )

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def instant(value: str | date | datetime | None, field: str) -> datetime | None:
    """An instant given as an ISO date (midnight UTC) or date-time (UTC when it names no zone)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError({field: f"'{value}' is not an ISO date or date-time"}) from None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    if not EARLIEST <= value <= LATEST:
        raise ValidationError({field: "lies outside the years 1970 to 9000"})
    return value


def period_of(start, end, *, now: datetime | None = None) -> Period:
    """The period from what a user typed: either end may be left out; without both, the last
    30 days. A date as the end means up to and including that day."""
    first, last = instant(start, "period_start"), instant(end, "period_end")
    if last is not None and _is_date(end):
        last += timedelta(days=1)
    now = now or timezone.now()
    if first is None and last is None:
        return Period.last_days(DEFAULT_DAYS, now)
    if first is None:
        first = last - timedelta(days=DEFAULT_DAYS)
    if last is None:
        last = max(now, first + timedelta(days=1))
    return Period(first, last)


def _is_date(value) -> bool:
    if isinstance(value, datetime):
        return False
    if isinstance(value, date):
        return True
    return isinstance(value, str) and len(value.strip()) == 10
