"""Deadlines computed from real rows: an agreement, its norms and its calendar as stored.

Every expected instant was worked out by hand from the office calendar (Amsterdam, weekdays
08:00-12:00 and 13:00-17:00) or the calendar the test builds; the comments show the sum.
"""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from usm.agreements import queries, services
from usm.agreements.models import Calendar
from usm.organisation.models import Team

from .conftest import local, week

pytestmark = pytest.mark.django_db


def due(agreement, call_type, priority, opened_at, pauses=()):
    found = queries.deadlines(agreement, call_type, priority, opened_at, pauses)
    assert found is not None, "the agreement sets no norm for this"
    return found


def agreement_on(provider, customer, calendar: Calendar, norms: list[dict], code="sa-test"):
    return services.create_agreement(
        provider,
        "SA",
        code,
        code,
        customer=customer,
        calendar=calendar,
        valid_from=date(2020, 1, 1),
        norms=norms,
    )


def norm(priority, response, resolution, unit="hours", basis="business", call_type="incident"):
    return {
        "call_type": call_type,
        "priority": priority,
        "response": response,
        "resolution": resolution,
        "unit": unit,
        "basis": basis,
    }


# -- created outside service hours -------------------------------------------------------------------
def test_a_call_opened_on_saturday_counts_from_monday_morning(sa):
    # Sat 7 March: closed. Response 2 h = Mon 08:00-10:00. Resolution 8 h = Mon 08-12 and 13-17,
    # used up exactly at closing: it stays Monday 17:00, not Tuesday 08:00.
    found = due(sa, "incident", 1, local("2026-03-07 10:00"))
    assert found.response_due == local("2026-03-09 10:00")
    assert found.resolution_due == local("2026-03-09 17:00")


def test_a_call_opened_before_opening_counts_from_the_opening(sa):
    found = due(sa, "incident", 1, local("2026-03-10 06:15"))
    assert found.response_due == local("2026-03-10 10:00")


def test_a_call_opened_after_closing_counts_from_the_next_morning(sa):
    # Fri 13 March 18:00 -> Mon 16 March 08:00 + 2 h.
    found = due(sa, "incident", 1, local("2026-03-13 18:00"))
    assert found.response_due == local("2026-03-16 10:00")


# -- days versus hours -------------------------------------------------------------------------------
def test_business_days_are_the_same_time_n_service_days_later(sa):
    # P2 is 1 day / 3 days. From Tue 10:00: Wed 10:00 and Fri 10:00.
    found = due(sa, "incident", 2, local("2026-03-10 10:00"))
    assert found.response_due == local("2026-03-11 10:00")
    assert found.resolution_due == local("2026-03-13 10:00")


def test_a_day_is_not_24_business_hours(provider, customer, office):
    agreement = agreement_on(
        provider,
        customer,
        office,
        [norm(1, 1, 2, unit="days"), norm(2, 8, 24, unit="hours")],
    )
    opened = local("2026-03-10 10:00")  # a Tuesday
    days = due(agreement, "incident", 1, opened)
    hours = due(agreement, "incident", 2, opened)
    # 1 day: Wed 10:00. 8 h: Tue 10-12 (2) + 13-17 (4) + Wed 08-10 (2) = Wed 10:00 as well.
    assert days.response_due == hours.response_due == local("2026-03-11 10:00")
    # 2 days: Thu 10:00. 24 h: Tue 6 + Wed 8 + Thu 8 = 22, + Fri 08-10 = Fri 10:00.
    assert days.resolution_due == local("2026-03-12 10:00")
    assert hours.resolution_due == local("2026-03-13 10:00")


def test_a_call_opened_on_saturday_gets_the_whole_of_monday_as_its_first_day(sa):
    found = due(sa, "incident", 2, local("2026-03-07 10:00"))
    assert found.response_due == local("2026-03-09 17:00")
    assert found.resolution_due == local("2026-03-11 17:00")


