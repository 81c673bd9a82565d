"""The SLA sweep: the one writer of notifications and of the deadline watch list.

One sweep, at instant `now`:

1. watch: every open deadline (a response or resolution still owed) gets a watch row with the
   instant to warn at (the policy's share of the agreed business time) and the instant to
   escalate at (the deadline plus the policy's delay). Rows are recomputed only when a call's
   due time changed, and dropped once the deadline is met or the call has ended.
2. act: the calls with a watch row whose next instant has come are claimed a batch at a time
   (PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so two sweeps never hold the same call; the
   call services take the same row lock, so a sweep and a step completion queue up). For each:
   a passed deadline is recorded once in the event log (`calls.services.record_breaches`), and
   the coordinator is warned before it, told of the breach, and the workflow manager told when
   it is still owed after the delay. A notification is a row, unique per call, person, kind and
   deadline: the constraint is the backstop should two sweeps still meet.
3. deliver: unsent notifications are claimed the same way and e-mailed; a failing mail server
   leaves them unsent for the next sweep.
4. tally: the events written since the last sweep are added to the day tallies the KPIs read
   (`usm.control.services.keep_event_tallies`), at most TALLIES_PER_SWEEP of them.
5. check: the workflows that ended since the last sweep are checked against their templates and
   the checks kept (`usm.control.services.record_workflow_checks`): those with events written
   after the conformance mark, which then moves on, so the stage costs what was written since,
   not the register. At most CHECKS_PER_SWEEP workflows and CHECK_EVENTS_PER_SWEEP event ids,
   so that a register checked for the first time does not hold up the next sweep's deadlines;
   the rest follow in the sweeps after it. Last, because deadlines cannot wait and conformance
   can.
6. statistics: on SQLite, the tables the sweep has read are analysed when their planner
   statistics are missing or out of date (`usm.planner_statistics`).

Calls on hold are skipped: their clock stands still until they are released, which moves their
due times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from usm import planner_statistics
from usm.agreements import queries
from usm.calls.models import Call
from usm.calls.services import record_breaches
from usm.control.choices import Deadline, NotificationKind
from usm.control.models import DeadlineWatch, EscalationPolicy, Notification
from usm.control.services import (
    Tallying,
    WorkflowChecking,
    keep_event_tallies,
    record_workflow_checks,
)
from usm.engine.business_time import SlaClock
from usm.organisation.queries import people_holding

logger = logging.getLogger(__name__)

# Statuses in which a call's clock runs. On hold it stands still; ended, nothing is owed.
SWEPT = ("open", "in_progress", "waiting", "process_fulfilled", "workflow_fulfilled")
DONE_FIELD = {Deadline.RESPONSE: "responded_at", Deadline.RESOLUTION: "resolved_at"}
WARNED, BREACHED, ESCALATED = 1, 2, 3
BATCH = 200
# At a few thousand workflows a second, a few seconds of every sweep.
CHECKS_PER_SWEEP = 10_000
# Event ids the check reads past its mark per sweep (a second or two): a mark started over on a
# large log (a new model or checker, or the first sweep after an upgrade) catches up over several.
CHECK_EVENTS_PER_SWEEP = 2_000_000
# Events added to the day tallies per sweep: a register tallied for the first time catches up
# over several sweeps.
TALLIES_PER_SWEEP = 500_000


@dataclass
class SweepReport:
    at: datetime
    watched: int = 0
    claimed: int = 0
    passed_over: int = 0
    breaches: list[str] = field(default_factory=list)
    notifications: int = 0
    sent: int = 0
    unrouted: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    tallies: Tallying = field(default_factory=Tallying)
    conformance: WorkflowChecking = field(default_factory=WorkflowChecking)
    analysed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "watched": self.watched,
            "claimed": self.claimed,
            "passed_over": self.passed_over,
            "breaches": self.breaches,
            "notifications": self.notifications,
            "sent": self.sent,
            "unrouted": self.unrouted,
            "failures": self.failures,
            "events_tallied": self.tallies.as_dict(),
            "workflows_checked": self.conformance.as_dict(),
            "tables_analysed": self.analysed,
        }


def sweep(
    now: datetime | None = None, *, batch: int = BATCH, checks: int = CHECKS_PER_SWEEP
) -> SweepReport:
    """One sweep over every provider's open calls, then over the workflows ended since the
    last (see the module notes)."""
    report = SweepReport(now or timezone.now())
    policies = _Policies()
    watch(report, policies)
    for ids in _due_batches(report.at, batch):
        _act(ids, report, policies)
    deliver(report)
    report.tallies = keep_event_tallies(limit=TALLIES_PER_SWEEP)
    report.conformance = record_workflow_checks(limit=checks, events=CHECK_EVENTS_PER_SWEEP)
    report.analysed = planner_statistics.refresh()
    return report


# -- 1. watch -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _ShareClock(SlaClock):
    """An SLA clock whose budget is a share of its target's: its deadline is the instant that
    share of the agreed time has run, pauses included, exactly as the real deadline is found."""

    share: float = 1.0

    @cached_property
    def budget(self):
        return SlaClock.budget.func(self) * self.share


class _Policies:
    """Escalation policies and service hours, read once per sweep."""

    def __init__(self):
        self._policies = {
            (p.provider_id, p.agreement_id): p
            for p in EscalationPolicy.objects.select_related("manager_profile")
        }
        self._hours: dict[int, object] = {}

    def of(self, call: Call) -> EscalationPolicy:
        found = self._policies.get((call.provider_id, call.agreement_id))
        found = found or self._policies.get((call.provider_id, None))
        return found or EscalationPolicy(provider_id=call.provider_id)

    def warning_instant(self, call: Call, which: str, share: float) -> datetime | None:
        agreement = call.agreement
        norm = queries.norm_for(agreement, call.call_type, call.priority)
        if norm is None:
            return None
        if agreement.pk not in self._hours:
            self._hours[agreement.pk] = queries.service_hours(agreement.calendar)
        pauses = tuple(
            call.pauses.filter(ended_at__isnull=False).values_list("started_at", "ended_at")
        )
        clock = _ShareClock(
            self._hours[agreement.pk], call.created_at, queries.target(norm, which), pauses, share
        )
        return clock.deadline


def _owed(which: str) -> Q:
    return Q(**{f"{which}_due__isnull": False, f"{DONE_FIELD[which]}__isnull": True})


def watch(report: SweepReport, policies: _Policies, batch: int = BATCH) -> None:
    """Bring the watch list up to date with the register."""
    DeadlineWatch.objects.filter(
        Q(call__status__in=("closed", "aborted"))
        | Q(deadline=Deadline.RESPONSE, call__responded_at__isnull=False)
        | Q(deadline=Deadline.RESOLUTION, call__resolved_at__isnull=False)
    ).delete()
    for which in Deadline.values:
        current = DeadlineWatch.objects.filter(
            call=OuterRef("pk"), deadline=which, due=OuterRef(f"{which}_due")
        )
        stale = (
            Call.objects.filter(_owed(which), status__in=SWEPT)
            .exclude(Exists(current))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        ids = list(stale)
        for start in range(0, len(ids), batch):
            calls = Call.objects.filter(pk__in=ids[start : start + batch]).select_related(
                "agreement__calendar"
            )
            rows = [_watch_row(call, which, policies) for call in calls.order_by("pk")]
            with transaction.atomic():
                DeadlineWatch.objects.bulk_create(
                    [row for row in rows if row is not None],
                    update_conflicts=True,
                    unique_fields=["call", "deadline"],
                    update_fields=["due", "warn_at", "escalate_at"],
                )
            report.watched += len(rows)


def _watch_row(call: Call, which: str, policies: _Policies) -> DeadlineWatch | None:
    due = getattr(call, f"{which}_due")
    if due is None:
        return None
    policy = policies.of(call)
    warn_at = due
    if policy.warning_fraction < 1 and call.agreement_id:
        early = policies.warning_instant(call, which, policy.warning_fraction)
        if early is not None:
            warn_at = min(early, due)
    return DeadlineWatch(
        call=call,
        deadline=which,
        due=due,
        warn_at=warn_at,
        escalate_at=due + policy.manager_delay,
    )


# -- 2. act ---------------------------------------------------------------------------------------
def _due_batches(now: datetime, batch: int):
    """The ids of calls with something to do, a batch at a time, lowest id first."""
    pending = (
        DeadlineWatch.objects.filter(call__status__in=SWEPT)
        .filter(
            Q(stage__lt=WARNED, warn_at__lte=now)
            | Q(stage__lt=BREACHED, due__lt=now)
            | Q(stage__lt=ESCALATED, escalate_at__lte=now, due__lt=now)
        )
        .order_by("call_id")
        .values_list("call_id", flat=True)
        .distinct()
    )
    ids = list(pending)
    for start in range(0, len(ids), batch):
        yield ids[start : start + batch]


def _act(ids: list[int], report: SweepReport, policies: _Policies) -> None:
    now = report.at
    with transaction.atomic():
        claimed = list(
            Call.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, status__in=SWEPT)
            .order_by("pk")
        )
        report.claimed += len(claimed)
        report.passed_over += len(ids) - len(claimed)
        watches = {
            (w.call_id, w.deadline): w
            for w in DeadlineWatch.objects.filter(call__in=claimed).order_by("call_id", "deadline")
        }
        for call in claimed:
            report.breaches += [f"{call.number} {which}" for which in record_breaches(call, now)]
            for which in Deadline.values:
                row = watches.get((call.pk, which))
                if row is not None and getattr(call, DONE_FIELD[which]) is None:
                    _escalate(call, row, now, report, policies)


def _escalate(call, row: DeadlineWatch, now, report: SweepReport, policies: _Policies) -> None:
    stage = row.stage
    due = getattr(call, f"{row.deadline}_due") or row.due
    if stage < WARNED and row.warn_at <= now < due:
        _notify(call, row.deadline, NotificationKind.WARNING, call.accountable_profile, due, report)
        stage = WARNED
    if stage < BREACHED and now > due:
        _notify(call, row.deadline, NotificationKind.BREACH, call.accountable_profile, due, report)
        stage = BREACHED
    if stage < ESCALATED and now > due and now >= row.escalate_at:
        manager = policies.of(call).manager_profile
        _notify(call, row.deadline, NotificationKind.ESCALATION, manager, due, report)
        stage = ESCALATED
    if stage != row.stage:
        row.stage = stage
        row.save(update_fields=["stage"])


def _notify(call, which: str, kind: str, profile, due: datetime, report: SweepReport) -> None:
    people = list(people_holding(profile)) if profile is not None else []
    if not people:
        holder = f"the profile {profile}" if profile else "a profile"
        report.unrouted.append(f"{call.number} {which} {kind}: nobody holds {holder}")
        return
    for person in people:
        try:
            with transaction.atomic():
                Notification.objects.create(
                    provider_id=call.provider_id,
                    call=call,
                    recipient=person,
                    profile=profile,
                    kind=kind,
                    deadline=which,
                    due=due,
                    created_at=report.at,
                    email=person.email,
                )
        except IntegrityError:
            continue  # another sweep got there first
        report.notifications += 1


# -- 3. deliver -----------------------------------------------------------------------------------
def deliver(report: SweepReport, batch: int = 100) -> None:
    """E-mail the notifications not yet sent. One that fails stays unsent for the next sweep."""
    while True:
        with transaction.atomic():
            unsent = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(sent_at__isnull=True)
                .select_related("call__customer", "call__service", "recipient")
                .order_by("created_at", "pk")[:batch]
            )
            if not unsent:
                return
            failed = _send(unsent, report)
        if failed:
            return


def _send(unsent: list[Notification], report: SweepReport) -> bool:
    connection = get_connection()
    for notification in unsent:
        if notification.email:
            subject, body = message(notification)
            try:
                connection.send_messages(
                    [EmailMessage(subject, body, to=[notification.email], connection=connection)]
                )
            except Exception as exc:  # any mail failure: try again next sweep
                logger.warning("notification %s not sent: %s", notification.pk, exc)
                report.failures.append(f"{notification.call.number} to {notification.email}: {exc}")
                return True
        notification.sent_at = report.at
        notification.save(update_fields=["sent_at"])
        report.sent += 1
    return False


def message(notification: Notification) -> tuple[str, str]:
    """Subject and text of a notification's e-mail."""
    call = notification.call
    which = notification.get_deadline_display().lower()
    due = f"{notification.due:%Y-%m-%d %H:%M} UTC"
    subject = {
        NotificationKind.WARNING: f"{call.number}: {which} due {due}",
        NotificationKind.BREACH: f"{call.number}: {which} deadline missed ({due})",
        NotificationKind.ESCALATION: f"{call.number}: {which} still owed since {due}",
    }[notification.kind]
    lines = [
        f"{call.number}  {call.summary}",
        f"Customer: {call.customer or '-'}    Service: {call.service or '-'}",
        f"Priority: {call.priority or '-'}    Status: {call.get_status_display()} at {call.step or '-'}",
        f"{notification.get_deadline_display()} due: {due}",
        "",
        {
            NotificationKind.WARNING: "The deadline is near; you coordinate this workflow.",
            NotificationKind.BREACH: "The deadline has passed; you coordinate this workflow.",
            NotificationKind.ESCALATION: "The deadline passed some time ago and the call is still "
            "open; you manage this workflow.",
        }[notification.kind],
    ]
    return f"[usm] {subject}", "\n".join(lines)
