"""Business-time arithmetic: hand-computed edge cases, then properties against a brute-force clock.

Expected instants are written in UTC on purpose: writing them in the calendar's zone would let a
wrong daylight-saving rule in the code and the same rule in the expectation agree.
"""

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from usm.engine import service_hours
from usm.engine.business_time import (
    Clock,
    SlaClock,
    Target,
    Unit,
    add_business_days,
    add_business_duration,
    add_business_time,
    add_calendar_days,
    add_calendar_time,
    business_minutes_between,
    business_time_between,
    clock_calendar,
)
from usm.engine.service_hours import WEEKDAYS, ServiceHours

AMS = ZoneInfo("Europe/Amsterdam")
NYC = ZoneInfo("America/New_York")
WORKDAYS = WEEKDAYS[:5]
SPLIT_DAY = [("08:00", "12:00"), ("13:00", "17:00")]


def ams(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=AMS)


def nyc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=NYC)


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def office(holidays=(), exceptions=None, zone="Europe/Amsterdam", extra=None) -> ServiceHours:
    """Mon–Fri 08:00–12:00 and 13:00–17:00: 8 hours a day, a lunch gap."""
    weekly = {day: SPLIT_DAY for day in WORKDAYS} | (extra or {})
    return ServiceHours(zone, weekly, holidays, exceptions)


def only_on(weekday: str, *intervals: tuple[str, str], zone="Europe/Amsterdam") -> ServiceHours:
    return ServiceHours(zone, {weekday: list(intervals)})


# March 2026 in Amsterdam is CET (UTC+1) until Sunday 29 March: Mon 2, Tue 3, ..., Sat 7, Mon 9.


class TestOutsideServiceHours:
    def test_a_call_opened_in_the_evening_counts_from_the_next_opening(self):
        assert add_business_time(office(), ams(2026, 3, 3, 19, 0), 60) == utc(2026, 3, 4, 8, 0)

    def test_a_call_opened_at_the_weekend_counts_from_monday_morning(self):
        assert add_business_time(office(), ams(2026, 3, 7, 10, 0), 30) == utc(2026, 3, 9, 7, 30)

    def test_a_call_opened_in_the_lunch_gap_counts_from_the_afternoon_opening(self):
        assert add_business_time(office(), ams(2026, 3, 2, 12, 20), 15) == utc(2026, 3, 2, 12, 15)

    def test_nothing_elapses_outside_service_hours(self):
        friday_evening, monday_morning = ams(2026, 3, 6, 17, 0), ams(2026, 3, 9, 8, 0)
        assert business_minutes_between(office(), friday_evening, monday_morning) == 0
        assert (
            business_minutes_between(office(), ams(2026, 3, 6, 16, 0), ams(2026, 3, 9, 9, 0)) == 120
        )

    def test_elapsed_time_is_zero_when_the_end_is_not_after_the_start(self):
        assert business_minutes_between(office(), ams(2026, 3, 3, 11), ams(2026, 3, 3, 10)) == 0


class TestClosingAndZero:
    def test_a_target_used_up_at_closing_time_stays_at_closing_time(self):
        assert add_business_time(office(), ams(2026, 3, 6, 16, 0), 60) == utc(2026, 3, 6, 16, 0)

    def test_one_more_minute_after_closing_is_the_first_minute_of_the_next_opening(self):
        assert add_business_time(office(), ams(2026, 3, 6, 16, 0), 61) == utc(2026, 3, 9, 7, 1)

    def test_a_whole_week_of_hours_from_the_weekend_ends_at_fridays_closing(self):
        assert add_business_time(office(), ams(2026, 3, 7, 10, 0), 40 * 60) == utc(2026, 3, 13, 16)

    def test_a_target_landing_on_the_lunch_break_stays_at_noon(self):
        assert add_business_time(office(), ams(2026, 3, 2, 11, 0), 60) == utc(2026, 3, 2, 11, 0)
        assert add_business_time(office(), ams(2026, 3, 2, 11, 0), 61) == utc(2026, 3, 2, 12, 1)

    def test_zero_minutes_from_outside_service_hours_is_the_next_opening(self):
        assert add_business_time(office(), ams(2026, 3, 3, 19, 0), 0) == utc(2026, 3, 4, 7, 0)
        assert add_business_time(office(), ams(2026, 3, 2, 12, 30), 0) == utc(2026, 3, 2, 12, 0)

    def test_zero_minutes_from_on_the_clock_is_the_start_itself(self):
        assert add_business_time(office(), ams(2026, 3, 2, 10, 15), 0) == utc(2026, 3, 2, 9, 15)
        assert add_business_time(office(), ams(2026, 3, 6, 17, 0), 0) == utc(2026, 3, 6, 16, 0)

    def test_zero_minutes_at_a_midnight_that_closes_the_previous_day_stays_there(self):
        friday_evening = only_on("friday", ("20:00", "24:00"))
        assert add_business_time(friday_evening, ams(2026, 3, 7, 0, 0), 0) == utc(2026, 3, 6, 23, 0)
        assert add_business_time(friday_evening, ams(2026, 3, 7, 0, 0), 1) == utc(
            2026, 3, 13, 19, 1
        )


