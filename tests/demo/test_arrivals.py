"""The demo's demand: the same seed gives the same arrivals; weekdays are busier than weekends
and office hours busier than nights; the reviews bring wishes and risks on working days."""

import random
from datetime import UTC, datetime

from usm.demo.arrivals import ZONE, arrivals

START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
END = datetime(2025, 3, 31, tzinfo=UTC)


def _run(seed):
    return arrivals(random.Random(seed), START, END, 20, frozenset())


def test_same_seed_same_arrivals():
    assert _run(5) == _run(5)
    assert _run(5) != _run(6)


def test_weekdays_and_office_hours_carry_most_calls():
    found = [a for a in _run(5) if a.source == "customer"]
    local = [a.at.astimezone(ZONE) for a in found]
    weekday = sum(1 for t in local if t.weekday() < 5) / 20
    weekend = sum(1 for t in local if t.weekday() >= 5) / 8
    assert weekday > 5 * weekend
    office = sum(1 for t in local if 8 <= t.hour < 18)
    assert office > 0.8 * len(local)
    assert all(START <= a.at < END for a in found)
    assert [a.at for a in found] == sorted(a.at for a in found)


def test_reviews_bring_wishes_and_risks_on_working_days():
    found = _run(5)
    risks = [a for a in found if a.source == "staff" and a.call_type == "risk"]
    assert len(risks) >= 4 * 2  # at least two at each weekly risk review
    reviews = [a.at.astimezone(ZONE) for a in risks if a.at.astimezone(ZONE).minute == 0]
    reviews = [t for t in reviews if (t.hour, t.second) == (10, 0)]
    assert len(reviews) >= 8
    assert {t.date().weekday() for t in reviews} == {0}
    assert len({t.date() for t in reviews}) == 4
    planned = [a.at.astimezone(ZONE) for a in found if a.source == "staff" and a.call_type == "rfc"]
    assert len({t.date() for t in planned}) == 4
    wishes = [a for a in found if a.call_type == "wish"]
    assert {a.customer.code for a in wishes} >= {"finance", "people", "facilities"}
