"""Business-time arithmetic: deadlines and elapsed time under service hours.

The rules every caller relies on:

- Instants go in aware (any zone) and come out aware in UTC. Naive datetimes are refused: a
  deadline computed from an instant whose zone is a guess is a wrong deadline.
- The clock runs only inside service hours. An instant is *on the clock* when it lies in an
  opening interval, its opening and closing instants included.
- `add_business_duration(calendar, start, d)` is the earliest on-the-clock instant by which `d`
  of business time has run since `start`. Consequences:
  * a start outside service hours counts from the next opening;
  * a target used up exactly at a closing is that closing (17:00 stays 17:00; it does not become
    the next morning's 08:00, which reads the same on the business clock but is a later instant);
  * 0 minutes from outside service hours is the next opening, and from an on-the-clock start
    is the start itself. This keeps add(add(t, a), b) == add(t, a + b) for every t, a and b.
- Business days: N business days after `t` is the same wall-clock time N service days later
  (service days are dates with service hours, so weekends and holidays are skipped); when the
  service is not running then (before opening, in a lunch gap, after closing, or exactly at an
  opening) it is the last closing before it. "Within two working days" is what agreements mean and
  requesters expect: Tuesday 10:00 → Thursday 10:00 whatever the length of Wednesday. The other
  reading, N × the length of a service day, needs a day length the calendar does not have when
  days differ (a 4-hour Saturday, a short Christmas Eve) and is how tools end up treating
  "1 day" as 24 service hours, i.e. three working days. A call opened at or before a day's opening
  gets that whole day: Monday 08:00 + 1 day = Monday 17:00, and so does one opened on Saturday.
- Calendar time (norms that run round the clock) is business time under a 24x7 calendar in the
  agreement's zone: minutes and hours are elapsed time, days are wall-clock days (a day across a
  daylight-saving change lasts 23 or 25 hours).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property

from usm.engine.service_hours import Interval, ServiceHours

_DAY = timedelta(days=1)
_MINUTE = timedelta(minutes=1)

Pause = tuple[datetime, datetime | None]


def add_business_time(calendar: ServiceHours, start: datetime, minutes: int) -> datetime:
    """`start` plus `minutes` of business time (see the module notes for the edge cases)."""
    return add_business_duration(calendar, start, timedelta(minutes=_count(minutes, "minutes")))


def add_business_duration(calendar: ServiceHours, start: datetime, duration: timedelta) -> datetime:
    """`start` plus `duration` of business time, as the earliest on-the-clock instant."""
    cursor = _utc(start, "start")
    if duration < timedelta():
        raise ValueError(f"cannot add a negative duration ({duration})")
    remaining = duration
    # The day before also counts: `cursor` may be the closing of an interval ending at its
    # midnight, which is on the clock.
    day = calendar.local_date(cursor) - _DAY
    while True:
        # Strictly greater: a target used up exactly at the week's last closing must be found
        # by the walk below, or it would drift to the next opening.
        if (
            remaining > calendar.weekly_total
            and cursor <= calendar.local_midnight(day)
            and calendar.is_regular_week(day)
        ):
            remaining -= calendar.weekly_total
            day += 7 * _DAY
            continue
        for opens, closes in calendar.intervals_on(day):
            if closes < cursor:
                continue
            opens = max(opens, cursor)
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        day += _DAY


def business_time_between(calendar: ServiceHours, start: datetime, end: datetime) -> timedelta:
    """The business time from `start` to `end`; zero when `end` is not after `start`."""
    start, end = _utc(start, "start"), _utc(end, "end")
    total = timedelta()
    day = calendar.local_date(start) - _DAY
    while end > (midnight := calendar.local_midnight(day)):
        if (
            start <= midnight
            and calendar.local_midnight(day + 7 * _DAY) <= end
            and calendar.is_regular_week(day)
        ):
            total += calendar.weekly_total
            day += 7 * _DAY
            continue
        for interval in calendar.intervals_on(day):
            total += _overlap(interval, start, end)
        day += _DAY
    return total


def business_minutes_between(calendar: ServiceHours, start: datetime, end: datetime) -> float:
    """`business_time_between` in minutes (whole minutes for minute-aligned instants)."""
    return business_time_between(calendar, start, end) / _MINUTE


def add_business_days(calendar: ServiceHours, start: datetime, days: int) -> datetime:
    """`start` plus `days` business days: the same wall-clock time `days` service days later."""
    days = _count(days, "days")
    origin = add_business_duration(calendar, start, timedelta())
    if not days:
        return origin
    day = _service_day(calendar, origin)
    wall = origin.astimezone(calendar.zone).replace(tzinfo=None) - datetime.combine(day, time())
    for _ in range(days):
        day = _next_service_day(calendar, day, +1)
    target = calendar.instant_at(day, wall)
    # When the service is not running at `target`, the last closing before it reads the same on
    # the business clock and is the earlier instant, as with minutes.
    latest = None
    for opens, closes in calendar.intervals_on(day):
        if opens < target:
            latest = min(closes, target)
    if latest is not None:
        return latest
    return calendar.intervals_on(_next_service_day(calendar, day, -1))[-1][1]


def add_calendar_time(start: datetime, minutes: int) -> datetime:
    """`start` plus `minutes` of elapsed time, whatever the service hours."""
    return _utc(start, "start") + timedelta(minutes=_count(minutes, "minutes"))


def add_calendar_days(time_zone: str, start: datetime, days: int) -> datetime:
    """The same wall-clock time in `time_zone`, `days` dates later.

    A time the clock skips that day becomes the instant of the jump; a time it shows twice, the
    first one.
    """
    return add_business_days(ServiceHours.always(time_zone), start, days)


class Unit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


class Clock(StrEnum):
    BUSINESS = "business"
    CALENDAR = "calendar"


@dataclass(frozen=True)
class Target:
    """A norm from an agreement: `amount` minutes, hours or days of business or calendar time."""

    amount: int
    unit: Unit
    clock: Clock = Clock.BUSINESS

    def __post_init__(self) -> None:
        _count(self.amount, "a target amount")
        try:
            object.__setattr__(self, "unit", Unit(self.unit))
        except ValueError:
            raise ValueError(f"unit must be minutes, hours or days, not {self.unit!r}") from None
        try:
            object.__setattr__(self, "clock", Clock(self.clock))
        except ValueError:
            raise ValueError(f"clock must be business or calendar, not {self.clock!r}") from None

    def __str__(self) -> str:
        return f"{self.amount} {self.clock} {self.unit}"

    def deadline(self, calendar: ServiceHours, start: datetime) -> datetime:
        """The deadline of this norm for a clock started at `start`, ignoring pauses."""
        if self.unit is Unit.DAYS:
            return add_business_days(clock_calendar(calendar, self.clock), start, self.amount)
        minutes = self.amount * (60 if self.unit is Unit.HOURS else 1)
        if self.clock is Clock.CALENDAR:
            return add_calendar_time(start, minutes)
        return add_business_time(calendar, start, minutes)


def clock_calendar(calendar: ServiceHours, clock: Clock) -> ServiceHours:
    """The calendar a clock of kind `clock` runs on under the agreement's `calendar`."""
    if clock is Clock.CALENDAR:
        return ServiceHours.always(calendar.time_zone)
    return calendar