class TestDaysAndHours:
    def test_a_business_day_is_the_same_time_on_the_next_service_day(self):
        assert add_business_days(office(), ams(2026, 3, 3, 10, 0), 1) == utc(2026, 3, 4, 9, 0)
        assert add_business_days(office(), ams(2026, 3, 6, 10, 0), 1) == utc(2026, 3, 9, 9, 0)
        assert add_business_days(office(), ams(2026, 3, 6, 10, 0), 5) == utc(2026, 3, 13, 9, 0)

    def test_days_and_hours_differ_when_a_short_day_intervenes(self):
        short_wednesday = office(exceptions={"2026-03-04": [("08:00", "12:00")]})
        tuesday_afternoon = ams(2026, 3, 3, 15, 0)
        # 2 hours on Tuesday, 4 on the short Wednesday, the last 2 on Thursday morning.
        hours = Target(8, Unit.HOURS).deadline(short_wednesday, tuesday_afternoon)
        assert hours == utc(2026, 3, 5, 9, 0)
        # Wednesday 15:00 is after the short day's closing, so the day ends at that closing.
        days = Target(1, Unit.DAYS).deadline(short_wednesday, tuesday_afternoon)
        assert days == utc(2026, 3, 4, 11, 0)

    def test_a_call_opened_at_the_opening_gets_that_whole_day(self):
        assert add_business_days(office(), ams(2026, 3, 2, 8, 0), 1) == utc(2026, 3, 2, 16, 0)
        assert add_business_days(office(), ams(2026, 3, 2, 8, 1), 1) == utc(2026, 3, 3, 7, 1)

    def test_a_call_opened_at_the_weekend_gets_monday(self):
        assert add_business_days(office(), ams(2026, 3, 7, 11, 0), 1) == utc(2026, 3, 9, 16, 0)

    def test_a_day_target_landing_in_the_lunch_gap_ends_at_noon(self):
        assert add_business_days(office(), ams(2026, 3, 2, 12, 30), 1) == utc(2026, 3, 3, 11, 0)

    def test_business_days_skip_holidays(self):
        tuesday_off = office(holidays=[date(2026, 3, 3)])
        assert add_business_days(tuesday_off, ams(2026, 3, 2, 14, 0), 2) == utc(
            2026, 3, 4 + 1, 13, 0
        )

    def test_a_day_on_a_shorter_saturday_is_clamped_to_its_hours(self):
        with_saturday = office(extra={"saturday": [("10:00", "14:00")]})
        friday = ams(2026, 3, 6, 16, 0)
        assert add_business_days(with_saturday, friday, 1) == utc(2026, 3, 7, 13, 0)
        # Saturday 09:00 is before its opening: the clock then reads as at Friday's closing.
        assert add_business_days(with_saturday, ams(2026, 3, 6, 9, 0), 1) == utc(2026, 3, 6, 16, 0)

    def test_zero_days_is_the_start_on_the_clock(self):
        assert add_business_days(office(), ams(2026, 3, 7, 11, 0), 0) == utc(2026, 3, 9, 7, 0)

    def test_calendar_time_ignores_service_hours(self):
        friday = ams(2026, 3, 6, 15, 0)
        assert Target(4, "hours", "calendar").deadline(office(), friday) == utc(2026, 3, 6, 18, 0)
        assert add_calendar_time(friday, 90) == utc(2026, 3, 6, 15, 30)

    def test_calendar_days_keep_the_wall_clock_across_a_clock_change(self):
        saturday_noon = ams(2026, 3, 28, 12, 0)
        assert add_calendar_days("Europe/Amsterdam", saturday_noon, 1) == utc(2026, 3, 29, 10, 0)
        target = Target(1, Unit.DAYS, Clock.CALENDAR)
        assert target.deadline(office(), saturday_noon) == utc(2026, 3, 29, 10, 0)
        assert Target(24, "hours", "calendar").deadline(office(), saturday_noon) == utc(
            2026, 3, 29, 11, 0
        )

    def test_a_target_reads_as_its_norm(self):
        assert str(Target(4, "hours")) == "4 business hours"

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ((-1, "hours"), "negative"),
            ((2, "weeks"), "minutes, hours or days"),
            ((2, "hours", "wall"), "business or calendar"),
        ],
    )
    def test_a_malformed_target_is_refused(self, fields, message):
        with pytest.raises(ValueError, match=message):
            Target(*fields)


