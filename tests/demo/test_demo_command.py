"""`usm demo` end to end through the command line: one short simulation seeded into the test
database, then read back. The run is shared by the module's tests (it takes seconds) and the
database is emptied afterwards."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from usm.cli import app

# A Sunday noon to Friday noon in March 2025: the weekly risk review falls on the Monday.
ARGS = ["demo", "--no-serve", "--seed", "3", "--days", "5", "--calls-per-day", "7"]
ARGS += ["--until", "2025-03-14T12:00"]
LOGIN_LINE = re.compile(r"^  (\S+)\s+(\S+-usm-demo)\s+(.+)$")

runner = CliRunner()
# Collected database tests make pytest-django create the test database; each test's own writes are
# rolled back, the module's shared run is emptied at the end.
pytestmark = pytest.mark.django_db


def _register():
    """What the run left, in a form two runs can be compared by."""
    from usm.calls.models import Call, CallEvent

    calls = list(
        Call.objects.order_by("number").values_list(
            "number", "call_type", "summary", "status", "step", "workflow", "created_at"
        )
    )
    events = list(
        CallEvent.objects.order_by("at", "call__number", "kind", "step").values_list(
            "call__number", "kind", "step", "outcome", "at"
        )
    )
    return calls, events


@pytest.fixture(scope="module")
def first_run(django_db_setup, django_db_blocker):
    from usm.demo.build import demo_provider, wipe
    from usm.demo.summary import summarise

    with django_db_blocker.unblock():
        result = runner.invoke(app, ARGS)
        assert result.exit_code == 0, result.output + result.stderr
        yield {
            "output": result.stdout,
            "summary": summarise(demo_provider()),
            "register": _register(),
        }
        wipe()


def test_the_run_walks_every_call_type_and_workflow(first_run):
    summary = first_run["summary"]
    assert set(summary.calls) == {"wish", "rfc", "incident", "service_request", "risk"}
    assert set(summary.workflows) == set(range(1, 9))
    # Each choice of the two dynamic fork steps, and the static forks.
    for pair in ("INC>CHM", "INC>OPS", "IMP>CTM", "IMP>CHM", "IMP>OPS", "CHM>OPS"):
        assert summary.forks[pair] >= 1, pair


def test_the_run_has_breaches_risks_at_evaluation_monitoring_and_holds(first_run):
    summary = first_run["summary"]
    assert summary.breaches >= 1
    assert summary.risks_raised_at_evaluation >= 1
    assert summary.monitoring_incidents >= 1
    assert summary.holds >= 1
    assert summary.open_calls >= 1  # the period ends with work in the queues


def test_every_call_went_through_the_engine(first_run, django_db_blocker):
    """Each call was registered by the service (its event says so) and every workflow root's
    forks wait or were resumed as the engine has them."""
    from usm.calls.models import Call, CallEvent

    with django_db_blocker.unblock():
        registered = set(
            CallEvent.objects.filter(kind="registered").values_list("call_id", flat=True)
        )
        assert registered == set(Call.objects.values_list("pk", flat=True))
        for parent in Call.objects.filter(status="waiting"):
            assert parent.forks.exclude(status__in=("process_fulfilled", "closed")).exists()


def test_process_control_of_the_demo_agrees_with_the_register_counted_by_hand(
    first_run, django_db_blocker
):
    from collections import Counter
    from datetime import UTC, datetime

    from usm.calls.models import Call, CallEvent
    from usm.control.conformance import conformance
    from usm.control.kpis import kpis
    from usm.control.periods import Period
    from usm.demo.build import demo_provider

    with django_db_blocker.unblock():
        provider = demo_provider()
        calls = Call.objects.filter(provider=provider)
        events = CallEvent.objects.filter(provider=provider)
        # The whole simulated week, and "now" at its end, as the demo's clock had it.
        period = Period(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 14, 12, tzinfo=UTC))
        figures = kpis(calls, events, period, as_of=period.end)
        report = conformance(calls, events, period)
        rows = list(calls.values("process", "status", "accepting", "workflow"))
        completed = events.filter(kind="step_completed").count()
        breached = events.filter(kind="deadline_breached").count()

    intake = Counter(row["process"] for row in rows)
    closed = Counter(row["process"] for row in rows if row["status"] == "closed")
    by_process = {p["process"]: p for p in figures["processes"]}
    assert {code: by_process[code]["intake"] for code in intake} == dict(intake)
    assert {code: by_process[code]["throughput"] for code in closed} == dict(closed)
    assert figures["totals"]["intake"] == len(rows)
    assert figures["totals"]["backlog"] == sum(
        r["status"] not in ("closed", "aborted") for r in rows
    )
    assert figures["totals"]["step_completions"] == completed
    assert sum(figures["totals"]["breaches"].values()) == breached
    # Every workflow the demo finished was walked by the engine along its template.
    finished = [r for r in rows if r["accepting"] and r["status"] == "closed" and r["workflow"]]
    assert report["checked"] == len(finished) > 0
    assert report["conforming"] == report["checked"], str(report["deviations"][:5])


def test_every_printed_login_authenticates(first_run, django_db_blocker):
    from django.contrib.auth import authenticate

    from usm.demo.catalogue import CUSTOMERS, LOGINS

    printed = [LOGIN_LINE.match(line) for line in first_run["output"].splitlines()]
    logins = {m.group(1): m.group(2) for m in printed if m}
    assert set(logins) == {login.username for login in LOGINS}
    # Every role the demo promises, a requester for each customer among them.
    roles = " ".join(m.group(3) for m in printed if m)
    for role in ("administrator", "workflow manager", "change coordinator", "desk agent"):
        assert role in roles
    assert all(f"requester-{c.code}" in logins for c in CUSTOMERS)
    with django_db_blocker.unblock():
        for username, password in logins.items():
            assert authenticate(username=username, password=password) is not None, username


def test_a_second_run_refuses_then_reset_reseeds_the_same_data(first_run, django_db_blocker):
    with django_db_blocker.unblock():
        refused = runner.invoke(app, ARGS)
        assert refused.exit_code == 2
        assert refused.stderr.count("\n") == 1
        assert "already" in refused.stderr and "--reset" in refused.stderr

        again = runner.invoke(app, [*ARGS, "--reset"])
        assert again.exit_code == 0, again.output + again.stderr
        calls, events = _register()
    first_calls, first_events = first_run["register"]
    assert [c[:3] for c in calls] == [c[:3] for c in first_calls]  # numbers, types, summaries
    assert calls == first_calls
    assert events == first_events


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--until", "next tuesday"], "--until"),
        (["--address", "8000"], "host:port"),
    ],
)
def test_bad_options_are_one_line_errors(extra, message):
    result = runner.invoke(app, ["demo", "--no-serve", *extra])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