@dataclass(frozen=True)
class SlaClock:
    """The clock of one norm on one call: started at `start`, stopped during `pauses`.

    A pause is a (from, until) pair, until None while the call still waits on the requester. Only
    time the target's clock would have run counts as paused: a pause over a weekend holds back
    only the business hours of its Friday evening and Monday morning. Pauses may overlap and may
    begin before `start`; they are merged and clipped. Build a new clock (`with_target`, or with a
    calendar holding new holidays) to recompute: the elapsed time is derived from `start` and
    the pauses, so it survives reprioritisation.
    """

    calendar: ServiceHours
    start: datetime
    target: Target
    pauses: tuple[Pause, ...] = ()

    def __post_init__(self) -> None:
        start = _utc(self.start, "start")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "pauses", _merge_pauses(self.pauses, start))

    def with_target(self, target: Target) -> SlaClock:
        return replace(self, target=target)

    @cached_property
    def budget(self) -> timedelta:
        """The time on this clock the target allows, counted from `start`."""
        return business_time_between(self._clock_calendar, self.start, self._unpaused_deadline)

    @cached_property
    def deadline(self) -> datetime | None:
        """When the budget runs out, pauses included; None while an open pause holds it back."""
        if not self.pauses and type(self).budget is SlaClock.budget:
            # The earliest on-the-clock instant by which the target's budget has run from
            # `start` is where the target itself ends (its deadline is such an instant, and the
            # budget is measured up to it): no need to measure the budget and walk it out again.
            # A clock with a budget of its own (a share of the target's) walks it out.
            return self._unpaused_deadline
        cursor, remaining = self.start, self.budget
        for paused_from, paused_until in self.pauses:
            reached = add_business_duration(self._clock_calendar, cursor, remaining)
            if reached <= paused_from:
                return reached
            remaining -= business_time_between(self._clock_calendar, cursor, paused_from)
            if paused_until is None:
                return None
            cursor = paused_until
        return add_business_duration(self._clock_calendar, cursor, remaining)

    def elapsed(self, at: datetime) -> timedelta:
        """Time on this clock from `start` to `at`, paused time excluded."""
        at = _utc(at, "at")
        total = business_time_between(self._clock_calendar, self.start, at)
        for paused_from, paused_until in self.pauses:
            if paused_from >= at:
                break
            until = at if paused_until is None else min(paused_until, at)
            total -= business_time_between(self._clock_calendar, paused_from, until)
        return total

    def remaining(self, at: datetime) -> timedelta:
        """The budget left at `at`; negative once more time than allowed has run."""
        return self.budget - self.elapsed(at)

    def breached_at(self, at: datetime) -> datetime | None:
        """The instant the target was breached, if it was by `at`.

        A call settled at its deadline instant meets it; one settled later does not, even after
        closing time when no business time has run since: the deadline is a promise made in
        instants.
        """
        at = _utc(at, "at")
        if self.deadline is not None and at > self.deadline:
            return self.deadline
        return None

    @cached_property
    def _unpaused_deadline(self) -> datetime:
        return self.target.deadline(self.calendar, self.start)

    @cached_property
    def _clock_calendar(self) -> ServiceHours:
        return clock_calendar(self.calendar, self.target.clock)