class TestSlaClock:
    def test_a_pause_over_the_weekend_holds_back_only_its_business_hours(self):
        friday = ams(2026, 3, 6, 10, 0)
        unpaused = SlaClock(office(), friday, Target(8, "hours"))
        assert unpaused.deadline == utc(2026, 3, 9, 9, 0)
        # Waiting from Friday 16:00 to Monday 09:00 stops 1 hour on Friday and 1 on Monday.
        clock = SlaClock(
            office(), friday, Target(8, "hours"), [(ams(2026, 3, 6, 16, 0), ams(2026, 3, 9, 9, 0))]
        )
        assert clock.deadline == utc(2026, 3, 9, 11, 0)
        assert clock.elapsed(ams(2026, 3, 7, 12, 0)) == timedelta(hours=5)
        assert clock.remaining(ams(2026, 3, 9, 9, 0)) == timedelta(hours=3)
        assert clock.elapsed(ams(2026, 3, 9, 12, 0)) == timedelta(hours=8)

    def test_a_pause_over_a_holiday_holds_back_only_its_business_hours(self):
        wednesday_off = office(holidays=["2026-03-04"])
        tuesday = ams(2026, 3, 3, 9, 0)
        # Tuesday 7 h + Thursday 8 h + Friday 1 h without the pause.
        assert SlaClock(wednesday_off, tuesday, Target(16, "hours")).deadline == utc(
            2026, 3, 6, 8, 0
        )
        waiting = [(ams(2026, 3, 3, 16, 0), ams(2026, 3, 5, 9, 0))]
        clock = SlaClock(wednesday_off, tuesday, Target(16, "hours"), waiting)
        assert clock.deadline == utc(2026, 3, 6, 10, 0)

    def test_a_holiday_added_after_the_call_was_opened_moves_the_deadline(self):
        tuesday = ams(2026, 3, 3, 15, 0)
        before = SlaClock(office(), tuesday, Target(8, "hours"))
        assert before.deadline == utc(2026, 3, 4, 14, 0)
        after = SlaClock(office(holidays=["2026-03-04"]), tuesday, Target(8, "hours"))
        assert after.deadline == utc(2026, 3, 5, 14, 0)
        assert after.elapsed(ams(2026, 3, 4, 17, 0)) == before.elapsed(ams(2026, 3, 3, 17, 0))

    def test_reprioritisation_keeps_the_elapsed_time(self):
        monday = ams(2026, 3, 2, 9, 0)
        waiting = [(ams(2026, 3, 2, 11, 0), ams(2026, 3, 2, 14, 0))]
        low = SlaClock(office(), monday, Target(16, "hours"), waiting)
        tuesday_nine = ams(2026, 3, 3, 9, 0)
        # Monday 09–11 and 14–17, Tuesday 08–09.
        assert low.elapsed(tuesday_nine) == timedelta(hours=6)
        assert low.deadline == utc(2026, 3, 4, 10, 0)
        high = low.with_target(Target(8, "hours"))
        assert high.elapsed(tuesday_nine) == timedelta(hours=6)
        assert high.remaining(tuesday_nine) == timedelta(hours=2)
        assert high.deadline == utc(2026, 3, 3, 10, 0)

    def test_an_open_pause_stops_the_clock_until_it_ends(self):
        monday = ams(2026, 3, 2, 9, 0)
        clock = SlaClock(office(), monday, Target(4, "hours"), [(ams(2026, 3, 2, 10, 0), None)])
        assert clock.deadline is None
        assert clock.elapsed(ams(2026, 3, 4, 15, 0)) == timedelta(hours=1)
        assert clock.breached_at(ams(2026, 3, 20, 15, 0)) is None

    def test_a_target_used_up_before_an_open_pause_is_breached(self):
        monday = ams(2026, 3, 2, 9, 0)
        clock = SlaClock(office(), monday, Target(1, "hours"), [(ams(2026, 3, 2, 10, 30), None)])
        assert clock.deadline == utc(2026, 3, 2, 9, 0)
        assert clock.remaining(ams(2026, 3, 2, 11, 0)) == timedelta(minutes=-30)
        assert clock.breached_at(ams(2026, 3, 2, 11, 0)) == utc(2026, 3, 2, 9, 0)

    def test_a_pause_starting_as_the_budget_runs_out_does_not_move_the_deadline(self):
        monday = ams(2026, 3, 2, 9, 0)
        waiting = [(ams(2026, 3, 2, 10, 0), ams(2026, 3, 2, 11, 0))]
        clock = SlaClock(office(), monday, Target(1, "hours"), waiting)
        assert clock.deadline == utc(2026, 3, 2, 9, 0)

    def test_a_call_settled_at_the_deadline_meets_it_and_one_after_does_not(self):
        clock = SlaClock(office(), ams(2026, 3, 6, 16, 0), Target(1, "hours"))
        assert clock.deadline == utc(2026, 3, 6, 16, 0)
        assert clock.breached_at(ams(2026, 3, 6, 17, 0)) is None
        # After closing no business time runs, but the promised instant has passed.
        assert clock.breached_at(ams(2026, 3, 6, 17, 30)) == utc(2026, 3, 6, 16, 0)
        assert clock.remaining(ams(2026, 3, 6, 17, 30)) == timedelta()

    def test_overlapping_pauses_and_pauses_before_the_start_count_once(self):
        monday = ams(2026, 3, 2, 9, 0)
        waiting = [
            (ams(2026, 3, 2, 9, 30), ams(2026, 3, 2, 11, 0)),
            (ams(2026, 3, 2, 7, 0), ams(2026, 3, 2, 10, 0)),
            (ams(2026, 3, 1, 7, 0), ams(2026, 3, 1, 10, 0)),
        ]
        clock = SlaClock(office(), monday, Target(2, "hours"), waiting)
        assert clock.pauses == ((utc(2026, 3, 2, 8, 0), utc(2026, 3, 2, 10, 0)),)
        assert clock.deadline == utc(2026, 3, 2, 13, 0)

    def test_a_calendar_time_norm_pauses_in_calendar_time(self):
        friday = ams(2026, 3, 6, 15, 0)
        waiting = [(ams(2026, 3, 6, 16, 0), ams(2026, 3, 6, 17, 30))]
        clock = SlaClock(office(), friday, Target(4, "hours", "calendar"), waiting)
        assert clock.deadline == utc(2026, 3, 6, 19, 30)

    def test_a_business_day_norm_moves_by_the_paused_business_time(self):
        tuesday = ams(2026, 3, 3, 10, 0)
        waiting = [(ams(2026, 3, 3, 16, 0), ams(2026, 3, 4, 9, 0))]
        clock = SlaClock(office(), tuesday, Target(1, "days"), waiting)
        assert clock.budget == timedelta(hours=8)
        assert clock.deadline == utc(2026, 3, 4, 11, 0)

    def test_a_pause_ending_before_it_starts_is_refused(self):
        with pytest.raises(ValueError, match="before it starts"):
            SlaClock(
                office(),
                ams(2026, 3, 2, 9),
                Target(1, "hours"),
                [(ams(2026, 3, 2, 11), ams(2026, 3, 2, 10))],
            )


