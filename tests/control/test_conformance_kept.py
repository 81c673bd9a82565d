"""The pages and the API only read the kept checks: a workflow not yet checked is counted as
awaiting its check, never as conforming or not. The command line checks what it is missing
itself, and `--refresh` the whole register with its progress on stderr."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from typer.testing import CliRunner

from tests.control.conftest import MONDAY
from usm.calls.models import CallEvent
from usm.cli import app
from usm.control.conformance import conformance
from usm.control.models import WorkflowCheckRecord
from usm.control.periods import Period
from usm.control.services import record_workflow_checks
from usm.control.sources import of_provider

pytestmark = pytest.mark.django_db
DAY = {"start": "2024-03-04", "end": "2024-03-04"}
WEEK = Period(MONDAY.replace(hour=0), MONDAY + timedelta(days=7))


def deviate(provider, root):
    """Slip a second INC-3 into a workflow 4's log, after INC-4."""
    inc4 = CallEvent.objects.get(call=root, step="INC-4", kind="step_completed")
    CallEvent.objects.create(
        provider=provider,
        call=root,
        root=root,
        process="INC",
        step="INC-3",
        attempt=2,
        kind="step_completed",
        at=inc4.at + timedelta(minutes=1),
    )


def test_a_workflow_not_yet_checked_awaits_its_check(provider, walk):
    walk(4)
    walk(5)
    walk(4, stop_before="INC-6")  # open: not a closed workflow, not awaiting anything
    result = conformance(*of_provider(provider.pk), WEEK)
    assert (result["checked"], result["awaiting_check"], result["rate"]) == (0, 2, None)
    assert not WorkflowCheckRecord.objects.exists()  # reading wrote nothing
    record_workflow_checks()
    result = conformance(*of_provider(provider.pk), WEEK)
    assert (result["checked"], result["awaiting_check"], result["rate"]) == (2, 0, 1.0)


def test_the_dashboard_counts_apart_what_awaits_its_check(desk, staff, provider, walk):
    client = Client()
    client.force_login(staff)
    walk(4)
    record_workflow_checks()
    deviate(provider, walk(4, start=MONDAY + timedelta(hours=4)))  # ended after the sweep
    response = client.get("/control/", DAY)
    page = response.content.decode()
    checked = response.context["conformance"]
    assert (checked["checked"], checked["rate"], checked["awaiting_check"]) == (1, 1.0, 1)
    assert "of 1 closed workflows; 1 awaiting their check" in page
    assert "1 more closed workflow of this period is awaiting its check" in page
    assert WorkflowCheckRecord.objects.count() == 1
    record_workflow_checks()
    response = client.get("/control/", DAY)
    page = response.content.decode()
    assert response.context["conformance"]["awaiting_check"] == 0
    assert "awaiting" not in page
    assert "INC-3 completed again, with no repeat recorded" in page


def test_the_api_says_how_many_await_their_check(api_client, desk, walk):
    walk(5)
    day = {"period_start": "2024-03-04", "period_end": "2024-03-04"}
    body = api_client.get("/api/v1/control/conformance", day).json()
    assert (body["checked"], body["awaiting_check"]) == (0, 1)
    record_workflow_checks()
    body = api_client.get("/api/v1/control/conformance", day).json()
    assert (body["checked"], body["awaiting_check"]) == (1, 0)


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_command_checks_what_its_period_is_missing(provider, walk):
    earlier = walk(5, start=MONDAY - timedelta(days=20))
    walk(4)
    result = run("control", "conformance", "--from", "2024-03-04", "--to", "2024-03-04", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["checked"], report["conforming"], report["awaiting_check"]) == (1, 1, 0)
    # Only the period's workflows were checked; the earlier one is left to the worker.
    assert not WorkflowCheckRecord.objects.filter(root=earlier).exists()
    text = run("control", "conformance", "--from", "2024-03-04", "--to", "2024-03-04")
    assert text.stdout.startswith("1 closed workflow(s) checked, 1 conforming (100.0 %)")


def test_refresh_checks_the_whole_register_and_shows_its_progress(provider, walk, monkeypatch):
    from usm.control import commands, services

    monkeypatch.setattr(commands, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(services, "CHECK_BATCH", 2)
    roots = [walk(5, start=MONDAY - timedelta(days=d)) for d in range(5)]
    deviate(provider, walk(4, start=MONDAY - timedelta(days=60)))
    # The period listed is the last 30 days, in which nothing ended: the whole register is
    # checked all the same.
    result = run("control", "conformance", "--refresh", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["checked"] == 0
    assert set(WorkflowCheckRecord.objects.values_list("root_id", flat=True)) > {
        r.pk for r in roots
    }
    assert WorkflowCheckRecord.objects.count() == 6
    lines = result.stderr.splitlines()
    assert "usm: 2 of 6 workflows checked" in lines[0]
    assert "usm: 4 of 6 workflows checked" in lines[1]
    assert lines[-1].startswith("usm: 6 workflow(s) checked in ")
    again = run("control", "conformance", "--refresh", "--from", "2024-01-01", "--to", "2024-03-31")
    assert again.stderr.strip() == "usm: every ended workflow has been checked already"
    assert again.exit_code == 1  # the deviating workflow
    assert "5 conforming" in again.stdout and "unrecorded_repeat" in again.stdout


def test_rebuild_drops_the_kept_checks_and_checks_the_logs_again(provider, walk):
    from usm.control.models import ConformanceMark

    root = walk(4)
    record_workflow_checks()
    assert ConformanceMark.objects.get(pk=1).through > 0
    # An event reaches the ended workflow after its check (an import, a repair by hand): the
    # kept check no longer says what the log does, and nothing makes it again by itself.
    deviate(provider, root)
    args = ["control", "conformance", "--from", "2024-03-04", "--to", "2024-03-04", "--json"]
    kept = run(*args)
    assert kept.exit_code == 0 and json.loads(kept.stdout)["deviations_total"] == 0
    bad = run(*args, "--rebuild", "--provider", "nobody")
    assert bad.exit_code == 2 and WorkflowCheckRecord.objects.count() == 1  # nothing dropped
    rebuilt = run(*args, "--rebuild")
    assert rebuilt.exit_code == 1, rebuilt.output  # now it deviates
    assert json.loads(rebuilt.stdout)["deviations_total"] == 1
    assert rebuilt.stderr.splitlines()[0] == "usm: 1 kept check(s) dropped"
    assert WorkflowCheckRecord.objects.get(root=root).deviations == 1
    # The mark starts over, and the next sweep's round walks the log from its start.
    assert ConformanceMark.objects.get(pk=1).through == 0
    assert record_workflow_checks().through > 0


def test_a_round_under_way_when_the_checks_are_dropped_leaves_the_mark_at_the_start(
    provider, walk, monkeypatch
):
    from usm.control import conformance
    from usm.control.models import ConformanceMark
    from usm.control.services import forget_workflow_checks

    walk(4)
    walk(5)
    replay = conformance.replay
    dropped = []

    def dropped_meanwhile(model, batch):
        # Another process runs `--rebuild` while this round checks what it read past the mark.
        if not dropped:
            dropped.append(forget_workflow_checks())
        return replay(model, batch)

    monkeypatch.setattr(conformance, "replay", dropped_meanwhile)
    record_workflow_checks()
    assert dropped == [0]
    # The round did not move the mark past the dropped checks: the next starts from 0.
    assert ConformanceMark.objects.get(pk=1).through == 0
    monkeypatch.setattr(conformance, "replay", replay)
    assert record_workflow_checks().through > 0
    assert WorkflowCheckRecord.objects.count() == 2
