"""The writer of process control's configuration (the escalation policies), of the kept
conformance checks and of the event log's day tallies. (The SLA sweep, `usm.control.sweep`, is
the one writer of notifications and of its watch list; it calls `keep_event_tallies` and
`record_workflow_checks` as its last stages.)"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import QuerySet

from usm.calls.models import Call, CallEvent
from usm.control import conformance, tallies
from usm.control.models import (
    DEFAULT_MANAGER_DELAY,
    DEFAULT_WARNING_FRACTION,
    DayTally,
    EscalationPolicy,
    EventTallyMark,
    WorkflowCheckRecord,
)
from usm.model import reference_model

logger = logging.getLogger(__name__)

# Workflows checked per transaction. Each batch is a handful of statements whatever its size;
# on SQLite the batch holds the write lock while it is replayed, so it stays well under a second.
CHECK_BATCH = 500
# Batches of workflows to check found by one query.
PAGE = 20
# Event ids read per statement, and written to the tallies per transaction (the figures of
# WRITE_EVERY events held in memory meanwhile: some tens of megabytes at most).
TALLY_BATCH = 100_000
WRITE_EVERY = 2_000_000


@transaction.atomic
def set_escalation_policy(
    provider,
    *,
    agreement=None,
    warning_fraction: float = DEFAULT_WARNING_FRACTION,
    manager_delay: timedelta = DEFAULT_MANAGER_DELAY,
    manager_profile=None,
) -> EscalationPolicy:
    """Create or replace the policy of `agreement` (None: the provider's default). The agreement
    and the manager profile must be the provider's own."""
    errors = {}
    if agreement is not None and agreement.provider_id != provider.pk:
        errors["agreement"] = "is not an agreement of this provider"
    if manager_profile is not None and manager_profile.provider_id != provider.pk:
        errors["manager_profile"] = "is not a profile of this provider"
    if errors:
        raise ValidationError(errors)
    policy = (
        EscalationPolicy.objects.select_for_update()
        .filter(provider=provider, agreement=agreement)
        .first()
    ) or EscalationPolicy(provider=provider, agreement=agreement)
    policy.warning_fraction = warning_fraction
    policy.manager_delay = manager_delay
    policy.manager_profile = manager_profile
    policy.full_clean(validate_unique=False, validate_constraints=False)
    policy.save()
    return policy


@dataclass
class WorkflowChecking:
    """What one round of `record_workflow_checks` did."""

    checked: int = 0
    # Claimed by another worker at the same moment (PostgreSQL): that worker checks them.
    passed_over: int = 0
    # Left unchecked because replaying their batch failed (logged); tried again next round.
    failed: int = 0
    # Stopped at the limit with workflows still to check.
    more: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def record_workflow_checks(
    calls: QuerySet[Call] | None = None,
    *,
    batch: int | None = None,
    limit: int | None = None,
    progress: Callable[[WorkflowChecking], None] | None = None,
) -> WorkflowChecking:
    """Check the ended workflows (accepting calls among `calls`, default every provider's) that
    have no current kept check, and keep the checks: `batch` workflows per transaction, at most
    `limit` in all (`batch` default: CHECK_BATCH). Safe to run in several workers at once: a batch claims its accepting calls
    with `SELECT ... FOR UPDATE SKIP LOCKED` and, holding them, looks again for checks another
    worker kept meanwhile, so no workflow is checked twice. `progress` is called after each
    batch."""
    batch = batch or CHECK_BATCH
    model = reference_model()
    made_with = conformance.checked_with(model)
    left = conformance.unchecked(Call.objects.all() if calls is None else calls, made_with)
    report = WorkflowChecking()
    after = 0
    # Through the register in key order, a page of batches per query, each query starting where
    # the last one stopped: a whole pass walks the register once.
    while True:
        wanted = (
            batch * PAGE if limit is None else min(batch * PAGE, max(limit - report.checked, 1))
        )
        page = list(left.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:wanted])
        if not page:
            return report
        after = page[-1]
        position = 0
        while position < len(page):
            room = batch if limit is None else min(batch, limit - report.checked)
            if room <= 0:
                report.more = True
                return report
            ids = page[position : position + room]
            position += len(ids)
            try:
                _check_batch(model, made_with, ids, report)
            except Exception:  # an unreadable log must not stop the workflows after it
                logger.exception("checking the workflows of calls %s to %s failed", ids[0], ids[-1])
                report.failed += len(ids)
            if progress is not None:
                progress(report)


