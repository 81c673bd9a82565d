"""KPIs against cases worked out by hand. Every call is walked through the call services on a
simulated clock (see conftest), so each expected number below follows from the timings."""

from datetime import timedelta

import pytest

from tests.control.conftest import MONDAY, register
from usm.control.kpis import Slice, kpis
from usm.control.periods import Period
from usm.control.sources import of_provider

pytestmark = pytest.mark.django_db
MINUTE = 60
MONDAY_MIDNIGHT = MONDAY.replace(hour=0)
DAY = Period(MONDAY_MIDNIGHT, MONDAY_MIDNIGHT + timedelta(days=1))


def figures(provider, period=DAY, where=None, as_of=None):
    calls, events = of_provider(provider.pk)
    return kpis(calls, events, period, where, as_of=as_of or period.end + timedelta(days=1))


def by(rows, key, value):
    return next(row for row in rows if row[key] == value)


@pytest.fixture
def three_incidents(walk):
    """Three incidents recovered by operations (workflow 4), registered together at 08:00 in
    Amsterdam, one action every 10, 20 and 30 minutes. A walk is 13 actions: INC-1..4, the fork,
    OPS-1..6, INC-6 and INC-7; the operations call lives from the fork (5th action) to OPS-6
    (11th); INC-6 starts when OPS-5 (10th) resumes the incident. Priority 1: respond within one
    business hour, resolve within four."""
    return [walk(4, every=timedelta(minutes=m)) for m in (10, 20, 30)]


def test_lead_times_of_calls_workflows_and_steps(provider, three_incidents):
    result = figures(provider)
    totals = result["totals"]
    assert (totals["intake"], totals["throughput"], totals["aborted"], totals["backlog"]) == (
        6,
        6,
        0,
        0,
    )
    incidents = by(result["processes"], "process", "INC")
    # 13 actions: 130, 260 and 390 minutes. p90 lies 0.8 of the way from 260 to 390.
    assert incidents["lead_time"] == {
        "count": 3,
        "median_seconds": 260 * MINUTE,
        "p90_seconds": 364 * MINUTE,
        "max_seconds": 390 * MINUTE,
    }
    operations = by(result["processes"], "process", "OPS")
    # Six actions from the fork to OPS-6: 60, 120, 180 minutes.
    assert operations["lead_time"]["median_seconds"] == 120 * MINUTE
    assert operations["lead_time"]["p90_seconds"] == 168 * MINUTE
    # All six calls: 60 120 130 180 260 390; the median halves 130 and 180, p90 halves 260, 390.
    assert totals["lead_time"]["median_seconds"] == 155 * MINUTE
    assert totals["lead_time"]["p90_seconds"] == 325 * MINUTE
    wf4 = by(result["workflows"], "workflow", 4)
    assert wf4["closed"] == 3 and wf4["started"] == 3
    assert wf4["lead_time"]["median_seconds"] == 260 * MINUTE
    assert (wf4["first_time_right"], wf4["first_time_right_rate"]) == (3, 1.0)
    steps = {row["step"]: row for row in result["steps"]}
    assert steps["INC-1"]["completions"] == 3
    assert steps["INC-1"]["lead_time"]["median_seconds"] == 20 * MINUTE
    # OPS-1 starts when the fork registers the operations call.
    assert steps["OPS-1"]["lead_time"]["median_seconds"] == 20 * MINUTE
    # INC-6 is current from the resumption (10th action) to its completion (12th): two actions.
    assert steps["INC-6"]["lead_time"]["median_seconds"] == 40 * MINUTE
    assert steps["INC-6"]["lead_time"]["max_seconds"] == 60 * MINUTE
    assert totals["step_completions"] == 39


def test_sla_compliance_and_breaches(provider, desk, three_incidents):
    result = figures(provider)
    (agreement,) = result["agreements"]
    assert agreement["agreement_id"] == desk["agreement"].pk
    # Every call answered within the hour.
    assert agreement["response"] == {"met": 6, "missed": 0, "pending": 0, "rate": 1.0}
    # Resolution is INC-6 (the review) at the 12th action: 120, 240 and 360 minutes against four
    # hours; exactly on the deadline is in time. The operations calls resolve well within.
    assert agreement["resolution"] == {"met": 5, "missed": 1, "pending": 0, "rate": 0.8333}
    assert agreement["breaches"] == {"response": 0, "resolution": 1}
    assert result["totals"]["breaches"] == {"response": 0, "resolution": 1}


