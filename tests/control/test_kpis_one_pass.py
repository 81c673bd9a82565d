"""The call-side figures read in one pass each (the ended calls, the backlog with the open
workflows, both deadlines of the SLA) against the same figures asked one query each, the way
they are defined, over periods that cut the register in every way: deadlines of a call on
either side of a period's edge, calls registered after a past period's end still open, calls
ended after it, aborted calls."""

from datetime import timedelta

import pytest
from django.db.models import Count, F, Q

from tests.control.conftest import MONDAY, register
from usm.calls.models import Call
from usm.control.kpis import DEADLINES, DONE_FIELD, Slice, kpis, open_at, sla_compliance
from usm.control.measures import EMPTY, distribution, seconds_between, seconds_until
from usm.control.periods import Period
from usm.control.sources import of_provider

pytestmark = pytest.mark.django_db
MIDNIGHT = MONDAY.replace(hour=0)
AS_OF = MIDNIGHT + timedelta(days=3, hours=6)
PERIODS = [
    Period(MIDNIGHT, MIDNIGHT + timedelta(days=1)),
    Period(MONDAY + timedelta(hours=1), MONDAY + timedelta(hours=2)),
    Period(MONDAY + timedelta(minutes=45), MONDAY + timedelta(hours=5, minutes=15)),
    Period(MONDAY + timedelta(hours=3), MONDAY + timedelta(days=1, hours=3)),
    Period(MIDNIGHT, MIDNIGHT + timedelta(days=7)),
    Period(MIDNIGHT - timedelta(days=7), MIDNIGHT),
]


@pytest.fixture
def mixed(desk, staff, walk):
    """Workflows closed, left open before and after the fork, repeated and aborted, registered
    over a day and a half at different paces, so deadlines and ends fall on both sides of the
    periods' edges."""
    from usm.calls import services

    walk(4, every=timedelta(minutes=10))
    walk(4, start=MONDAY + timedelta(minutes=30), every=timedelta(minutes=40))
    walk(3, start=MONDAY + timedelta(hours=2), every=timedelta(minutes=25))
    walk(4, start=MONDAY + timedelta(hours=3), every=timedelta(hours=1), stop_before="OPS-3")
    walk(4, start=MONDAY + timedelta(hours=4), every=timedelta(minutes=15), stop_before="INC-3")
    walk(5, start=MONDAY + timedelta(hours=20), every=timedelta(minutes=50))
    walk(4, start=MONDAY + timedelta(days=1), repeat=("INC-4", "INC-3"))
    dropped = register(desk, staff, "incident", MONDAY + timedelta(hours=1, minutes=5))
    services.abort_workflow(dropped, staff, "duplicate", at=MONDAY + timedelta(hours=1, minutes=20))


def test_the_one_pass_figures_are_those_of_a_query_each(provider, mixed):
    calls, events = of_provider(provider.pk)
    assert calls.filter(status="aborted").exists() and calls.filter(closed_at=None).exists()
    for period in PERIODS:
        for as_of in (AS_OF, MONDAY + timedelta(hours=2, minutes=30)):
            if as_of <= period.start:
                continue
            result = kpis(calls, events, period, as_of=as_of)
            name = f"{period} as of {as_of}"
            assert result["processes"] == _expected_processes(result, calls, period, as_of), name
            assert _workflows(result) == _expected_workflows(calls, period), name
            assert _agreements(result) == _expected_sla(calls, period, as_of), name
            totals = result["totals"]
            moment = min(period.end, as_of)
            assert totals["backlog"] == open_at(calls, moment).count(), name
            ages = distribution(open_at(calls, moment), seconds_until("created_at", moment))
            assert totals["backlog_age"] == ages.as_dict(), name


def test_a_slice_reads_the_same_way(provider, mixed):
    calls, events = of_provider(provider.pk)
    where = Slice(process="INC")
    for period in PERIODS:
        result = kpis(calls, events, period, where, as_of=AS_OF)
        narrowed = calls.filter(process="INC")
        assert _agreements(result) == _expected_sla(narrowed, period, AS_OF), period
        assert _workflows(result) == _expected_workflows(narrowed, period), period


