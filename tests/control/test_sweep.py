"""The SLA sweep: breaches recorded once, warnings and escalations once per level, business
time for the warning, held calls left alone, several sweeps at once, and the worker."""

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from tests.concurrency import two_workers_at_once
from tests.control.conftest import MONDAY, register
from usm.calls import services
from usm.calls.models import CallEvent
from usm.control.models import DeadlineWatch, EscalationPolicy, Notification, WorkflowCheckRecord
from usm.control.sweep import sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(desk, provider):
    """A workflow manager, and the policy: warn at half the agreed time, escalate two hours
    after a missed deadline."""
    from usm.organisation.models import Person, Profile

    person = Person.objects.create(provider=provider, name="Max Manager", email="max@acme.test")
    profile = Profile.objects.create(provider=provider, name="Workflow manager")
    profile.holders.add(person)
    EscalationPolicy.objects.create(
        provider=provider,
        warning_fraction=0.5,
        manager_delay=timedelta(hours=2),
        manager_profile=profile,
    )
    return person


def at(hour, minute=0):
    return MONDAY.replace(hour=hour, minute=minute)


def sent(mailoutbox):
    return [(m.to[0], m.subject) for m in mailoutbox]


def test_warn_breach_and_escalate_each_once(desk, staff, manager, mailoutbox):
    # Priority 1 at 07:00 UTC: respond by 08:00, resolve by 11:00 (business hours run from 07:00).
    incident = register(desk, staff, "incident", at(7))
    number = incident.number
    assert sweep(at(7, 20)).notifications == 0
    # Half the response time has run at 07:30.
    assert sweep(at(7, 31)).notifications == 1
    report = sweep(at(8, 1))
    assert report.breaches == [f"{number} response"]
    assert sweep(at(8, 2)).breaches == []
    assert sweep(at(9, 5)).notifications == 1  # half of the four resolution hours
    report = sweep(at(10, 2))  # two hours after the missed response
    assert report.notifications == 1 and report.breaches == []
    for _ in range(2):
        again = sweep(at(10, 3))
        assert (again.notifications, again.sent, again.breaches) == (0, 0, [])
    assert sent(mailoutbox) == [
        ("dana@acme.test", f"[usm] {number}: response due 2024-03-04 08:00 UTC"),
        ("dana@acme.test", f"[usm] {number}: response deadline missed (2024-03-04 08:00 UTC)"),
        ("dana@acme.test", f"[usm] {number}: resolution due 2024-03-04 11:00 UTC"),
        ("max@acme.test", f"[usm] {number}: response still owed since 2024-03-04 08:00 UTC"),
    ]
    breaches = CallEvent.objects.filter(call=incident, kind="deadline_breached")
    assert list(breaches.values_list("outcome", "at")) == [("response", at(8, 1))]
    assert Notification.objects.filter(sent_at__isnull=True).count() == 0


def test_a_met_deadline_is_no_longer_watched(desk, staff, manager, mailoutbox):
    incident = register(desk, staff, "incident", at(7))
    services.complete_step(incident, staff, "INC-1", at=at(7, 10))
    sweep(at(7, 40))
    assert list(DeadlineWatch.objects.values_list("deadline", flat=True)) == ["resolution"]
    assert mailoutbox == []


def test_the_warning_counts_business_time(desk, staff, manager):
    EscalationPolicy.objects.update(warning_fraction=0.75)
    # Friday 15:30 UTC is 16:30 in Amsterdam: half an hour of service left that day. Three
    # quarters of the hour run out on Monday at 07:15 UTC, not during the weekend.
    friday = datetime(2024, 3, 8, 15, 30, tzinfo=UTC)
    incident = register(desk, staff, "incident", friday)
    assert incident.response_due == datetime(2024, 3, 11, 7, 30, tzinfo=UTC)
    sweep(friday + timedelta(minutes=1))
    row = DeadlineWatch.objects.get(call=incident, deadline="response")
    assert row.warn_at == datetime(2024, 3, 11, 7, 15, tzinfo=UTC)
    assert sweep(datetime(2024, 3, 10, 12, 0, tzinfo=UTC)).notifications == 0


def test_a_pause_moves_the_warning_with_the_deadline(desk, staff, manager):
    incident = register(desk, staff, "incident", at(7))
    sweep(at(7, 5))
    services.hold_call(incident, staff, "waiting for the requester", at=at(7, 10))
    services.release_call(incident, staff, at=at(7, 40))
    sweep(at(7, 45))
    row = DeadlineWatch.objects.get(call=incident, deadline="response")
    # Half an hour held: due 08:30; half of the hour has run at 07:10 + 20 minutes after 07:40.
    assert (row.due, row.warn_at) == (at(8, 30), at(8))