def _service_day(calendar: ServiceHours, instant: datetime) -> date:
    """The date whose service hours hold the on-the-clock `instant` (its own date preferred)."""
    local = calendar.local_date(instant)
    for day in (local, local - _DAY, local + _DAY):
        if any(opens <= instant <= closes for opens, closes in calendar.intervals_on(day)):
            return day
    raise AssertionError(f"{instant} is not on the clock")


def _next_service_day(calendar: ServiceHours, day: date, step: int) -> date:
    day += step * _DAY
    while not calendar.intervals_on(day):
        day += step * _DAY
    return day


def _overlap(interval: Interval, start: datetime, end: datetime) -> timedelta:
    return max(min(interval[1], end) - max(interval[0], start), timedelta())


def _merge_pauses(pauses: Iterable[Pause], start: datetime) -> tuple[Pause, ...]:
    clipped: list[Pause] = []
    for pause in pauses:
        if not isinstance(pause, tuple | list) or len(pause) != 2:
            raise ValueError(f"a pause is a (from, until) pair, not {pause!r}")
        paused_from = _utc(pause[0], "a pause's start")
        paused_until = None if pause[1] is None else _utc(pause[1], "a pause's end")
        if paused_until is not None and paused_until < paused_from:
            raise ValueError(f"a pause ends ({paused_until}) before it starts ({paused_from})")
        if paused_until is not None and paused_until <= start:
            continue
        clipped.append((max(paused_from, start), paused_until))
    clipped.sort(key=lambda pause: pause[0])
    merged: list[Pause] = []
    for paused_from, paused_until in clipped:
        if merged and (merged[-1][1] is None or paused_from <= merged[-1][1]):
            previous_until = merged[-1][1]
            if previous_until is not None and (
                paused_until is None or paused_until > previous_until
            ):
                merged[-1] = (merged[-1][0], paused_until)
            continue
        merged.append((paused_from, paused_until))
    return tuple(merged)


def _utc(instant: datetime, what: str) -> datetime:
    if not isinstance(instant, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(instant).__name__}")
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} ({instant}) has no time zone; give an aware datetime")
    return instant.astimezone(UTC)


def _count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a whole number, not {value!r}")
    if value < 0:
        raise ValueError(f"{what} cannot be negative ({value})")
    return value