def test_a_day_ending_on_a_short_day_ends_at_its_closing(sa, office):
    # Wed 11 March is a short day (08:00-12:00). Tue 15:00 + 1 day = Wed 15:00, when the service
    # is closed: the deadline is the last closing before it, Wed 12:00.
    services.update_calendar(
        office, exceptions=[{"date": "2026-03-11", "opens": "08:00", "closes": "12:00"}]
    )
    found = due(sa, "incident", 2, local("2026-03-10 15:00"))
    assert found.response_due == local("2026-03-11 12:00")


def test_calendar_days_ignore_service_hours_and_holidays(provider, customer, office):
    services.add_holiday(office, "2026-03-11")
    agreement = agreement_on(
        provider, customer, office, [norm(1, 1, 2, unit="days", basis="calendar")]
    )
    found = due(agreement, "incident", 1, local("2026-03-10 20:30"))
    assert found.response_due == local("2026-03-11 20:30")
    assert found.resolution_due == local("2026-03-12 20:30")


def test_calendar_hours_run_through_the_night(provider, customer, office):
    agreement = agreement_on(provider, customer, office, [norm(1, 4, 16, basis="calendar")])
    found = due(agreement, "incident", 1, local("2026-03-13 16:00"))
    assert found.response_due == local("2026-03-13 20:00")
    assert found.resolution_due == local("2026-03-14 08:00")


# -- pauses over a weekend and a holiday -------------------------------------------------------------
def test_a_pause_over_a_weekend_and_a_holiday_holds_only_business_time(sa, office):
    services.add_holiday(office, "2026-04-06", "Easter Monday")
    opened = local("2026-04-03 15:00")  # Good Friday, a working day here
    # Without a pause: resolution Fri 15-17 (2) + Tue 7 April 08-12 (4) + 13-15 (2) = Tue 15:00.
    assert due(sa, "incident", 1, opened).resolution_due == local("2026-04-07 15:00")
    # Waiting on the requester from Fri 16:00 to Tue 09:00. Response: 1 h before the pause, 1 h
    # after: Tue 10:00. Resolution: 1 h before, 7 h after: Tue 09-12 (3) + 13-17 (4) = Tue 17:00.
    pause = (local("2026-04-03 16:00"), local("2026-04-07 09:00"))
    found = due(sa, "incident", 1, opened, [pause])
    assert found.response_due == local("2026-04-07 10:00")
    assert found.resolution_due == local("2026-04-07 17:00")


def test_a_pause_inside_the_weekend_changes_nothing(sa):
    opened = local("2026-03-13 15:00")  # Friday
    weekend = (local("2026-03-14 10:00"), local("2026-03-15 20:00"))
    assert due(sa, "incident", 1, opened, [weekend]) == due(sa, "incident", 1, opened)
    # Response: Fri 15-17, used up at closing.
    assert due(sa, "incident", 1, opened).response_due == local("2026-03-13 17:00")


def test_a_pause_still_running_holds_the_deadlines(sa):
    opened = local("2026-03-10 10:00")
    found = due(sa, "incident", 1, opened, [(local("2026-03-10 11:00"), None)])
    assert found == (None, None)


# -- holidays added after the call was opened --------------------------------------------------------
def test_a_holiday_added_after_opening_moves_the_recomputed_deadline(sa, office):
    opened = local("2026-04-03 15:00")
    # Fri 15-17 (2) + Mon 6 April 08-12 (4) + 13-15 (2) = Mon 15:00.
    assert due(sa, "incident", 1, opened).resolution_due == local("2026-04-06 15:00")
    services.add_holiday(office, date(2026, 4, 6), "Easter Monday")
    assert due(sa, "incident", 1, opened).resolution_due == local("2026-04-07 15:00")
    services.remove_holiday(office.holidays.get())
    assert due(sa, "incident", 1, opened).resolution_due == local("2026-04-06 15:00")