def test_forks_first_time_right_and_repeats(provider, walk):
    walk(3)
    walk(4, repeat=("INC-4", "INC-3"))
    walk(5)
    result = figures(provider)
    forks = {row["workflow"]: row for row in result["forks"]}
    assert (forks[3]["count"], forks[4]["count"]) == (1, 1)
    assert forks[3]["share"] == forks[4]["share"] == 0.5
    assert forks[6]["count"] == forks[7]["count"] == forks[8]["count"] == 0
    assert forks[6]["share"] is None
    totals = result["totals"]
    assert (totals["workflows_closed"], totals["first_time_right"]) == (3, 2)
    assert totals["first_time_right_rate"] == 0.6667
    # Completions: workflow 3 walks 22 steps, workflow 4 walks 13 plus INC-3 again, workflow 5 six.
    assert (totals["step_completions"], totals["repeats"]) == (42, 1)
    assert totals["repeat_rate"] == round(1 / 42, 4)
    incidents = by(result["processes"], "process", "INC")
    assert (incidents["step_completions"], incidents["repeats"]) == (15, 1)
    inc3 = by(result["steps"], "step", "INC-3")
    assert (inc3["completions"], inc3["repeats"]) == (3, 1)
    # The second INC-3 runs from the repeat to its completion: one action, as the others.
    assert inc3["lead_time"]["max_seconds"] == 10 * MINUTE
    assert by(result["workflows"], "workflow", 4)["first_time_right_rate"] == 0.0
    assert by(result["workflows"], "workflow", 5)["first_time_right_rate"] == 1.0


@pytest.fixture
def open_work(desk, staff, walk):
    """At 08:00 UTC: incident A, walked to INC-3 and left open; a risk whose cause was found at
    07:30. At 08:00: incident B, closed at 10:10. At 09:00: a second risk, just registered."""
    from usm.calls import services

    walk(4, stop_before="INC-3")
    walk(4, start=MONDAY + timedelta(hours=1))
    risk = register(desk, staff, "risk", MONDAY, impact=None, urgency=None, effect=1, likelihood=1)
    for minutes, step in ((10, "IMP-1"), (20, "IMP-2")):
        services.complete_step(risk, staff, step, at=MONDAY + timedelta(minutes=minutes))
    services.complete_step(
        risk, staff, "IMP-3", outcome="cause_known", at=MONDAY + timedelta(minutes=30)
    )
    register(desk, staff, "risk", MONDAY + timedelta(hours=2), effect=3, likelihood=3)


def test_backlog_is_read_as_it_was_at_the_end_of_the_period(provider, open_work):
    noon = figures(provider, Period(MONDAY_MIDNIGHT, MONDAY.replace(hour=12)))
    # At 12:00: incident A (5 hours old) and both risks (5 and 3 hours).
    assert noon["totals"]["backlog"] == 3
    assert noon["totals"]["backlog_age"]["median_seconds"] == 5 * 3600
    assert noon["totals"]["backlog_age"]["max_seconds"] == 5 * 3600
    assert noon["risks"]["open"] == 2 and noon["risks"]["known_errors"] == 1
    assert noon["risks"]["by_level"] == [
        {"risk_level": 1, "open": 1},
        {"risk_level": 2, "open": 1},
    ]
    # At 08:30 incident B was open too, though it has been closed since; the second risk was
    # not yet registered.
    early = figures(provider, Period(MONDAY_MIDNIGHT, MONDAY + timedelta(minutes=90)))
    assert early["totals"]["backlog"] == 3
    assert by(early["processes"], "process", "INC")["backlog"] == 2
    assert early["risks"]["open"] == 1


def test_a_deadline_still_ahead_is_pending(provider, open_work):
    # Incident A's resolution is due at 11:00; seen at 10:00 it is pending, at 12:00 missed.
    before = figures(provider, as_of=MONDAY.replace(hour=10))
    after = figures(provider, as_of=MONDAY.replace(hour=12))
    resolution_before = before["agreements"][0]["resolution"]
    resolution_after = after["agreements"][0]["resolution"]
    assert resolution_after["pending"] == resolution_before["pending"] - 1
    assert resolution_after["missed"] == resolution_before["missed"] + 1


def test_slices(provider, desk, walk):
    walk(4)
    walk(5)
    only_ops = figures(provider, where=Slice(process="OPS"))
    assert only_ops["totals"]["intake"] == 2
    assert {row["process"] for row in only_ops["processes"] if row["intake"]} == {"OPS"}
    wf4 = figures(provider, where=Slice(workflow=4))
    assert wf4["totals"]["intake"] == 2  # the incident and its operations call
    # The events before the fork carry no workflow number, yet belong to workflow 4.
    assert wf4["totals"]["step_completions"] == 13
    team = figures(provider, where=Slice(team_id=desk["team"].pk))
    assert team["teams"] == [
        {
            "team_id": desk["team"].pk,
            "name": "Service desk",
            "backlog": 0,
            "step_completions": 19,
        }
    ]
    nobody = figures(provider, where=Slice(customer_id=desk["customer"].pk + 1000))
    assert nobody["totals"]["intake"] == 0
    assert nobody["totals"]["lead_time"]["median_seconds"] is None


def test_outside_the_period_nothing_counts(provider, three_incidents):
    week_before = Period(MONDAY_MIDNIGHT - timedelta(days=7), MONDAY_MIDNIGHT)
    result = figures(provider, week_before)
    assert result["totals"]["intake"] == result["totals"]["throughput"] == 0
    assert result["steps"] == [] and result["agreements"] == []