def test_sla_compliance_by_more_than_one_field(provider, mixed):
    calls, _ = of_provider(provider.pk)
    for period in PERIODS:
        found = sla_compliance(calls, period, AS_OF, ("agreement_id", "priority"))
        expected = _sla_per_deadline(calls, period, AS_OF, ("agreement_id", "priority"))
        assert found == expected, period


def _expected_processes(result, calls, period, as_of) -> list:
    """The call-side columns of each process row, one query each."""
    moment = min(period.end, as_of)
    ended = calls.filter(closed_at__gte=period.start, closed_at__lt=period.end)
    rows = []
    for row in result["processes"]:
        code = row["process"]
        closed = ended.filter(process=code, status="closed")
        backlog = open_at(calls, moment).filter(process=code)
        rows.append(
            {
                **row,
                "throughput": closed.count(),
                "aborted": ended.filter(process=code, status="aborted").count(),
                "backlog": backlog.count(),
                "lead_time": distribution(
                    closed, seconds_between("created_at", "closed_at")
                ).as_dict(),
                "backlog_age": distribution(backlog, seconds_until("created_at", moment)).as_dict(),
            }
        )
    return rows


def _workflows(result) -> dict:
    return {
        row["workflow"]: (row["closed"], row["aborted"], row["open"], row["lead_time"])
        for row in result["workflows"]
    }


def _expected_workflows(calls, period) -> dict:
    roots = calls.filter(accepting=True)
    ended = roots.filter(closed_at__gte=period.start, closed_at__lt=period.end)
    found = {}
    for number in [*range(1, 9), None]:
        closed = ended.filter(status="closed", workflow=number)
        found[number] = (
            closed.count() if number is not None else 0,
            ended.filter(status="aborted", workflow=number).count(),
            roots.filter(closed_at=None, workflow=number).count(),
            distribution(closed, seconds_between("created_at", "closed_at")).as_dict()
            if number is not None
            else EMPTY.as_dict(),
        )
    return found


def _agreements(result) -> dict:
    return {row["agreement_id"]: {w: row[w] for w in DEADLINES} for row in result["agreements"]}


def _expected_sla(calls, period, as_of) -> dict:
    return _sla_per_deadline(calls, period, as_of, ("agreement_id",))


def _sla_per_deadline(calls, period, as_of, by) -> dict:
    """SLA compliance as defined: per deadline, the calls (not aborted) due in the period."""
    found: dict = {}
    for which in DEADLINES:
        due, done = f"{which}_due", DONE_FIELD[which]
        due_in = calls.exclude(status="aborted").filter(
            **{f"{due}__gte": period.start, f"{due}__lt": period.end}
        )
        rows = due_in.values(*by).annotate(
            met=Count("pk", filter=Q(**{f"{done}__lte": F(due)})),
            missed=Count(
                "pk",
                filter=Q(**{f"{done}__gt": F(due)})
                | Q(**{f"{done}__isnull": True, f"{due}__lt": as_of}),
            ),
            pending=Count("pk", filter=Q(**{f"{done}__isnull": True, f"{due}__gte": as_of})),
        )
        for row in rows.order_by():
            key = tuple(row[f] for f in by) if len(by) > 1 else row[by[0]]
            settled = row["met"] + row["missed"]
            found.setdefault(key, {})[which] = {
                "met": row["met"],
                "missed": row["missed"],
                "pending": row["pending"],
                "rate": round(row["met"] / settled, 4) if settled else None,
            }
    for figures in found.values():
        for which in DEADLINES:
            figures.setdefault(which, {"met": 0, "missed": 0, "pending": 0, "rate": None})
    return found


def test_the_fixture_reaches_the_cases(provider, mixed):
    """The periods above do cut a call's two deadlines apart, and a past period has calls
    registered after its end still open."""
    calls = Call.objects.filter(provider=provider)
    split = [
        p
        for p in PERIODS
        if calls.filter(response_due__gte=p.start, response_due__lt=p.end)
        .exclude(resolution_due__gte=p.start, resolution_due__lt=p.end)
        .exists()
    ]
    assert split
    early_end = PERIODS[1].end
    assert calls.filter(created_at__gte=early_end, closed_at=None).exists()
    assert calls.filter(created_at__lt=early_end, closed_at__gte=early_end).exists()
