"""The agreements services: what they refuse (and what the database refuses on its own), the
version guard, and how calendars and norms are replaced or edited."""

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from usm.agreements import services
from usm.agreements.models import Agreement, Calendar, Norm
from usm.conflicts import StaleUpdate
from usm.organisation.models import Customer

from .conftest import week

pytestmark = pytest.mark.django_db


def errors_of(excinfo) -> dict[str, str]:
    return {field: " | ".join(messages) for field, messages in excinfo.value.message_dict.items()}


def new_agreement(provider, office, **fields):
    values = {
        "kind": "SA",
        "code": "sa-x",
        "name": "X",
        "calendar": office,
        "valid_from": date(2026, 1, 1),
    }
    values.update(fields)
    return services.create_agreement(provider, **values)


# -- agreements: the party fits the kind, the period runs forward -----------------------------------
def test_an_sa_without_customer_is_refused_by_the_service(provider, office):
    with pytest.raises(ValidationError) as refused:
        new_agreement(provider, office)
    assert errors_of(refused)["customer"] == "a service agreement is made with a customer"
    assert not Agreement.objects.exists()


def test_an_sa_without_customer_is_refused_by_the_database(provider, office):
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.create(
            provider=provider,
            kind="SA",
            code="sa-x",
            name="X",
            calendar=office,
            valid_from=date(2026, 1, 1),
        )


def test_an_sa_with_a_team_as_well_is_refused_by_the_database(provider, office, customer, team):
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.create(
            provider=provider,
            kind="SA",
            code="sa-x",
            name="X",
            customer=customer,
            team=team,
            calendar=office,
            valid_from=date(2026, 1, 1),
        )


def test_a_uc_with_an_internal_team_is_refused(provider, office, team, supplier):
    with pytest.raises(ValidationError) as refused:
        new_agreement(provider, office, kind="UC", code="uc-x", team=team)
    assert "external supplier" in errors_of(refused)["team"]
    uc = new_agreement(provider, office, kind="UC", code="uc-x", team=supplier)
    assert uc.team == supplier


def test_an_ola_with_a_supplier_is_refused(provider, office, supplier, team):
    with pytest.raises(ValidationError) as refused:
        new_agreement(provider, office, kind="OLA", code="ola-x", team=supplier)
    assert "internal solution team" in errors_of(refused)["team"]
    assert new_agreement(provider, office, kind="OLA", code="ola-x", team=team).kind == "OLA"


