"""The sweep's last stage: every ended workflow checked once and kept, in bounded rounds, by as
many workers as run, and a broken log holding up nothing but itself."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from tests.concurrency import two_workers_at_once
from tests.control.conftest import MODEL, MONDAY, unreadable
from usm.calls import services
from usm.calls.models import Call, CallEvent
from usm.control.models import WorkflowCheckRecord
from usm.control.services import record_workflow_checks
from usm.control.sweep import sweep

pytestmark = pytest.mark.django_db
NOW = MONDAY + timedelta(days=2)


def kept() -> set[int]:
    return set(WorkflowCheckRecord.objects.values_list("root_id", flat=True))


def test_a_sweep_checks_each_ended_workflow_once(staff, walk):
    ended = [walk(4), walk(5), walk(2, repeat=("CHM-5", "CHM-3"))]
    aborted = walk(3, stop_before="CHM-4")
    services.abort_workflow(aborted, staff, "withdrawn", at=MONDAY + timedelta(hours=4))
    still_open = walk(4, stop_before="INC-6")
    first = sweep(NOW)
    assert first.conformance.as_dict() == {
        "checked": 4,
        "passed_over": 0,
        "failed": 0,
        "more": False,
        "through": CallEvent.objects.order_by("pk").last().pk,
        "retry": 0,
        "deferred": False,
    }
    assert kept() == {r.pk for r in ended} | {aborted.pk}
    # Nothing ended since: the next sweep checks nothing, and keeps what it had.
    before = dict(WorkflowCheckRecord.objects.values_list("root_id", "result"))
    assert sweep(NOW).conformance.checked == 0
    assert dict(WorkflowCheckRecord.objects.values_list("root_id", "result")) == before
    # The open one ends: the sweep after that checks it, and only it.
    for step in ("INC-6", "INC-7"):
        services.complete_step(still_open, staff, step, at=MONDAY + timedelta(hours=5))
    again = sweep(NOW)
    assert again.conformance.checked == 1 and kept() == set(before) | {still_open.pk}
    assert again.as_dict()["workflows_checked"]["checked"] == 1


def test_a_check_made_by_another_checker_is_made_again(walk, monkeypatch):
    from usm.control import conformance

    first = walk(4)
    walk(5)
    record_workflow_checks()
    WorkflowCheckRecord.objects.filter(root=first).update(
        checked_with="an older checker", result={"not": "a check"}
    )
    # Given the calls to look at, a round finds the stale check among them.
    assert record_workflow_checks(Call.objects.all()).checked == 1
    assert WorkflowCheckRecord.objects.get(root=first).result["root"] == first.number
    # A new checker revision: the sweep's round starts over and makes every check again.
    monkeypatch.setattr(conformance, "CHECKER_REVISION", conformance.CHECKER_REVISION + 1)
    assert record_workflow_checks().checked == 2
    made_with = set(WorkflowCheckRecord.objects.values_list("checked_with", flat=True))
    assert made_with == {conformance.checked_with(MODEL)}


def test_a_round_stops_at_its_limit_and_the_next_goes_on(walk):
    roots = [walk(5, start=MONDAY + timedelta(hours=h)) for h in range(5)]
    first = record_workflow_checks(batch=2, limit=3)
    assert (first.checked, first.more) == (3, True)
    assert kept() == {r.pk for r in roots[:3]}  # in the order of the register
    rest = record_workflow_checks(batch=2, limit=3)
    assert (rest.checked, rest.more) == (2, False)
    assert kept() == {r.pk for r in roots}


def test_the_sweep_bounds_its_checks(walk):
    for hours in range(3):
        walk(5, start=MONDAY + timedelta(hours=hours))
    report = sweep(NOW, checks=2)
    assert (report.conformance.checked, report.conformance.more) == (2, True)
    assert sweep(NOW, checks=2).conformance.as_dict()["checked"] == 1


def test_a_batch_that_fails_holds_up_only_itself(walk, monkeypatch, caplog):
    roots = [walk(5, start=MONDAY + timedelta(hours=h)) for h in range(3)]
    repair = unreadable(monkeypatch, roots[1])
    report = record_workflow_checks(batch=1)
    assert (report.checked, report.failed) == (2, 1)
    assert kept() == {roots[0].pk, roots[2].pk}
    assert "an unreadable log" in caplog.text
    repair()
    assert record_workflow_checks().checked == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_check_each_workflow_once(walk, monkeypatch):
    from usm.control import conformance

    roots = [walk(4, start=MONDAY + timedelta(minutes=10 * n)) for n in range(16)]
    replayed: Counter = Counter()
    replay = conformance.replay

    def counted(model, batch):
        # Slow enough that the other worker meets this one's locked batch.
        for root_id, check in replay(model, batch):
            replayed[root_id] += 1
            threading.Event().wait(0.01)
            yield root_id, check

    monkeypatch.setattr(conformance, "replay", counted)
    reports = two_workers_at_once(lambda: record_workflow_checks(batch=3))
    assert replayed == {r.pk: 1 for r in roots}
    assert sum(r.checked for r in reports) == 16
    assert kept() == {r.pk for r in roots}
    if connection.vendor == "postgresql":
        # Both really ran at once: one passed over batches the other held.
        assert all(r.checked for r in reports)
        assert sum(r.passed_over for r in reports) > 0