def test_a_call_on_hold_is_not_swept(desk, staff, manager, mailoutbox):
    incident = register(desk, staff, "incident", at(7))
    services.hold_call(incident, staff, "waiting for the requester", at=at(7, 10))
    report = sweep(at(12))
    assert report.breaches == [] and mailoutbox == []
    assert not CallEvent.objects.filter(call=incident, kind="deadline_breached").exists()


def test_without_a_manager_the_sweep_stops_at_the_coordinator(desk, staff, mailoutbox):
    incident = register(desk, staff, "incident", at(7))
    report = sweep(at(12))  # the default policy: no manager profile named
    assert report.breaches == [f"{incident.number} response", f"{incident.number} resolution"]
    assert {m.to[0] for m in mailoutbox} == {"dana@acme.test"}
    assert any("nobody holds" in line for line in report.unrouted)


def test_a_failing_mail_server_leaves_the_notification_for_the_next_sweep(
    desk, staff, manager, mailoutbox, settings
):
    register(desk, staff, "incident", at(7))
    settings.EMAIL_BACKEND = "tests.control.test_sweep.BrokenMail"
    report = sweep(at(7, 31))
    assert report.notifications == 1 and report.sent == 0 and report.failures
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sweep(at(7, 32)).sent == 1
    assert len(mailoutbox) == 1


class BrokenMail:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("no mail server")


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_record_and_escalate_once(desk, staff, manager, mailoutbox):
    incidents = [register(desk, staff, "incident", at(7)) for _ in range(12)]
    # At 10:30: the response (08:00) was missed and escalated (10:00); the resolution (11:00)
    # is past its warning (09:00).
    now = at(10, 30)
    reports = two_workers_at_once(lambda: sweep(now, batch=3))
    breaches = CallEvent.objects.filter(kind="deadline_breached")
    assert Counter(breaches.values_list("call_id", "outcome")) == {
        (i.pk, "response"): 1 for i in incidents
    }
    assert sum(len(r.breaches) for r in reports) == 12
    kinds = Counter(Notification.objects.values_list("kind", "deadline", "recipient__name"))
    assert kinds == {
        ("breach", "response", "Dana Desk"): 12,
        ("escalation", "response", "Max Manager"): 12,
        ("warning", "resolution", "Dana Desk"): 12,
    }
    assert sum(r.notifications for r in reports) == 36
    assert len(mailoutbox) == 36
    assert len({(m.to[0], m.subject) for m in mailoutbox}) == 36


def test_the_worker_runs_a_scheduled_sweep(desk, staff, walk, monkeypatch):
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    from usm.control.tasks import schedule_sweep

    # The worker closes stale connections between tasks; here that would be the test's own.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    incident = register(desk, staff, "incident", at(7))
    ended = walk(5)
    assert schedule_sweep() is True
    assert schedule_sweep() is False  # one is already waiting
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", verbosity=0)
    (result,) = DBTaskResult.objects.all()
    assert result.status == "SUCCESSFUL"
    assert set(result.return_value["breaches"]) == {
        f"{incident.number} response",
        f"{incident.number} resolution",
    }
    # The sweep's last stage kept the check of the workflow that had ended.
    assert result.return_value["workflows_checked"]["checked"] == 1
    assert WorkflowCheckRecord.objects.filter(root=ended).exists()
    assert schedule_sweep() is True


def test_the_sweep_keeps_sqlites_planner_statistics(desk, staff, monkeypatch):
    from django.db import connection

    from usm import planner_statistics

    monkeypatch.setattr(planner_statistics, "_refreshed_at", None)
    for hour in (9, 10, 11):
        register(desk, staff, "incident", at(hour))
    first = sweep(at(12))
    if connection.vendor != "sqlite":
        assert first.analysed == []  # PostgreSQL's autovacuum analyses
        return
    assert {"calls_call", "calls_callevent"} <= set(first.analysed)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        analysed = {table for (table,) in cursor.fetchall()}
    assert {"calls_call", "calls_callevent"} <= analysed
    # Within the hour the next sweep leaves them alone; after it, it looks again.
    assert sweep(at(12, 5)).analysed == []
    monkeypatch.setattr(planner_statistics, "_refreshed_at", time.monotonic() - 3601)
    assert "calls_call" in sweep(at(12, 10)).analysed  # its empty idempotency-key index