def test_a_uc_with_a_customer_is_refused_by_the_database(provider, office, customer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.create(
            provider=provider,
            kind="UC",
            code="uc-x",
            name="X",
            customer=customer,
            calendar=office,
            valid_from=date(2026, 1, 1),
        )


def test_an_agreement_ending_before_it_starts_is_refused_by_the_service(provider, office, customer):
    with pytest.raises(ValidationError) as refused:
        new_agreement(provider, office, customer=customer, valid_until=date(2025, 12, 31))
    assert errors_of(refused) == {"valid_until": "ends before it starts"}


def test_an_agreement_ending_before_it_starts_is_refused_by_the_database(
    provider, office, customer
):
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.create(
            provider=provider,
            kind="SA",
            code="sa-x",
            name="X",
            customer=customer,
            calendar=office,
            valid_from=date(2026, 1, 1),
            valid_until=date(2025, 12, 31),
        )
    # A one-day agreement is a period, not an error.
    one_day = new_agreement(provider, office, customer=customer, valid_until=date(2026, 1, 1))
    assert one_day.valid_until == one_day.valid_from


def test_every_row_an_agreement_names_is_the_providers_own(provider, other_provider, office, mail):
    theirs = Customer.objects.create(provider=other_provider, code="c", name="Theirs")
    their_calendar = services.create_calendar(other_provider, "Theirs", always_open=True)
    their_service = services.create_service(other_provider, "svc", "Theirs", "x")
    with pytest.raises(ValidationError) as refused:
        new_agreement(
            provider,
            their_calendar,
            customer=theirs,
            services=[mail, their_service],
        )
    found = errors_of(refused)
    assert found["customer"] == "belongs to another provider"
    assert found["calendar"] == "belongs to another provider"
    assert found["services"] == "belong to another provider: Theirs"


def test_agreement_codes_are_unique_per_provider(provider, office, customer, sa):
    with pytest.raises(ValidationError) as refused:
        new_agreement(provider, office, customer=customer, code="sa-city")
    assert errors_of(refused) == {"code": "there is already a agreement 'sa-city'"}


# -- the version guard -------------------------------------------------------------------------------
def test_an_update_names_the_version_it_read(sa):
    assert sa.version == 1
    services.update_agreement(sa, 1, name="City SA 2026")
    assert Agreement.objects.get(pk=sa.pk).version == 2

    stale = Agreement.objects.get(pk=sa.pk)
    with pytest.raises(StaleUpdate) as refused:
        services.update_agreement(stale, 1, name="Lost update")
    assert refused.value.current_version == 2
    assert refused.value.current["name"] == "City SA 2026"
    assert Agreement.objects.get(pk=sa.pk).name == "City SA 2026"


def test_replacing_norms_is_a_new_version_and_keeps_unchanged_norms(sa):
    kept = Norm.objects.get(agreement=sa, call_type="incident", priority=1)
    services.update_agreement(
        sa,
        1,
        norms=[
            {"call_type": "incident", "priority": 1, "response": 1, "resolution": 4},
            {"call_type": "wish", "priority": 3, "response": 5, "resolution": 10, "unit": "days"},
        ],
    )
    norms = {(n.call_type, n.priority): n for n in Norm.objects.filter(agreement=sa)}
    assert set(norms) == {("incident", 1), ("wish", 3)}
    assert norms["incident", 1].pk == kept.pk and norms["incident", 1].response == 1
    assert Agreement.objects.get(pk=sa.pk).version == 2


def test_an_update_cannot_change_the_provider(sa, other_provider):
    with pytest.raises(ValidationError) as refused:
        services.update_agreement(sa, 1, provider=other_provider)
    assert errors_of(refused) == {"provider": "cannot be changed here"}


def test_a_stale_delete_is_refused(sa):
    services.update_agreement(sa, 1, status="ended")
    with pytest.raises(StaleUpdate):
        services.delete_agreement(sa, 1)
    services.delete_agreement(sa, 2)
    assert not Agreement.objects.exists()


# -- norms -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("norm", "message"),
    [
        (
            {"call_type": "incident", "priority": 1, "response": 9, "resolution": 8},
            "norm 1: resolution: cannot be shorter than the response target",
        ),
        (
            {"call_type": "incident", "priority": 0, "response": 1, "resolution": 8},
            "norm 1: priority: must be a priority from 1 (highest) to 9",
        ),
        (
            {
                "call_type": "incident",
                "priority": 1,
                "response": 1,
                "resolution": 367,
                "unit": "days",
            },
            "norm 1: resolution: at most 366 days (a year)",
        ),
        (
            {"call_type": "gossip", "priority": 1, "response": 1, "resolution": 8},
            "norm 1: call_type: Value 'gossip' is not a valid choice.",
        ),
        (
            {"call_type": "incident", "priority": 1, "response": 1, "resolution": 8, "colour": 1},
            "norm 1: unknown field(s) colour",
        ),
    ],
)
def test_a_bad_norm_is_refused_naming_it(sa, norm, message):
    with pytest.raises(ValidationError) as refused:
        services.update_agreement(sa, 1, norms=[norm])
    assert errors_of(refused) == {"norms": message}
    assert Agreement.objects.get(pk=sa.pk).version == 1


def test_a_norm_given_twice_is_refused(sa):
    norm = {"call_type": "rfc", "priority": 2, "response": 1, "resolution": 2}
    with pytest.raises(ValidationError) as refused:
        services.update_agreement(sa, 1, norms=[norm, norm])
    assert errors_of(refused) == {"norms": "norm 2: rfc priority 2 is given twice"}


def test_the_database_refuses_a_resolution_shorter_than_the_response(sa):
    with pytest.raises(IntegrityError), transaction.atomic():
        Norm.objects.create(agreement=sa, call_type="rfc", priority=1, response=5, resolution=4)