class TestMidnightOnTwentyFourSeven:
    def test_crossing_midnight_changes_the_date_and_loses_nothing(self):
        always = ServiceHours.always("Europe/Amsterdam")
        late = ams(2026, 3, 3, 23, 30)
        assert add_business_time(always, late, 30) == utc(2026, 3, 3, 23, 0)
        assert add_business_time(always, late, 45) == utc(2026, 3, 3, 23, 15)
        assert business_minutes_between(always, late, ams(2026, 3, 4, 0, 30)) == 60
        assert add_business_time(always, ams(2026, 3, 4, 0, 0), 0) == utc(2026, 3, 3, 23, 0)

    def test_a_holiday_stops_even_a_twenty_four_seven_clock(self):
        always = ServiceHours.always("UTC", holidays=["2026-03-04"])
        assert add_business_time(always, utc(2026, 3, 3, 23, 30), 60) == utc(2026, 3, 5, 0, 30)

    def test_a_day_on_twenty_four_seven_is_a_calendar_day(self):
        always = ServiceHours.always("Europe/Amsterdam")
        assert add_business_days(always, ams(2026, 3, 2, 0, 0), 1) == utc(2026, 3, 2, 23, 0)
        assert add_business_days(always, ams(2026, 3, 2, 23, 30), 1) == utc(2026, 3, 3, 22, 30)

    def test_a_night_shift_runs_through_midnight(self):
        nights = ServiceHours(
            "America/New_York",
            {day: [("22:00", "24:00")] for day in WORKDAYS}
            | {day: [("00:00", "06:00")] for day in WEEKDAYS[1:6]},
        )
        monday_late = nyc(2026, 3, 2, 23, 0)
        assert add_business_time(nights, monday_late, 60) == utc(2026, 3, 3, 5, 0)
        assert add_business_time(nights, monday_late, 120) == utc(2026, 3, 3, 6, 0)
        saturday = nyc(2026, 3, 7, 5, 0)
        assert add_business_time(nights, saturday, 60) == utc(2026, 3, 7, 11, 0)
        # Next shift: Monday 9 March 22:00, already daylight-saving time (UTC-4).
        assert add_business_time(nights, saturday, 61) == utc(2026, 3, 10, 2, 1)


