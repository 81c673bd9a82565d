"""A provider with a customer, an internal team, a supplier, a service and an office calendar
(Amsterdam, weekdays 08:00-12:00 and 13:00-17:00), built through the services."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from usm.agreements import services
from usm.organisation.models import Customer, Team

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
OFFICE_DAY = [("08:00", "12:00"), ("13:00", "17:00")]


def local(text: str, zone: ZoneInfo | str = AMSTERDAM) -> datetime:
    """An aware datetime from 'YYYY-MM-DD HH:MM' read as wall-clock time in `zone`."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def week(*days: int, hours=OFFICE_DAY) -> list[dict]:
    return [
        {"weekday": day, "opens": opens, "closes": closes}
        for day in days
        for opens, closes in hours
    ]


@pytest.fixture
def customer(provider):
    return Customer.objects.create(provider=provider, code="city", name="City Council")


@pytest.fixture
def team(provider):
    return Team.objects.create(provider=provider, name="Network team", kind="internal")


@pytest.fixture
def supplier(provider):
    return Team.objects.create(provider=provider, name="Carrier Ltd", kind="supplier")


@pytest.fixture
def mail(provider):
    return services.create_service(provider, "mail", "Mail", "Mailboxes and delivery")


@pytest.fixture
def office(provider):
    return services.create_calendar(
        provider, "Office", time_zone="Europe/Amsterdam", opening_hours=week(0, 1, 2, 3, 4)
    )


@pytest.fixture
def sa(provider, customer, mail, office):
    """An SA whose incident norms are 2 hours / 8 hours (P1) and 1 day / 3 days (P2)."""
    return services.create_agreement(
        provider,
        "SA",
        "sa-city",
        "City SA",
        customer=customer,
        calendar=office,
        valid_from=date(2026, 1, 1),
        services=[mail],
        norms=[
            {"call_type": "incident", "priority": 1, "response": 2, "resolution": 8},
            {
                "call_type": "incident",
                "priority": 2,
                "response": 1,
                "resolution": 3,
                "unit": "days",
            },
        ],
    )
