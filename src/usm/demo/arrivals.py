"""When calls arrive and what they are: the demo's demand. Customers call in office hours, most on
Monday morning and least on Friday afternoon and at weekends; a round-the-clock customer keeps
calling at night. The desk's register is a mix of incidents and service requests with a few RFCs
and wishes; the provider's own staff report risks; monitoring watches the MIR around the clock.

Two meetings bring calls on fixed days: every customer reviews its service with the service level
office every four weeks, and wishes come out of it; on the first working day of every week the
problem analysts hold a risk review and the operations teams file the RFCs of their planned
maintenance. So even a short demo has wishes, risks and changes to walk.

Everything here is pure: a `random.Random` in, plain values out, so that one seed gives one demand.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from usm.demo.catalogue import CUSTOMERS, TIME_ZONE, CustomerSpec

ZONE = ZoneInfo(TIME_ZONE)

# Share of a working day's calls arriving in each local hour: the morning peak, a dip at lunch.
OFFICE_DAY = (
    0.002, 0.001, 0.001, 0.001, 0.002, 0.004, 0.010, 0.030,
    0.080, 0.140, 0.130, 0.110, 0.060, 0.100, 0.100, 0.080,
    0.060, 0.040, 0.020, 0.010, 0.008, 0.006, 0.004, 0.003,
)  # fmt: skip
# A harbour works shifts: flatter, with calls at any hour.
ROUND_THE_CLOCK_DAY = (
    0.015, 0.012, 0.010, 0.010, 0.012, 0.020, 0.040, 0.060,
    0.075, 0.085, 0.080, 0.070, 0.055, 0.065, 0.065, 0.060,
    0.050, 0.040, 0.035, 0.030, 0.030, 0.025, 0.020, 0.018,
)  # fmt: skip
# Monday brings the weekend's problems; Saturday and Sunday are quiet.
WEEKDAY = (1.25, 1.05, 1.0, 0.95, 0.75, 0.12, 0.08)
HOLIDAY = 0.1

# The customers' mix of call types (the desk maps each by the agreement, USM.md section 3); most
# wishes come from the service reviews, a complaint may come any day.
CUSTOMER_MIX = (("incident", 0.48), ("service_request", 0.44), ("rfc", 0.06), ("wish", 0.02))
# How often each service is the subject of a call, relative to the others.
SERVICE_WEIGHT = {
    "workplace": 3.0,
    "identity": 2.5,
    "mail": 2.0,
    "printing": 1.5,
    "files": 1.0,
    "network": 1.0,
    "ledger": 1.0,
    "hosting": 1.0,
    "payroll": 0.7,
    "telephony": 0.7,
    "website": 0.6,
}
CHANNELS = (("portal", 0.5), ("phone", 0.3), ("email", 0.2))

# Risks the provider's analysts report between reviews, and monitoring alerts, per day.
RISKS_PER_WORKING_DAY = 0.2
MONITORING_PER_DAY = 1.5
REVIEW_EVERY = 20  # working days between two service reviews of one customer
REVIEW_WISHES = ((0, 0.2), (1, 0.5), (2, 0.3))
RISK_REVIEW = ((2, 0.3), (3, 0.5), (4, 0.2))  # risks reported at the weekly review
MAINTENANCE = ((1, 0.6), (2, 0.4))  # RFCs filed for the week's planned maintenance
REVIEW_HOUR, RISK_REVIEW_HOUR, MAINTENANCE_HOUR = 14, 10, 11  # local time


@dataclass(frozen=True)
class Arrival:
    at: datetime
    source: str  # "customer", "staff" (a risk or a planned RFC) or "monitoring"
    customer: CustomerSpec | None = None
    call_type: str = ""


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    if mean <= 0:
        return 0
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def pick(rng: random.Random, weighted) -> str:
    """One key of `(key, weight)` pairs (or a dict), with chance proportional to its weight."""
    pairs = list(weighted.items()) if isinstance(weighted, dict) else list(weighted)
    total = sum(weight for _, weight in pairs)
    mark = rng.random() * total
    for key, weight in pairs:
        mark -= weight
        if mark < 0:
            return key
    return pairs[-1][0]


def _day_factor(holidays: frozenset[date], local: datetime) -> float:
    return HOLIDAY if local.date() in holidays else WEEKDAY[local.weekday()]


def arrivals(
    rng: random.Random,
    start: datetime,
    end: datetime,
    calls_per_day: float,
    holidays: frozenset[date],
) -> list[Arrival]:
    """Every arrival between `start` and `end` (whole hours, UTC), in time order. `calls_per_day`
    is the customers' calls on an ordinary working day, all customers together."""
    total_weight = sum(customer.weight for customer in CUSTOMERS)
    found: list[Arrival] = []
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        local = hour.astimezone(ZONE)
        factor = _day_factor(holidays, local)
        for customer in CUSTOMERS:
            shape = ROUND_THE_CLOCK_DAY if customer.level == "gold" else OFFICE_DAY
            mean = calls_per_day * customer.weight / total_weight * shape[local.hour] * factor
            for _ in range(poisson(rng, mean)):
                found.append(
                    Arrival(_within(rng, hour), "customer", customer, pick(rng, CUSTOMER_MIX))
                )
        staff_mean = RISKS_PER_WORKING_DAY * OFFICE_DAY[local.hour] * factor
        found += [
            Arrival(_within(rng, hour), "staff", call_type="risk")
            for _ in range(poisson(rng, staff_mean))
        ]
        found += [
            Arrival(_within(rng, hour), "monitoring")
            for _ in range(poisson(rng, MONITORING_PER_DAY / 24))
        ]
        hour += timedelta(hours=1)
    found += _meetings(rng, start, end, holidays)
    found.sort(key=lambda arrival: arrival.at)
    return [arrival for arrival in found if start <= arrival.at < end]


def _meetings(
    rng: random.Random, start: datetime, end: datetime, holidays: frozenset[date]
) -> list[Arrival]:
    """The calls the service reviews and the risk reviews bring, on the working days of the
    period: customer k holds its first review on the period's k-th working day."""
    found: list[Arrival] = []
    working_day, reviewed_week = 0, None
    day = start.astimezone(ZONE).date()
    while day <= end.astimezone(ZONE).date():
        if day.weekday() < 5 and day not in holidays:
            week = day.isocalendar()[:2]
            if week != reviewed_week:
                reviewed_week = week
                at = _local(day, RISK_REVIEW_HOUR)
                found += [
                    Arrival(at, "staff", call_type="risk")
                    for _ in range(int(pick(rng, RISK_REVIEW)))
                ]
                at = _local(day, MAINTENANCE_HOUR)
                found += [
                    Arrival(at, "staff", call_type="rfc")
                    for _ in range(int(pick(rng, MAINTENANCE)))
                ]
            for index, customer in enumerate(CUSTOMERS):
                if working_day % REVIEW_EVERY == index:
                    at = _local(day, REVIEW_HOUR)
                    wishes = int(pick(rng, REVIEW_WISHES))
                    found += [Arrival(at, "customer", customer, "wish") for _ in range(wishes)]
            working_day += 1
        day += timedelta(days=1)
    return found


def _local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).astimezone(UTC)


def _within(rng: random.Random, hour: datetime) -> datetime:
    return hour + timedelta(seconds=rng.randrange(3600))
