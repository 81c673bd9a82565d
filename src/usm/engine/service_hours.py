"""Service hours: when an agreement's clock runs.

A calendar is a service's weekly opening hours in one time zone, minus holidays (closed all day),
with exceptions (date-specific hours that replace the week's for that date: a Saturday opening, a
short day). It is built from plain data so that the agreements app can feed it its rows:

    ServiceHours(
        "Europe/Amsterdam",
        weekly={"monday": [("08:00", "12:00"), ("13:00", "17:00")], ...},
        holidays=["2026-12-25"],
        exceptions={"2026-12-24": [("08:00", "12:00")]},
    )

Opening and closing times are wall-clock times in the calendar's zone, in whole minutes; "24:00"
(or an end of "00:00", since a database time column cannot hold 24:00) is the midnight ending the
day. A local time `t` on date `d` stands for the first instant at which the wall clock reads `t` or
later on `d` (see `instant_at`). With daylight saving time that one rule makes an opening time that
falls in the spring-forward gap start at the jump, and an opening time in the repeated autumn hour
count once, on its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_DAY = timedelta(days=1)
_CLOCK_TIME = re.compile(r"(\d{1,2}):(\d{2})")
# zoneinfo offsets are whole seconds, but instants carry microseconds.
_RESOLUTION = timedelta(microseconds=1)
# How many answers per date a calendar keeps (`ServiceHours._kept`): years of dates, about 2 MB.
_KEPT_DAYS = 5_000

WallInterval = tuple[int, int]
IntervalData = tuple[str | time, str | time] | list[str | time]
Interval = tuple[datetime, datetime]


class ServiceHours:
    """A service calendar. Immutable once built; invalid input raises ValueError."""

    __slots__ = (
        "_exceptions",
        "_holidays",
        "_known",
        "_week_total",
        "_weekly",
        "_zone",
        "time_zone",
    )

    def __init__(
        self,
        time_zone: str,
        weekly: Mapping[str | int, Iterable[IntervalData]],
        holidays: Iterable[date | str] = (),
        exceptions: Mapping[date | str, Iterable[IntervalData]] | None = None,
    ) -> None:
        self.time_zone = time_zone
        self._zone = _zone(time_zone)
        self._weekly = _parse_week(weekly)
        self._week_total = timedelta(
            minutes=sum(end - start for day in self._weekly for start, end in day)
        )
        if not self._week_total:
            # Adding time to such a calendar would search forever for an opening.
            raise ValueError("the week has no service hours: open on at least one weekday")
        self._holidays = frozenset(_parse_date(value, "holiday") for value in holidays)
        self._exceptions: dict[date, tuple[WallInterval, ...]] = {}
        for key, intervals in (exceptions or {}).items():
            day = _parse_date(key, "exception")
            if day in self._exceptions:
                raise ValueError(f"exception {day}: given twice")
            if day in self._holidays:
                # Which one should win depends on which was entered last, which we cannot know.
                raise ValueError(f"{day} is both a holiday and an exception: keep one of them")
            self._exceptions[day] = _parse_day(intervals, f"exception {day}")
        # What was worked out per date (its intervals, its midnight, whether a week from it is
        # regular), kept: the calendar never changes, and every deadline asks the same few weeks
        # again, each answer costing a dozen time-zone conversions.
        self._known: dict[tuple[str, date], object] = {}

    @classmethod
    def always(
        cls,
        time_zone: str = "UTC",
        holidays: Iterable[date | str] = (),
        exceptions: Mapping[date | str, Iterable[IntervalData]] | None = None,
    ) -> ServiceHours:
        """24x7: every minute of every day is service time, holidays and exceptions apart."""
        weekly = {weekday: [("00:00", "24:00")] for weekday in WEEKDAYS}
        return cls(time_zone, weekly, holidays, exceptions)

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> ServiceHours:
        """Build from a mapping with keys time_zone, weekly, holidays (opt.), exceptions (opt.)."""
        unknown = set(data) - {"time_zone", "weekly", "holidays", "exceptions"}
        if unknown:
            raise ValueError(f"unknown service-hours field(s): {', '.join(sorted(unknown))}")
        for required in ("time_zone", "weekly"):
            if required not in data:
                raise ValueError(f"service hours need '{required}'")
        return cls(
            data["time_zone"],  # type: ignore[arg-type]
            data["weekly"],  # type: ignore[arg-type]
            data.get("holidays", ()),  # type: ignore[arg-type]
            data.get("exceptions"),  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        return (
            f"ServiceHours({self.time_zone!r}, {self._week_total / timedelta(hours=1):g} h a week, "
            f"{len(self._holidays)} holidays, {len(self._exceptions)} exceptions)"
        )

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def instant_at(self, day: date, wall: timedelta) -> datetime:
        """The first instant (UTC) at which the wall clock reads `day` 00:00 + `wall` or later.

        An ordinary local time has one instant. A time the clock skips (spring forward) becomes
        the instant of the jump: opening "at 02:30" on a day that goes from 02:00 to 03:00 means
        opening when the clock shows 03:00, so a 02:30–04:00 interval lasts one hour, not 1.5 or
        0.5. A time the clock shows twice (fall back) becomes its first occurrence.
        """
        naive = datetime.combine(day, time()) + wall
        candidates = [
            naive.replace(tzinfo=self._zone, fold=fold).astimezone(UTC) for fold in (0, 1)
        ]
        real = [instant for instant in candidates if self._wall(instant) == naive]
        if real:
            return min(real)
        # In a gap the two folds land on either side of the jump; the jump is the first instant
        # whose wall time has passed `naive`.
        early, late = sorted(candidates)
        while late - early > _RESOLUTION:
            middle = early + (late - early) / 2
            if self._wall(middle) >= naive:
                late = middle
            else:
                early = middle
        return late

    def local_midnight(self, day: date) -> datetime:
        return self._kept("midnight", day, lambda: self.instant_at(day, timedelta()))

    def _kept(self, what: str, day: date, work_out):
        key = (what, day)
        found = self._known.get(key)
        if found is None:
            if len(self._known) >= _KEPT_DAYS:
                self._known.clear()  # a walk over decades; the next deadline fills it again
            found = self._known[key] = work_out()
        return found

    def wall_hours(self, day: date) -> tuple[WallInterval, ...]:
        """The opening intervals of `day` in minutes after local midnight (exceptions applied)."""
        if day in self._holidays:
            return ()
        if day in self._exceptions:
            return self._exceptions[day]
        return self._weekly[day.weekday()]

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The opening intervals of the local date `day` as UTC instants, in order, none empty."""
        return self._kept("intervals", day, lambda: self._intervals_on(day))

    def _intervals_on(self, day: date) -> tuple[Interval, ...]:
        intervals = []
        for start, end in self.wall_hours(day):
            opens = self.instant_at(day, timedelta(minutes=start))
            closes = self.instant_at(day, timedelta(minutes=end))
            # An interval lying wholly in a spring-forward gap never happens on the wall clock.
            if opens < closes:
                intervals.append((opens, closes))
        return tuple(intervals)

    @property
    def weekly_total(self) -> timedelta:
        """The service time of an ordinary week (no holidays, exceptions or clock changes)."""
        return self._week_total

    def is_regular_week(self, first_day: date) -> bool:
        """Whether the seven days from `first_day` hold exactly `weekly_total` of service time.

        They do when none is a holiday or an exception and no clock change falls inside an
        opening interval. This lets long spans jump a week at a time. A day of 24 hours has no
        clock change; a change and its reversal within one day would pass unnoticed, but no zone
        in the tz database has one.
        """
        return self._kept("regular week", first_day, lambda: self._is_regular_week(first_day))

    def _is_regular_week(self, first_day: date) -> bool:
        days = [first_day + k * _DAY for k in range(7)]
        if any(day in self._holidays or day in self._exceptions for day in days):
            return False
        midnights = [self.local_midnight(day) for day in [*days, first_day + 7 * _DAY]]
        return not any(
            next_midnight - midnight != _DAY and self._clock_change_in_hours(day)
            for day, midnight, next_midnight in zip(days, midnights, midnights[1:], strict=False)
        )

    def _clock_change_in_hours(self, day: date) -> bool:
        real = sum((closes - opens for opens, closes in self.intervals_on(day)), timedelta())
        wall = timedelta(minutes=sum(end - start for start, end in self.wall_hours(day)))
        return real != wall

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self._zone).replace(tzinfo=None)


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ValueError(f"time zone must be an IANA name such as 'Europe/Amsterdam', not {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _parse_week(
    weekly: Mapping[str | int, Iterable[IntervalData]],
) -> tuple[tuple[WallInterval, ...], ...]:
    if not isinstance(weekly, Mapping):
        raise ValueError("weekly hours must map weekdays to lists of (start, end) pairs")
    days: dict[int, tuple[WallInterval, ...]] = {}
    for key, intervals in weekly.items():
        index = _weekday(key)
        if index in days:
            raise ValueError(f"{WEEKDAYS[index]}: given twice")
        days[index] = _parse_day(intervals, WEEKDAYS[index])
    return tuple(days.get(index, ()) for index in range(7))