class TestDaylightSavingTime:
    # Europe/Amsterdam: 2026-03-29 02:00 CET -> 03:00 CEST and 2026-10-25 03:00 CEST -> 02:00 CET,
    # both at 01:00 UTC. America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC) and
    # 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC).

    @pytest.mark.parametrize(
        ("zone", "start", "end", "minutes"),
        [
            ("Europe/Amsterdam", utc(2026, 3, 28, 11), utc(2026, 3, 29, 10), 23 * 60),
            ("Europe/Amsterdam", utc(2026, 10, 24, 10), utc(2026, 10, 25, 11), 25 * 60),
            ("America/New_York", utc(2026, 3, 7, 17), utc(2026, 3, 8, 16), 23 * 60),
            ("America/New_York", utc(2026, 10, 31, 16), utc(2026, 11, 1, 17), 25 * 60),
        ],
    )
    def test_noon_to_noon_across_a_change_is_its_real_length(self, zone, start, end, minutes):
        always = ServiceHours.always(zone)
        assert business_minutes_between(always, start, end) == minutes
        assert add_business_time(always, start, minutes) == end
        assert add_calendar_days(zone, start, 1) == end

    @pytest.mark.parametrize(
        ("zone", "day", "interval"),
        [
            ("Europe/Amsterdam", date(2026, 3, 29), (utc(2026, 3, 28, 23), utc(2026, 3, 29, 4))),
            ("Europe/Amsterdam", date(2026, 10, 25), (utc(2026, 10, 24, 22), utc(2026, 10, 25, 5))),
            ("America/New_York", date(2026, 3, 8), (utc(2026, 3, 8, 5), utc(2026, 3, 8, 10))),
            ("America/New_York", date(2026, 11, 1), (utc(2026, 11, 1, 4), utc(2026, 11, 1, 11))),
        ],
    )
    def test_a_night_shift_over_a_change_lasts_what_the_clock_says(self, zone, day, interval):
        sunday_night = only_on("sunday", ("00:00", "06:00"), zone=zone)
        assert sunday_night.intervals_on(day) == (interval,)

    def test_a_target_during_the_spring_forward_night_reads_on_the_wall_clock(self):
        sunday_night = only_on("sunday", ("00:00", "06:00"))
        midnight = ams(2026, 3, 29, 0, 0)
        assert add_business_time(sunday_night, midnight, 240) == utc(2026, 3, 29, 3, 0)
        assert add_business_time(sunday_night, midnight, 300) == utc(2026, 3, 29, 4, 0)
        assert add_business_time(sunday_night, midnight, 301) == utc(2026, 4, 4, 22, 1)

    def test_an_opening_time_the_clock_skips_opens_at_the_jump(self):
        late_opening = only_on("sunday", ("02:30", "04:00"))
        assert late_opening.intervals_on(date(2026, 3, 29)) == (
            (utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0)),
        )
        assert late_opening.intervals_on(date(2026, 3, 22)) == (
            (utc(2026, 3, 22, 1, 30), utc(2026, 3, 22, 3, 0)),
        )

    def test_a_closing_time_the_clock_skips_closes_at_the_jump(self):
        early_closing = only_on("sunday", ("00:00", "02:30"))
        assert early_closing.intervals_on(date(2026, 3, 29)) == (
            (utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 1, 0)),
        )

    def test_an_interval_the_clock_skips_entirely_has_no_service_time(self):
        skipped = only_on("sunday", ("02:10", "02:50"), ("10:00", "11:00"))
        saturday = ams(2026, 3, 28, 12, 0)
        assert add_business_time(skipped, saturday, 10) == utc(2026, 3, 29, 8, 10)
        assert business_minutes_between(skipped, saturday, ams(2026, 3, 30, 0, 0)) == 60

    def test_an_interval_in_the_repeated_hour_counts_once(self):
        repeated = only_on("sunday", ("02:00", "02:30"))
        assert repeated.intervals_on(date(2026, 10, 25)) == (
            (utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30)),
        )
        assert (
            business_minutes_between(repeated, utc(2026, 10, 24, 0, 0), utc(2026, 10, 26, 0, 0))
            == 30
        )

    def test_an_interval_ending_after_the_repeated_hour_includes_it(self):
        straddling = only_on("sunday", ("02:30", "03:30"))
        assert straddling.intervals_on(date(2026, 10, 25)) == (
            (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30)),
        )
        start = ams(2026, 10, 25, 2, 30)  # the first 02:30, CEST
        assert add_business_time(straddling, start, 90) == utc(2026, 10, 25, 2, 0)

    def test_office_hours_are_untouched_by_a_night_change(self):
        friday = ams(2026, 3, 27, 16, 0)
        assert add_business_time(office(), friday, 120) == utc(2026, 3, 30, 7, 0)
        ny_office = ServiceHours("America/New_York", {d: [("09:00", "17:00")] for d in WORKDAYS})
        assert add_business_time(ny_office, nyc(2026, 3, 6, 16, 0), 120) == utc(2026, 3, 9, 14, 0)


@pytest.fixture(params=["Pacific/Kiritimati", "America/Los_Angeles"])
def server_zone(request, monkeypatch):
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield ZoneInfo(request.param)
    monkeypatch.undo()
    time.tzset()


