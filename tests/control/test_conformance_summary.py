"""A period's conformance is summed from the summary kept beside each check, reading the JSON of
the workflows it lists only: the same figures as every kept check read whole, on the demo's
register with deviations slipped in, for several periods and limits."""

import importlib
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.control.conftest import MODEL, run_workflow
from usm.calls.models import Call, CallEvent
from usm.control.conformance import ENDED, WorkflowCheck, checked_with, conformance
from usm.control.models import WorkflowCheckRecord
from usm.control.periods import Period
from usm.control.services import record_workflow_checks

pytestmark = pytest.mark.django_db
UNTIL = datetime(2025, 3, 14, 12, tzinfo=UTC)
FIGURES = ("checked", "aborted", "conforming", "with_repeats")


def read_whole(calls, period: Period, limit: int) -> dict:
    """The figures of the kept checks of `period`, every check read from its JSON."""
    roots = (
        calls.filter(
            accepting=True, status__in=ENDED, closed_at__gte=period.start, closed_at__lt=period.end
        )
        .order_by("closed_at", "pk")
        .values_list("pk", flat=True)
    )
    kept = dict(
        WorkflowCheckRecord.objects.filter(
            root_id__in=list(roots), checked_with=checked_with(MODEL)
        ).values_list("root_id", "result")
    )
    per_workflow: dict = defaultdict(Counter)
    per_process: dict = defaultdict(Counter)
    totals: Counter = Counter()
    deviations, repeats, aborted = [], [], []
    for check in (WorkflowCheck.from_record(kept[r]) for r in roots if r in kept):
        figures = per_workflow[check.workflow]
        if check.aborted:
            figures["aborted"] += 1
            aborted += [
                {"root": check.root, "workflow": check.workflow, "call": c, "step": s, "reason": r}
                for c, s, r in check.stopped
            ]
            continue
        for counter in (figures, totals):
            counter["checked"] += 1
            counter["conforming"] += check.conforming
            counter["with_repeats"] += bool(check.repeats)
        totals["deviations"] += len(check.deviations)
        for number, process in check.calls:
            per_process[process]["calls"] += 1
            per_process[process]["conforming"] += number not in check.deviating_calls()
        deviations += [
            {"root": check.root, "workflow": check.workflow, **vars(d)} for d in check.deviations
        ]
        repeats += [
            {"root": check.root, "call": c, "step": s, "count": n} for c, s, n in check.repeats
        ]
    return {
        "checked": totals["checked"],
        "conforming": totals["conforming"],
        "with_repeats": totals["with_repeats"],
        "aborted": sum(f["aborted"] for f in per_workflow.values()),
        "workflows": {
            w.number: {key: per_workflow[w.number][key] for key in FIGURES} for w in MODEL.workflows
        },
        "aborted_before_the_fork": per_workflow[None]["aborted"],
        "processes": {
            code: (per_process[code]["calls"], per_process[code]["conforming"])
            for code in MODEL.processes
        },
        "deviations_total": totals["deviations"],
        "deviations": deviations[:limit],
        "repeats": repeats[:limit],
        "aborted_workflows": aborted[:limit],
    }


def summed(calls, period: Period, limit: int) -> dict:
    report = conformance(calls, CallEvent.objects.none(), period, limit=limit)
    return {
        **{key: report[key] for key in ("checked", "conforming", "with_repeats", "aborted")},
        "workflows": {w["workflow"]: {key: w[key] for key in FIGURES} for w in report["workflows"]},
        "aborted_before_the_fork": report["aborted_before_the_fork"],
        "processes": {p["process"]: (p["calls"], p["conforming"]) for p in report["processes"]},
        **{
            key: report[key]
            for key in ("deviations_total", "deviations", "repeats", "aborted_workflows")
        },
    }


@pytest.fixture
def demo_register():
    """The demo's register, its workflows checked, with a few of them made to deviate and a few
    more run with a repeated step."""
    from usm.demo.build import build

    org, _ = build(seed_value=5, days=12, until=UNTIL, calls_per_day=12)
    sample = Call.objects.filter(requester__isnull=False, service__isnull=False).first()
    desk = {"customer": sample.customer, "requester": sample.requester, "service": sample.service}
    actor = CallEvent.objects.filter(actor__isnull=False).first().actor
    for days in range(1, 4):
        start = UNTIL - timedelta(days=days, hours=3)
        run_workflow(desk, actor, 2, start, timedelta(minutes=5), repeat=("CHM-5", "CHM-3"))
    roots = list(
        Call.objects.filter(accepting=True, status="closed", workflow__isnull=False).order_by("pk")
    )
    assert len(roots) > 20
    for root in roots[::7]:  # a step done twice without a repeat recorded
        done = CallEvent.objects.filter(call=root, kind="step_completed").order_by("at", "pk")
        first, last = done.first(), done.last()
        CallEvent.objects.create(
            provider=root.provider,
            call=root,
            root=root,
            process=root.process,
            step=first.step,
            attempt=2,
            kind="step_completed",
            at=last.at,
        )
    WorkflowCheckRecord.objects.filter(root__in=roots[::7]).delete()
    record_workflow_checks(Call.objects.all())
    return org.provider


def test_the_summed_figures_are_those_of_the_checks_read_whole(demo_register):
    calls = Call.objects.filter(provider=demo_register)
    whole = Period(UNTIL - timedelta(days=30), UNTIL)
    full = summed(calls, whole, 1000)
    assert full["checked"] > 20 and full["deviations_total"] > 0 and full["aborted"] > 0
    assert full["with_repeats"] > 0 and full["checked"] > full["conforming"]
    days = [Period(UNTIL - timedelta(days=d + 3), UNTIL - timedelta(days=d)) for d in range(9)]
    for period in (whole, *days):
        for limit in (0, 1, 3, 1000):
            assert summed(calls, period, limit) == read_whole(calls, period, limit)


def test_only_the_listed_workflows_are_read_whole(demo_register):
    calls = Call.objects.filter(provider=demo_register)
    period = Period(UNTIL - timedelta(days=30), UNTIL)
    with CaptureQueriesContext(connection) as queries:
        report = conformance(calls, CallEvent.objects.none(), period, limit=2)
    results = [q["sql"] for q in queries.captured_queries if '"result"' in q["sql"]]
    # The deviating workflows, those with repeats (the first two), the aborted ones.
    assert len(results) == 3
    assert all('"conforming"' in sql or '"aborted"' in sql for sql in results)
    assert report["checked"] > 20


def test_the_migration_summarises_the_checks_kept_before_it(demo_register):
    migration = importlib.import_module("usm.control.migrations.0005_workflow_check_summary")
    summaries = {
        r.root_id: (r.workflow, r.aborted, r.conforming, r.with_repeats, r.deviations)
        for r in WorkflowCheckRecord.objects.all()
    }
    assert len(set(summaries.values())) > 2
    WorkflowCheckRecord.objects.update(
        workflow=None, aborted=False, conforming=False, with_repeats=False, deviations=0
    )
    # The statement the migration runs, in the test's transaction (SQLite's schema editor cannot
    # open inside one).
    with connection.cursor() as cursor:
        migration.summarise(None, SimpleNamespace(connection=connection, execute=cursor.execute))
    assert summaries == {
        r.root_id: (r.workflow, r.aborted, r.conforming, r.with_repeats, r.deviations)
        for r in WorkflowCheckRecord.objects.all()
    }