# -- calendars ---------------------------------------------------------------------------------------
def test_a_calendar_is_stored_with_its_rows(provider):
    calendar = services.create_calendar(
        provider,
        "Late shift",
        time_zone="Europe/Amsterdam",
        opening_hours=[{"weekday": 0, "opens": "16:00", "closes": "24:00"}],
        holidays=[{"date": "2026-12-25", "name": "Christmas"}],
        exceptions=[{"date": date(2026, 12, 24), "opens": "16:00", "closes": "20:00"}],
    )
    row = calendar.opening_hours.get()
    assert (row.weekday, row.opens, row.closes) == (0, time(16), time(0))
    assert [str(h) for h in calendar.holidays.all()] == ["2026-12-25 Christmas"]
    assert calendar.exceptions.get().closes == time(20)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "unknown time zone 'Mars/Olympus'"),
        ({"opening_hours": []}, "opening_hours", "the week has no service hours"),
        (
            {
                "opening_hours": [
                    {"weekday": 0, "opens": "08:00", "closes": "12:00"},
                    {"weekday": 0, "opens": "11:00", "closes": "13:00"},
                ]
            },
            "opening_hours",
            "monday: 08:00–12:00 and 11:00–13:00 overlap",
        ),
        (
            {"opening_hours": [{"weekday": 0, "opens": "17:00", "closes": "08:00"}]},
            "opening_hours",
            "ends before it starts",
        ),
        (
            {"opening_hours": [{"weekday": 7, "opens": "08:00", "closes": "17:00"}]},
            "opening_hours",
            "row 1: weekday: Value 7 is not a valid choice.",
        ),
        (
            {"opening_hours": [{"weekday": 1, "opens": "8 o'clock", "closes": "17:00"}]},
            "opening_hours",
            "row 1: opens: “8 o'clock” value has an invalid format",
        ),
        (
            {"holidays": [{"date": "2026-12-25"}, {"date": "2026-12-25", "name": "again"}]},
            "holidays",
            "2026-12-25 is given twice",
        ),
        (
            {
                "holidays": [{"date": "2026-12-24"}],
                "exceptions": [{"date": "2026-12-24", "opens": "08:00", "closes": "12:00"}],
            },
            "exceptions",
            "2026-12-24 is both a holiday and an exception",
        ),
        ({"name": "Office\x00"}, "name", "must not contain NUL characters"),
    ],
)
def test_a_calendar_that_makes_no_sense_is_refused(provider, fields, field, message):
    values = {"name": "Office", "time_zone": "Europe/Amsterdam", "opening_hours": week(0, 1)}
    values.update(fields)
    with pytest.raises(ValidationError) as refused:
        services.create_calendar(provider, values.pop("name"), **values)
    found = errors_of(refused)
    assert list(found) == [field]
    assert message in found[field]
    assert not Calendar.objects.exists()


def test_a_24x7_calendar_needs_no_weekly_hours(provider):
    calendar = services.create_calendar(provider, "Always", always_open=True)
    assert calendar.always_open and not calendar.opening_hours.exists()


def test_updating_a_calendar_replaces_only_the_rows_sent(office):
    services.add_holiday(office, date(2026, 4, 6), "Easter Monday")
    services.update_calendar(office, opening_hours=week(0, 1, 2, 3, hours=[("09:00", "17:00")]))
    assert office.opening_hours.count() == 4
    assert office.opening_hours.first().opens == time(9)
    assert [h.date for h in office.holidays.all()] == [date(2026, 4, 6)]
    services.update_calendar(office, holidays=[], name="Office (new hours)")
    assert not office.holidays.exists()
    assert Calendar.objects.get(pk=office.pk).name == "Office (new hours)"


def test_a_holiday_is_added_once(office):
    services.add_holiday(office, "2026-04-06")
    with pytest.raises(ValidationError) as refused:
        services.add_holiday(office, "2026-04-06")
    assert errors_of(refused) == {"date": "2026-04-06 is already a holiday"}


def test_a_holiday_cannot_fall_on_an_exception(office):
    services.update_calendar(
        office, exceptions=[{"date": "2026-12-24", "opens": "08:00", "closes": "12:00"}]
    )
    with pytest.raises(ValidationError) as refused:
        services.add_holiday(office, "2026-12-24")
    assert "both a holiday and an exception" in errors_of(refused)["date"]
    with pytest.raises(ValidationError) as refused:
        services.add_holiday(office, "24 December")
    assert list(errors_of(refused)) == ["date"]


def test_a_calendar_in_use_cannot_be_deleted(sa, office):
    with pytest.raises(ProtectedError):
        services.delete_calendar(office)


# -- services ----------------------------------------------------------------------------------------
def test_a_covered_service_is_retired_not_deleted(sa, mail):
    with pytest.raises(ProtectedError, match="retire it instead"):
        services.delete_service(mail)
    assert services.update_service(mail, status="retired").status == "retired"
    unused = services.create_service(mail.provider, "print", "Printing", "Printers")
    services.delete_service(unused)


def test_service_codes_are_unique_per_provider_and_checked(provider, other_provider, mail):
    with pytest.raises(ValidationError) as refused:
        services.create_service(provider, "mail", "Mail again", "x")
    assert errors_of(refused) == {"code": "there is already a service 'mail'"}
    assert services.create_service(other_provider, "mail", "Their mail", "x").code == "mail"
    with pytest.raises(ValidationError) as refused:
        services.create_service(provider, "not a slug!", "Bad", "x")
    assert "code" in errors_of(refused)