def test_the_servers_time_zone_plays_no_part(server_zone):
    now = datetime.now(UTC)
    assert datetime.now().astimezone().utcoffset() == now.astimezone(server_zone).utcoffset()
    assert add_business_time(office(), ams(2026, 3, 3, 19, 0), 60) == utc(2026, 3, 4, 8, 0)
    assert add_business_days(office(), ams(2026, 3, 7, 11, 0), 1) == utc(2026, 3, 9, 16, 0)
    sunday_night = only_on("sunday", ("00:00", "06:00"))
    assert add_business_time(sunday_night, ams(2026, 10, 25, 0, 0), 420) == utc(2026, 10, 25, 5)
    nights = only_on("friday", ("20:00", "24:00"))
    assert add_business_time(nights, ams(2026, 3, 7, 0, 0), 0) == utc(2026, 3, 6, 23, 0)


class _CountingServiceHours(ServiceHours):
    __slots__ = ("days_walked",)

    def intervals_on(self, day):
        self.days_walked += 1
        return super().intervals_on(day)


def test_ten_thousand_business_hours_jump_by_whole_weeks():
    calendar = _CountingServiceHours("Europe/Amsterdam", {d: SPLIT_DAY for d in WORKDAYS})
    calendar.days_walked = 0
    monday = ams(2026, 1, 5, 8, 0)
    # 10,000 hours at 40 a week is exactly 250 weeks: the 250th Friday's closing (CEST, UTC+2).
    deadline = add_business_time(calendar, monday, 10_000 * 60)
    assert deadline == utc(2030, 10, 18, 15, 0)
    assert calendar.days_walked < 50
    calendar.days_walked = 0
    assert business_minutes_between(calendar, monday, deadline) == 600_000
    assert calendar.days_walked < 50


class TestCalendarInput:
    def test_plain_data_builds_the_same_calendar_as_keywords(self):
        data = {
            "time_zone": "Europe/Amsterdam",
            "weekly": {0: [["08:00", "12:00"]], "TUE": [["08:00", "12:00"]]},
            "holidays": ["2026-03-03"],
            "exceptions": {"2026-03-07": [["10:00", "11:00"]]},
        }
        calendar = ServiceHours.from_data(data)
        assert calendar.intervals_on(date(2026, 3, 2)) == (
            (utc(2026, 3, 2, 7), utc(2026, 3, 2, 11)),
        )
        assert calendar.intervals_on(date(2026, 3, 3)) == ()
        assert calendar.intervals_on(date(2026, 3, 7)) == (
            (utc(2026, 3, 7, 9), utc(2026, 3, 7, 10)),
        )

    def test_an_end_of_midnight_means_the_end_of_the_day(self):
        evening = ServiceHours("UTC", {"monday": [(time_of_day(18, 0), time_of_day(0, 0))]})
        assert evening.intervals_on(date(2026, 3, 2)) == ((utc(2026, 3, 2, 18), utc(2026, 3, 3)),)

    def test_touching_intervals_are_one_opening(self):
        joined = ServiceHours("UTC", {"monday": [("12:00", "13:00"), ("08:00", "12:00")]})
        assert joined.intervals_on(date(2026, 3, 2)) == ((utc(2026, 3, 2, 8), utc(2026, 3, 2, 13)),)
        assert add_business_time(joined, utc(2026, 3, 2, 11), 60) == utc(2026, 3, 2, 12)

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (("Europe/Amstredam", {"mon": SPLIT_DAY}), "unknown time zone 'Europe/Amstredam'"),
            (("UTC", {"mon": [("17:00", "08:00")]}), "monday: 17:00–08:00 ends before it starts"),
            (("UTC", {"mon": [("09:00", "09:00")]}), "ends before it starts"),
            (
                ("UTC", {"mon": [("08:00", "12:00"), ("11:00", "13:00")]}),
                "08:00–12:00 and 11:00–13:00 overlap",
            ),
            (("UTC", {"blursday": SPLIT_DAY}), "'blursday' is not a weekday"),
            (("UTC", {"mon": SPLIT_DAY, "monday": SPLIT_DAY}), "monday: given twice"),
            (("UTC", {"mon": [("8 am", "12:00")]}), "'8 am' is not a time of day"),
            (("UTC", {"mon": [("08:00", "24:30")]}), "'24:30' is not a time of day"),
            (("UTC", {"mon": ["08:00"]}), "not a \\(start, end\\) pair"),
            (("UTC", {"sat": []}), "the week has no service hours"),
            (("UTC", {"mon": SPLIT_DAY}, ["2026-02-30"]), "holiday '2026-02-30' is not a date"),
            (
                ("UTC", {"mon": SPLIT_DAY}, ["2026-03-02"], {"2026-03-02": SPLIT_DAY}),
                "2026-03-02 is both a holiday and an exception",
            ),
            (
                ("UTC", {"mon": SPLIT_DAY}, (), {"2026-03-02": [("13:00", "12:00")]}),
                "exception 2026-03-02",
            ),
        ],
    )
    def test_invalid_calendars_are_refused_with_a_clear_message(self, arguments, message):
        with pytest.raises(ValueError, match=message):
            ServiceHours(*arguments)

    def test_unknown_fields_in_plain_data_are_refused(self):
        with pytest.raises(ValueError, match="unknown service-hours field"):
            ServiceHours.from_data({"time_zone": "UTC", "weekly": {"mon": SPLIT_DAY}, "hours": 8})

    def test_naive_instants_and_negative_amounts_are_refused(self):
        with pytest.raises(ValueError, match="no time zone"):
            add_business_time(office(), datetime(2026, 3, 2, 9), 10)
        with pytest.raises(ValueError, match="negative"):
            add_business_time(office(), ams(2026, 3, 2, 9), -10)


