"""The sweep's conformance round reads the event log from its mark on: what ended since the last
round, never the whole register again. A new model or checker starts it over; a workflow that
cannot be checked, or that another worker held, is listed to retry instead of holding the mark."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.concurrency import two_workers_at_once
from tests.control.conftest import MODEL, MONDAY, unreadable
from usm.calls.models import Call, CallEvent
from usm.control import conformance, services
from usm.control.models import ConformanceMark, WorkflowCheckRecord
from usm.control.services import record_workflow_checks

pytestmark = pytest.mark.django_db


def kept() -> set[int]:
    return set(WorkflowCheckRecord.objects.values_list("root_id", flat=True))


def newest_event() -> int:
    return CallEvent.objects.order_by("-pk").values_list("pk", flat=True).first()


def mark() -> ConformanceMark:
    return ConformanceMark.objects.get(pk=1)


def workflows(walk, count: int, first_hour: int = 0) -> list[Call]:
    return [walk(5, start=MONDAY + timedelta(hours=first_hour + n)) for n in range(count)]


@pytest.fixture
def replays(monkeypatch):
    """How many times each workflow was replayed."""
    counted: Counter = Counter()
    replay = conformance.replay

    def counting(model, roots):
        for root_id, check in replay(model, roots):
            counted[root_id] += 1
            yield root_id, check

    monkeypatch.setattr(conformance, "replay", counting)
    return counted


def test_a_round_checks_each_ended_workflow_once_and_moves_the_mark(walk, replays, monkeypatch):
    monkeypatch.setattr(services, "CHECK_WINDOW", 7)  # a few events: many windows
    roots = workflows(walk, 4)
    still_open = walk(4, stop_before="INC-6")
    report = record_workflow_checks()
    assert (report.checked, report.more, report.retry) == (4, False, 0)
    assert replays == {r.pk: 1 for r in roots}
    assert kept() == {r.pk for r in roots}
    assert report.through == mark().through == newest_event()
    assert mark().checked_with == conformance.checked_with(MODEL)
    assert still_open.pk not in kept()


def test_a_round_with_nothing_new_reads_only_the_mark(walk):
    workflows(walk, 3)
    record_workflow_checks()
    with CaptureQueriesContext(connection) as queries:
        report = record_workflow_checks()
    assert (report.checked, report.through) == (0, newest_event())
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    # The newest event id committed, and the mark.
    assert len(reads) == 2 and ConformanceMark._meta.db_table in reads[1]
    assert f'"{Call._meta.db_table}"' not in " ".join(reads)


def test_the_next_round_reads_the_events_after_the_mark(walk, staff):
    from usm.calls import services as calls

    done = workflows(walk, 2)
    record_workflow_checks()
    through = mark().through
    late = walk(4, start=MONDAY + timedelta(hours=5), stop_before="INC-6")
    for step in ("INC-6", "INC-7"):
        calls.complete_step(late, staff, step, at=MONDAY + timedelta(hours=9))
    # A check lost long ago is not the round's business: it reads what was written since.
    WorkflowCheckRecord.objects.filter(root=done[0]).delete()
    with CaptureQueriesContext(connection) as queries:
        report = record_workflow_checks()
    assert report.checked == 1 and kept() == {done[1].pk, late.pk}
    assert report.through == newest_event() > through
    windows = [q["sql"] for q in queries.captured_queries if CallEvent._meta.db_table in q["sql"]]
    assert any(f"> {through}" in sql and f"<= {newest_event()}" in sql for sql in windows)
    # A new model or checker revision starts the mark over: every check is made again.
    revision = conformance.CHECKER_REVISION
    try:
        conformance.CHECKER_REVISION = revision + 1
        again = record_workflow_checks()
    finally:
        conformance.CHECKER_REVISION = revision
    assert again.checked == 3 and kept() == {done[0].pk, done[1].pk, late.pk}
    assert mark().checked_with.endswith(f"checker {revision + 1}")


def test_the_limit_keeps_the_mark_at_the_window_it_stopped_in(walk, monkeypatch):
    roots = workflows(walk, 5)
    events = list(CallEvent.objects.order_by("pk").values_list("pk", flat=True))
    # Windows of two workflows' events: the limit falls inside the second.
    per_workflow = len(events) // len(roots)
    monkeypatch.setattr(services, "CHECK_WINDOW", 2 * per_workflow)
    first = record_workflow_checks(batch=2, limit=3)
    assert (first.checked, first.more) == (3, True)
    assert kept() == {r.pk for r in roots[:3]}
    assert mark().through == first.through == events[0] - 1 + 2 * per_workflow
    second = record_workflow_checks(batch=2, limit=3)
    assert (second.checked, second.more) == (2, False)
    assert kept() == {r.pk for r in roots}
    assert mark().through == newest_event()


def test_a_round_reads_at_most_its_events_past_the_mark(walk, monkeypatch):
    roots = workflows(walk, 3)
    per_workflow = CallEvent.objects.count() // len(roots)
    monkeypatch.setattr(services, "CHECK_WINDOW", per_workflow)
    for n, root in enumerate(roots):
        report = record_workflow_checks(events=per_workflow)
        assert (report.checked, report.more) == (1, n < 2)
        assert root.pk in kept() and len(kept()) == n + 1
    assert mark().through == newest_event()


def test_a_workflow_that_cannot_be_checked_is_retried_without_holding_the_mark(
    walk, monkeypatch, caplog
):
    roots = workflows(walk, 3)
    broken = roots[1]
    repair = unreadable(monkeypatch, broken)
    report = record_workflow_checks()
    # Its batch is tried again workflow by workflow: only the broken one is left.
    assert (report.checked, report.failed, report.retry) == (2, 1, 1)
    assert kept() == {roots[0].pk, roots[2].pk}
    assert "an unreadable log" in caplog.text
    assert (mark().through, mark().retry) == (newest_event(), [broken.pk])
    # Still broken: still listed, the mark where it was.
    assert record_workflow_checks().failed == 1 and mark().retry == [broken.pk]
    repair()
    fixed = record_workflow_checks()
    assert (fixed.checked, fixed.failed, fixed.retry) == (1, 0, 0)
    assert kept() == {r.pk for r in roots} and mark().retry == []


def test_a_full_retry_list_holds_the_mark_instead_of_growing(walk, monkeypatch):
    monkeypatch.setattr(services, "RETRY_KEPT", 0)
    roots = workflows(walk, 2)
    repair = unreadable(monkeypatch, roots[1])
    report = record_workflow_checks()
    assert (report.checked, report.failed, report.through) == (1, 1, 0)
    assert (mark().through, mark().retry) == (0, [])
    repair()
    assert record_workflow_checks().checked == 1
    assert mark().through == newest_event()


def test_a_round_waits_for_a_log_being_written_in_bulk(walk, monkeypatch):
    workflows(walk, 1)

    def locked():
        raise OperationalError("lock timeout")

    monkeypatch.setattr(services, "_committed_through", locked)
    report = record_workflow_checks()
    assert (report.deferred, report.checked) == (True, 0)
    assert not ConformanceMark.objects.exists() and not kept()


def test_the_calls_given_leave_the_mark_alone(walk):
    roots = workflows(walk, 2)
    assert record_workflow_checks(Call.objects.filter(pk=roots[0].pk)).checked == 1
    assert not ConformanceMark.objects.exists()
    assert record_workflow_checks().checked == 1 and kept() == {r.pk for r in roots}


@pytest.mark.django_db(transaction=True)
def test_a_workflow_held_by_another_transaction_is_retried(walk):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks to pass over")
    roots = workflows(walk, 2)
    held, release, errors = threading.Event(), threading.Event(), []

    def hold():
        try:
            with transaction.atomic():
                list(Call.objects.select_for_update().filter(pk=roots[0].pk).values_list("pk"))
                held.set()
                release.wait(30)
        except Exception as exc:  # reported below
            errors.append(exc)
            held.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(30)
    try:
        report = record_workflow_checks()
    finally:
        release.set()
        holder.join(30)
    assert errors == []
    assert (report.checked, report.passed_over, report.retry) == (1, 1, 1)
    assert mark().through == newest_event() and mark().retry == [roots[0].pk]
    again = record_workflow_checks()
    assert (again.checked, again.retry) == (1, 0)
    assert kept() == {r.pk for r in roots}


@pytest.mark.django_db(transaction=True)
def test_two_workers_from_the_mark_check_each_workflow_once(walk, replays, monkeypatch):
    monkeypatch.setattr(services, "CHECK_WINDOW", 40)
    roots = [walk(4, start=MONDAY + timedelta(minutes=10 * n)) for n in range(16)]
    slow = conformance.replay

    def slowly(model, batch):
        # Slow enough that the other worker meets this one's locked batch.
        for found in slow(model, batch):
            threading.Event().wait(0.01)
            yield found

    monkeypatch.setattr(conformance, "replay", slowly)
    reports = two_workers_at_once(lambda: record_workflow_checks(batch=3))
    assert replays == {r.pk: 1 for r in roots}
    assert sum(r.checked for r in reports) == 16
    assert kept() == {r.pk for r in roots}
    assert mark().through == newest_event()
    # What one passed over, the other checked: the next round finds nothing left to retry.
    after = record_workflow_checks()
    assert (after.checked, after.retry) == (0, 0)
    if connection.vendor == "postgresql":
        assert all(r.checked for r in reports)
        assert sum(r.passed_over for r in reports) > 0