def _weekday(key: str | int) -> int:
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= 6:
        return key
    if isinstance(key, str):
        name = key.strip().lower()
        for index, weekday in enumerate(WEEKDAYS):
            if name in (weekday, weekday[:3]):
                return index
    raise ValueError(f"{key!r} is not a weekday (monday…sunday, mon…sun, or 0–6 from Monday)")


def _parse_day(intervals: Iterable[IntervalData], where: str) -> tuple[WallInterval, ...]:
    if isinstance(intervals, str | bytes) or not isinstance(intervals, Iterable):
        raise ValueError(f"{where}: expected a list of (start, end) pairs, got {intervals!r}")
    parsed = []
    for interval in intervals:
        if not isinstance(interval, tuple | list) or len(interval) != 2:
            raise ValueError(f"{where}: {interval!r} is not a (start, end) pair")
        start = _minute(interval[0], where, end=False)
        end = _minute(interval[1], where, end=True)
        if end <= start:
            raise ValueError(
                f"{where}: {_clock(start)}–{_clock(end)} ends before it starts; to serve past "
                "midnight end at 24:00 and continue at 00:00 the next day"
            )
        parsed.append((start, end))
    parsed.sort()
    merged: list[WallInterval] = []
    for start, end in parsed:
        if merged and start < merged[-1][1]:
            previous = merged[-1]
            raise ValueError(
                f"{where}: {_clock(previous[0])}–{_clock(previous[1])} and "
                f"{_clock(start)}–{_clock(end)} overlap"
            )
        if merged and start == merged[-1][1]:
            # Touching intervals are one opening; kept apart they would put a "closing" in the
            # middle of service time, where a deadline could stop.
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _minute(value: str | time, where: str, *, end: bool) -> int:
    if isinstance(value, time):
        if value.second or value.microsecond:
            raise ValueError(f"{where}: {value} is not a whole minute")
        minute = value.hour * 60 + value.minute
    elif isinstance(value, str) and (match := _CLOCK_TIME.fullmatch(value.strip())):
        hours, minutes = int(match[1]), int(match[2])
        if minutes > 59 or hours > 24 or (hours == 24 and minutes):
            raise ValueError(f"{where}: {value!r} is not a time of day")
        minute = hours * 60 + minutes
    else:
        raise ValueError(f"{where}: {value!r} is not a time of day (HH:MM)")
    if minute == MINUTES_PER_DAY and not end:
        raise ValueError(f"{where}: an interval cannot start at 24:00")
    if minute == 0 and end:
        return MINUTES_PER_DAY
    return minute


def _parse_date(value: date | str, what: str) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"{what} {value} must be a date, not a date and time")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from exc


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