# Properties. Calendars are drawn at random; instants cluster around daylight-saving changes
# (including Lord Howe's half-hour one) so that the odd days are actually exercised.

ZONES = ["UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
CHANGES = [
    utc(2026, 3, 8, 7),
    utc(2026, 3, 29, 1),
    utc(2026, 4, 4, 15),
    utc(2026, 10, 3, 16),
    utc(2026, 10, 25, 1),
    utc(2026, 11, 1, 6),
]
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _wall_points(avoid_changes: bool):
    # Opening times between 01:00 and 03:00 are where the zones above change their clocks; the
    # brute-force clock reads wall time only, so it cannot say which of two 02:30s is meant.
    allowed = [m for m in range(0, 24 * 60 + 1, 30) if not (avoid_changes and 60 <= m <= 180)]
    return st.sampled_from(allowed)


@st.composite
def day_hours(draw, avoid_changes: bool):
    count = draw(st.integers(0, 2))
    points = sorted(
        draw(st.sets(_wall_points(avoid_changes), min_size=2 * count, max_size=2 * count))
    )
    return [
        (f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}")
        for a, b in zip(points[::2], points[1::2], strict=True)
    ]


@st.composite
def calendars(draw, avoid_changes: bool = False):
    zone = draw(st.sampled_from(ZONES))
    weekly = {day: draw(day_hours(avoid_changes)) for day in WEEKDAYS}
    assume(any(weekly.values()))
    dates = st.dates(date(2026, 2, 20), date(2026, 11, 20))
    holidays = draw(st.sets(dates, max_size=6))
    exception_days = draw(st.sets(dates, max_size=4).map(lambda days: days - holidays))
    exceptions = {day: draw(day_hours(avoid_changes)) for day in exception_days}
    data = {"time_zone": zone, "weekly": weekly, "holidays": holidays, "exceptions": exceptions}
    return data, ServiceHours.from_data(data)


near_changes = st.builds(
    lambda change, minutes: change + timedelta(minutes=minutes),
    st.sampled_from(CHANGES),
    st.integers(-6 * 24 * 60, 6 * 24 * 60),
)
anywhere = st.datetimes(datetime(2026, 2, 25), datetime(2026, 11, 15), timezones=st.just(UTC))
instants = st.one_of(near_changes, anywhere)
minutes = st.integers(0, 12_000)


@FAST
@given(calendars(), instants, minutes)
def test_adding_then_measuring_gives_back_the_minutes(drawn, start, amount):
    _, calendar = drawn
    deadline = add_business_time(calendar, start, amount)
    assert business_time_between(calendar, start, deadline) == timedelta(minutes=amount)
    if amount:
        assert business_time_between(calendar, start, deadline - timedelta(microseconds=1)) < (
            timedelta(minutes=amount)
        )


@FAST
@given(calendars(), instants, minutes, minutes)
def test_adding_is_monotonic_and_additive(drawn, start, a, b):
    _, calendar = drawn
    first = add_business_time(calendar, start, a)
    assert add_business_time(calendar, start, min(a, b)) <= add_business_time(
        calendar, start, max(a, b)
    )
    assert add_business_time(calendar, first, b) == add_business_time(calendar, start, a + b)


@FAST
@given(calendars(), instants, minutes)
def test_a_deadline_is_always_on_the_clock(drawn, start, amount):
    _, calendar = drawn
    deadline = add_business_time(calendar, start, amount)
    day = calendar.local_date(deadline)
    intervals = [i for d in (day - timedelta(days=1), day) for i in calendar.intervals_on(d)]
    assert any(opens <= deadline <= closes for opens, closes in intervals)
    assert deadline >= start


@FAST
@given(calendars(), instants, st.integers(0, 30 * 24 * 60), st.integers(0, 30 * 24 * 60))
def test_elapsed_time_adds_up_over_split_points(drawn, start, first, second):
    _, calendar = drawn
    middle = start + timedelta(minutes=first)
    end = middle + timedelta(minutes=second)
    whole = business_time_between(calendar, start, end)
    assert whole == business_time_between(calendar, start, middle) + business_time_between(
        calendar, middle, end
    )
    assert timedelta() <= whole <= end - start


@FAST
@given(st.sampled_from(ZONES), instants, minutes)
def test_twenty_four_seven_is_plain_elapsed_time(zone, start, amount):
    always = ServiceHours.always(zone)
    # Python adds to a local datetime on its wall clock, so the plain sum is taken in UTC.
    end = start + timedelta(minutes=amount)
    local_start = start.astimezone(ZoneInfo(zone))
    assert add_business_time(always, local_start, amount) == end
    assert business_time_between(always, local_start, end) == end - start


@FAST
@given(calendars(), instants, st.integers(0, 40), st.integers(0, 40))
def test_business_days_are_monotonic_and_on_the_clock(drawn, start, a, b):
    _, calendar = drawn
    low, high = sorted((a, b))
    earlier, later = (
        add_business_days(calendar, start, low),
        add_business_days(calendar, start, high),
    )
    assert start <= earlier <= later
    assert add_business_duration(calendar, later, timedelta()) == later


@FAST
@given(
    calendars(),
    instants,
    st.integers(0, 3000),
    st.lists(st.tuples(st.integers(-600, 8000), st.integers(0, 3000)), max_size=3),
)
def test_a_clock_used_up_at_its_deadline_has_run_its_budget(drawn, start, amount, pauses):
    _, calendar = drawn
    waiting = [
        (start + timedelta(minutes=offset), start + timedelta(minutes=offset + length))
        for offset, length in pauses
    ]
    clock = SlaClock(calendar, start, Target(amount, "minutes"), waiting)
    assert clock.budget == timedelta(minutes=amount)
    assert clock.elapsed(clock.deadline) == clock.budget
    assert clock.remaining(clock.deadline) == timedelta()
    if amount:
        assert clock.elapsed(clock.deadline - timedelta(microseconds=1)) < clock.budget


@FAST
@given(
    calendars(),
    instants,
    st.integers(0, 3000),
    st.sampled_from(list(Unit)),
    st.sampled_from(list(Clock)),
)
def test_a_clock_without_pauses_ends_where_its_budget_walked_out_does(
    drawn, start, amount, unit, clock
):
    _, calendar = drawn
    target = Target(amount if unit is Unit.MINUTES else amount // 60, unit, clock)
    sla = SlaClock(calendar, start, target)
    walked = add_business_duration(clock_calendar(calendar, clock), start, sla.budget)
    assert sla.deadline == walked == target.deadline(calendar, start)


def test_a_clock_with_a_budget_of_its_own_runs_out_when_that_budget_has_run():
    class HalfClock(SlaClock):
        @property
        def budget(self):
            return SlaClock.budget.func(self) / 2

    monday = ams(2026, 3, 2, 8)  # at the opening
    assert HalfClock(office(), monday, Target(4, "hours")).deadline == ams(2026, 3, 2, 10)
    assert SlaClock(office(), monday, Target(4, "hours")).deadline == ams(2026, 3, 2, 12)


@FAST
@given(calendars(), instants, minutes)
def test_a_calendar_answers_the_same_from_what_it_kept_and_after_forgetting_it(
    drawn, start, amount
):
    raw, calendar = drawn
    fresh = ServiceHours.from_data(raw)
    expected = add_business_time(fresh, start, amount)
    assert add_business_time(calendar, start, amount) == expected  # worked out, then kept
    assert add_business_time(calendar, start, amount) == expected  # from what was kept
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service_hours, "_KEPT_DAYS", 3)  # forgets every few dates
        assert add_business_time(calendar, start, amount) == expected


def _brute_force_open_minutes(data, start: datetime, span: int) -> list[datetime]:
    """The starts of the open minutes in [start, start + span), read off the wall clock minute by
    minute from the raw calendar data (an independent reading of the same rules)."""
    zone = ZoneInfo(data["time_zone"])
    weekly = {WEEKDAYS.index(day): hours for day, hours in data["weekly"].items()}

    def minute_of(clock: str) -> int:
        return int(clock[:2]) * 60 + int(clock[3:])

    opened = []
    for step in range(span):
        instant = start + timedelta(minutes=step)
        wall = instant.astimezone(zone)
        day = wall.date()
        if day in data["holidays"]:
            continue
        hours = data["exceptions"].get(day, weekly[day.weekday()])
        now = wall.hour * 60 + wall.minute
        if any(minute_of(a) <= now < minute_of(b) for a, b in hours):
            opened.append(instant)
    return opened


@settings(max_examples=60, deadline=None)
@given(
    calendars(avoid_changes=True),
    instants.map(lambda i: i.replace(second=0, microsecond=0)),
    st.integers(0, 4 * 24 * 60),
    st.data(),
)
def test_arithmetic_agrees_with_a_minute_by_minute_clock(drawn, start, span, data):
    raw, calendar = drawn
    opened = _brute_force_open_minutes(raw, start, span)
    end = start + timedelta(minutes=span)
    assert business_minutes_between(calendar, start, end) == len(opened)
    if opened:
        nth = data.draw(st.integers(1, len(opened)))
        assert add_business_time(calendar, start, nth) == opened[nth - 1] + timedelta(minutes=1)