# -- 24x7 and midnight -------------------------------------------------------------------------------
@pytest.fixture
def around_the_clock(provider, customer):
    calendar = services.create_calendar(provider, "24x7", time_zone="UTC", always_open=True)
    return agreement_on(
        provider,
        customer,
        calendar,
        [norm(1, 60, 120, unit="minutes"), norm(2, 1, 2, unit="days")],
        code="sa-24x7",
    )


def test_a_24x7_clock_runs_across_midnight(around_the_clock):
    found = due(around_the_clock, "incident", 1, datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    assert found.response_due == datetime(2026, 3, 11, 0, 30, tzinfo=UTC)
    assert found.resolution_due == datetime(2026, 3, 11, 1, 30, tzinfo=UTC)


def test_a_24x7_target_used_up_at_midnight_is_midnight(around_the_clock):
    found = due(around_the_clock, "incident", 1, datetime(2026, 3, 10, 23, 0, tzinfo=UTC))
    assert found.response_due == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)


def test_a_24x7_day_is_the_same_time_the_next_day(around_the_clock):
    found = due(around_the_clock, "incident", 2, datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    assert found.response_due == datetime(2026, 3, 11, 23, 30, tzinfo=UTC)
    assert found.resolution_due == datetime(2026, 3, 12, 23, 30, tzinfo=UTC)


def test_a_24x7_calendar_still_closes_on_its_holidays(around_the_clock):
    services.add_holiday(around_the_clock.calendar, "2026-12-25")
    # 30 minutes on the 24th, the 25th closed, 30 minutes from midnight on the 26th.
    found = due(around_the_clock, "incident", 1, datetime(2026, 12, 24, 23, 30, tzinfo=UTC))
    assert found.response_due == datetime(2026, 12, 26, 0, 30, tzinfo=UTC)


# -- daylight saving time in Amsterdam ---------------------------------------------------------------
def test_office_hours_across_the_spring_change(sa):
    # Fri 27 March 16:00 CET (15:00 UTC): 1 h on Friday, 1 h on Monday 30 March from 08:00 CEST,
    # so 09:00 CEST, which is 07:00 UTC (not 08:00 as it would be in winter).
    found = due(sa, "incident", 1, datetime(2026, 3, 27, 15, 0, tzinfo=UTC))
    assert found.response_due == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_a_day_across_the_spring_change_lasts_23_hours(provider, customer):
    calendar = services.create_calendar(
        provider, "Amsterdam 24x7", time_zone="Europe/Amsterdam", always_open=True
    )
    agreement = agreement_on(
        provider, customer, calendar, [norm(1, 24, 24), norm(2, 1, 1, unit="days")]
    )
    opened = local("2026-03-28 12:00")  # Saturday, 11:00 UTC; clocks go forward that night
    # One day: Sunday 12:00 CEST = 10:00 UTC, 23 hours later. 24 hours: 11:00 UTC = 13:00 CEST.
    assert due(agreement, "incident", 2, opened).response_due == datetime(
        2026, 3, 29, 10, 0, tzinfo=UTC
    )
    assert due(agreement, "incident", 1, opened).response_due == datetime(
        2026, 3, 29, 11, 0, tzinfo=UTC
    )


def test_a_calendar_day_across_the_autumn_change_lasts_25_hours(provider, customer, office):
    agreement = agreement_on(
        provider, customer, office, [norm(1, 1, 1, unit="days", basis="calendar")]
    )
    # Sat 24 October 12:00 CEST (10:00 UTC) -> Sun 25 October 12:00 CET (11:00 UTC).
    found = due(agreement, "incident", 1, datetime(2026, 10, 24, 10, 0, tzinfo=UTC))
    assert found.response_due == datetime(2026, 10, 25, 11, 0, tzinfo=UTC)


# -- calendars in zones other than UTC ---------------------------------------------------------------
def test_a_new_york_calendar_reads_opening_hours_in_new_york(provider, customer):
    calendar = services.create_calendar(
        provider,
        "New York",
        time_zone="America/New_York",
        opening_hours=week(0, 1, 2, 3, 4, hours=[("09:00", "17:00")]),
    )
    agreement = agreement_on(provider, customer, calendar, [norm(1, 1, 2)])
    # 12:30 UTC is 08:30 EDT, before opening: 09:00-10:00 EDT, i.e. 14:00 UTC (13:30 UTC if the
    # hours were read in UTC).
    found = due(agreement, "incident", 1, datetime(2026, 6, 1, 12, 30, tzinfo=UTC))
    assert found.response_due == datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    # Tue 02:00 UTC is still Monday 22:00 in New York: next opening Tuesday 09:00 EDT.
    found = due(agreement, "incident", 1, datetime(2026, 6, 2, 2, 0, tzinfo=UTC))
    assert found.response_due == datetime(2026, 6, 2, 14, 0, tzinfo=UTC)


def test_a_tokyo_calendar_closes_for_the_weekend_on_its_own_friday(provider, customer):
    calendar = services.create_calendar(
        provider,
        "Tokyo",
        time_zone="Asia/Tokyo",
        opening_hours=week(0, 1, 2, 3, 4, hours=[("09:00", "17:00")]),
    )
    agreement = agreement_on(provider, customer, calendar, [norm(1, 1, 2)])
    # Fri 5 June 07:30 UTC is 16:30 JST: 30 min on Friday, 30 min from Monday 09:00 JST, which is
    # Monday 8 June 00:30 UTC.
    found = due(agreement, "incident", 1, datetime(2026, 6, 5, 7, 30, tzinfo=UTC))
    assert found.response_due == datetime(2026, 6, 8, 0, 30, tzinfo=UTC)


# -- targets landing in the lunch gap ----------------------------------------------------------------
def test_a_target_used_up_at_lunch_is_due_before_lunch(sa):
    # Tue 10:00 + 2 h = 12:00, when the service closes for lunch; not 13:00.
    assert due(sa, "incident", 1, local("2026-03-10 10:00")).response_due == local(
        "2026-03-10 12:00"
    )


def test_a_target_running_past_lunch_resumes_after_it(provider, customer, office):
    agreement = agreement_on(provider, customer, office, [norm(1, 121, 240, unit="minutes")])
    found = due(agreement, "incident", 1, local("2026-03-10 10:00"))
    assert found.response_due == local("2026-03-10 13:01")
    # 240 min: 10-12 (120) + 13:00-15:00 (120).
    assert found.resolution_due == local("2026-03-10 15:00")


def test_a_call_opened_during_lunch_counts_from_13_00(sa):
    assert due(sa, "incident", 1, local("2026-03-10 12:30")).response_due == local(
        "2026-03-10 15:00"
    )


def test_a_day_from_lunch_ends_before_the_next_lunch(sa):
    # Opened in the gap: the clock starts at 13:00; one day later is Wed 13:00, which reads the
    # same on the business clock as Wed 12:00, the earlier instant.
    assert due(sa, "incident", 2, local("2026-03-10 12:30")).response_due == local(
        "2026-03-11 12:00"
    )


# -- what applies, and what does not ----------------------------------------------------------------
def test_no_norm_means_no_deadline(sa):
    assert queries.deadlines(sa, "wish", 1, local("2026-03-10 10:00")) is None
    assert queries.norm_for(sa, "incident", 1).resolution == 8


def test_an_opening_instant_without_zone_is_refused(sa):
    with pytest.raises(ValueError, match="aware"):
        queries.deadlines(sa, "incident", 1, datetime(2026, 3, 10, 10, 0))


def test_a_deadline_beyond_the_calendar_is_a_validation_error(around_the_clock):
    with pytest.raises(ValidationError) as refused:
        queries.deadlines(around_the_clock, "incident", 2, datetime(9999, 12, 31, 12, tzinfo=UTC))
    assert "opened_at" in refused.value.message_dict


def test_a_target_a_calendar_cannot_reach_in_ten_years_is_refused(provider, customer):
    calendar = services.create_calendar(
        provider,
        "Rarely",
        opening_hours=[{"weekday": 0, "opens": "08:00", "closes": "08:01"}],
    )
    agreement = agreement_on(provider, customer, calendar, [norm(1, 60, 8784)])
    with pytest.raises(ValidationError) as refused:
        queries.deadlines(agreement, "incident", 1, datetime(2026, 1, 5, tzinfo=UTC))
    assert "530 weeks" in refused.value.message_dict["calendar"][0]


def test_service_hours_are_built_from_the_rows(office, sa):
    services.add_holiday(office, "2026-12-25")
    hours = queries.service_hours(office)
    assert hours.time_zone == "Europe/Amsterdam"
    assert hours.intervals_on(date(2026, 12, 25)) == ()
    assert [(a.hour, b.hour) for a, b in hours.intervals_on(date(2026, 3, 10))] == [
        (7, 11),
        (12, 16),
    ]  # 08-12 and 13-17 CET, in UTC


# -- the agreement that applies to a call ------------------------------------------------------------
@pytest.fixture
def successor(provider, customer, mail, office):
    """A second SA for the same customer and service, for the second half of 2026."""
    return services.create_agreement(
        provider,
        "SA",
        "sa-city-h2",
        "City SA, second half",
        customer=customer,
        calendar=office,
        valid_from=date(2026, 7, 1),
        valid_until=date(2026, 12, 31),
        services=[mail],
    )


def test_the_agreement_that_started_latest_applies(sa, successor, customer, mail):
    assert queries.applicable_agreement(customer, mail, local("2026-03-01 12:00")) == sa
    assert queries.applicable_agreement(customer, mail, local("2026-07-01 12:00")) == successor
    assert queries.applicable_agreement(customer, mail, local("2027-01-05 12:00")) == sa
    assert queries.applicable_agreement(customer, mail, local("2025-12-31 12:00")) is None


def test_on_the_same_start_the_one_registered_last_applies(sa, successor, customer, mail):
    twin = services.create_agreement(
        sa.provider,
        "SA",
        "sa-city-h2b",
        "City SA, renegotiated",
        customer=customer,
        calendar=sa.calendar,
        valid_from=date(2026, 7, 1),
        services=[mail],
    )
    assert queries.applicable_agreement(customer, mail, local("2026-08-01 12:00")) == twin


def test_drafts_other_services_and_other_customers_do_not_apply(
    provider, sa, successor, customer, mail
):
    services.update_agreement(successor, 1, status="draft")
    assert queries.applicable_agreement(customer, mail, local("2026-08-01 12:00")) == sa
    other_service = services.create_service(provider, "print", "Printing", "Printers")
    assert queries.applicable_agreement(customer, other_service, local("2026-08-01 12:00")) is None
    other = services.create_agreement(
        provider,
        "OLA",
        "ola-net",
        "Network OLA",
        team=Team.objects.create(provider=provider, name="Net"),
        calendar=sa.calendar,
        valid_from=date(2026, 1, 1),
        services=[other_service],
    )
    assert other.kind == "OLA"
    assert queries.applicable_agreement(customer, other_service, local("2026-08-01 12:00")) is None


def test_validity_dates_are_read_in_the_agreements_own_zone(successor, customer, mail, sa):
    services.update_agreement(sa, 1, status="ended")
    # 1 July starts at 22:00 UTC on 30 June in Amsterdam (CEST).
    assert (
        queries.applicable_agreement(customer, mail, datetime(2026, 6, 30, 22, 30, tzinfo=UTC))
        == successor
    )
    assert (
        queries.applicable_agreement(customer, mail, datetime(2026, 6, 30, 21, 30, tzinfo=UTC))
        is None
    )
    # And ends at 23:00 UTC on 31 December (CET).
    assert (
        queries.applicable_agreement(customer, mail, datetime(2026, 12, 31, 22, 59, tzinfo=UTC))
        == successor
    )
    assert (
        queries.applicable_agreement(customer, mail, datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
        is None
    )