def _check_batch(model, made_with: str, ids: list[int], report: WorkflowChecking) -> None:
    with transaction.atomic():
        claimed = list(
            Call.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "workflow")
        )
        report.passed_over += len(ids) - len(claimed)
        # A statement of its own, after the lock: what another worker kept before letting go.
        done = set(
            WorkflowCheckRecord.objects.filter(
                root_id__in=[pk for pk, _ in claimed], checked_with=made_with
            ).values_list("root_id", flat=True)
        )
        fresh = [
            WorkflowCheckRecord(root_id=root_id, checked_with=made_with, result=check.as_record())
            for root_id, check in conformance.replay(
                model, [(pk, workflow) for pk, workflow in claimed if pk not in done]
            )
        ]
        # A check made with another model or checker revision is replaced.
        WorkflowCheckRecord.objects.bulk_create(
            fresh,
            update_conflicts=True,
            unique_fields=["root"],
            update_fields=["checked_with", "result"],
        )
    report.checked += len(fresh)


@dataclass
class Tallying:
    """What one round of `keep_event_tallies` did."""

    # The ids passed over: the events tallied, give or take an id a rolled-back write used.
    events: int = 0
    days: int = 0
    through: int = 0
    # The events were being written and the lock to read how far they are committed was not
    # granted in time (PostgreSQL): the next round tries again.
    deferred: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _committed_through() -> int:
    """The highest event id below which every event is committed. PostgreSQL hands out ids
    before commit, so a transaction still writing may hold a lower id than one already
    committed; a SHARE lock on the log waits for those to end (and holds new writers back for
    that moment only). SQLite commits one writer at a time, in id order."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
                cursor.execute(f"LOCK TABLE {CallEvent._meta.db_table} IN SHARE MODE")
        return CallEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def keep_event_tallies(
    *, limit: int | None = None, progress: Callable[[Tallying], None] | None = None
) -> Tallying:
    """Add the events written since the last round to the day tallies, at most `limit` event
    ids in all.

    The events are read TALLY_BATCH ids at a time and their figures gathered in memory, then
    written in one transaction per WRITE_EVERY ids: an event log filled or imported in bulk has
    every batch spread over hundreds of days, and merging each batch into its days' rows would
    rewrite those rows again and again. The writing transaction locks the mark; a worker that
    finds it moved by another meanwhile drops what it read, so no event is added twice."""
    report = Tallying()
    try:
        newest = _committed_through()
    except OperationalError:  # the lock timed out: events are being written in bulk
        report.deferred = True
        return report
    report.through = start = _mark_through()
    while start < newest and (limit is None or report.events < limit):
        end = min(newest, start + WRITE_EVERY)
        if limit is not None:
            end = min(end, start + limit - report.events)
        found: dict = {}
        for first in range(start, end, TALLY_BATCH):
            tallies.merge_into(found, tallies.tallied(first, min(end, first + TALLY_BATCH)))
        with transaction.atomic():
            mark = EventTallyMark.objects.select_for_update().get(pk=1)
            if mark.through != start:  # another worker wrote these events meanwhile
                report.through = start = mark.through
                continue
            report.days += _add_to_days(found)
            mark.through = end
            mark.save(update_fields=["through"])
        report.events += end - start
        report.through = start = end
        if progress is not None:
            progress(report)
    return report


def _mark_through() -> int:
    mark, _ = EventTallyMark.objects.get_or_create(pk=1)
    return mark.through


def _add_to_days(found: dict) -> int:
    """Merge the figures gathered into the kept rows of their provider and day: one read and at
    most two writes per provider."""
    by_provider: dict[int, dict] = {}
    for (provider_id, day), figures in found.items():
        by_provider.setdefault(provider_id, {})[day] = figures
    for provider_id, days in by_provider.items():
        kept = {
            row.day: row
            for row in DayTally.objects.select_for_update().filter(
                provider_id=provider_id, day__in=list(days)
            )
        }
        added, changed = [], []
        for day, figures in days.items():
            row = kept.get(day)
            if row is None:
                row = DayTally(provider_id=provider_id, day=day)
                added.append(row)
            else:
                changed.append(row)
                figures = tallies.DayFigures.of_record(row.counts, row.leads).merged(figures)
            row.counts, row.leads = figures.as_record()
        DayTally.objects.bulk_create(added, batch_size=500)
        DayTally.objects.bulk_update(changed, ["counts", "leads"], batch_size=500)
    return len(found)
