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
    ConformanceMark,
    DayTally,
    EscalationPolicy,
    EventTallyMark,
    WorkflowCheckRecord,
)
from usm.model import reference_model

logger = logging.getLogger(__name__)

# What a kept check holds besides its result (`WorkflowCheck.summary`), replaced with it.
SUMMARY_FIELDS = ("workflow", "aborted", "conforming", "with_repeats", "deviations")
# Workflows checked per transaction. Each batch is a handful of statements whatever its size;
# on SQLite the batch holds the write lock while it is replayed, so it stays well under a second.
CHECK_BATCH = 500
# Batches of workflows to check found by one query (a round given its calls).
PAGE = 20
# Event ids a round reads at a time for the workflows ended since the last round: the events of
# a few thousand workflows.
CHECK_WINDOW = 100_000
# Workflows listed to retry at most (`ConformanceMark.retry`). Past it the mark waits where it is
# rather than the list growing without bound when replays keep failing.
RETRY_KEPT = 1_000
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
    # Held by another worker at the same moment (PostgreSQL): that worker checks them.
    passed_over: int = 0
    # Left unchecked because their replay failed (logged); tried again next round.
    failed: int = 0
    # Stopped at the limit with workflows still to check.
    more: bool = False
    # A round over the whole register: the conformance mark after it (the event id up to which
    # every ended workflow is checked or listed to retry), how many are listed to retry, and
    # whether it found the event log being written in bulk (PostgreSQL) and left it all to the
    # next round.
    through: int = 0
    retry: int = 0
    deferred: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def record_workflow_checks(
    calls: QuerySet[Call] | None = None,
    *,
    batch: int | None = None,
    limit: int | None = None,
    events: int | None = None,
    progress: Callable[[WorkflowChecking], None] | None = None,
) -> WorkflowChecking:
    """Check the ended workflows that have no current kept check, and keep the checks: `batch`
    workflows per transaction (default CHECK_BATCH), at most `limit` checked or failed in all.
    `progress` is called after each batch.

    Without `calls`, the workflows ended since the last round: those whose root has events after
    the conformance mark (`ConformanceMark`), which the round then moves on, so a round with
    nothing new to check reads nothing but the mark; at most `events` ids past the mark are read
    (then `more` is set: a mark started over on a large log catches up over several rounds).
    With `calls`, the workflows of those accepting calls, found by walking them all (the mark is
    neither read nor moved).

    Safe to run in several workers at once: a batch claims its accepting calls with
    `SELECT ... FOR UPDATE SKIP LOCKED` and, holding them, looks again for checks another
    worker kept meanwhile, so no workflow is checked twice."""
    checking = _Checking(batch or CHECK_BATCH, limit, progress)
    if calls is None:
        return _check_since_mark(checking, events)
    left = conformance.unchecked(calls, checking.made_with)
    after = 0
    # Through the accepting calls in key order, a page of batches per query, each query starting
    # where the last one stopped: a whole pass walks them once.
    while not checking.report.more:
        wanted = checking.batch * PAGE
        if limit is not None:
            wanted = min(wanted, max(checking.room(), 1))
        page = list(left.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:wanted])
        if not page:
            break
        after = page[-1]
        checking.check(page)
    return checking.report


class _Checking:
    """One round's batches: its limit, what it found, and which workflows it left unchecked."""

    def __init__(self, batch: int, limit: int | None, progress):
        self.model = reference_model()
        self.made_with = conformance.checked_with(self.model)
        self.batch, self.limit, self.progress = batch, limit, progress
        self.report = WorkflowChecking()

    def room(self) -> int:
        return self.limit - self.report.checked - self.report.failed

    def check(self, ids: list[int]) -> set[int]:
        """Check the workflows of the accepting calls `ids` (none checked yet, lowest first), a
        batch per transaction. Returns those left unchecked: held by another worker, failed, or
        past the limit (which sets `report.more`)."""
        left: set[int] = set()
        position = 0
        while position < len(ids):
            room = self.batch if self.limit is None else min(self.batch, self.room())
            if room <= 0:
                self.report.more = True
                return left.union(ids[position:])
            part = ids[position : position + room]
            position += len(part)
            left |= self._check_part(part)
            if self.progress is not None:
                self.progress(self.report)
        return left

    def _check_part(self, ids: list[int]) -> set[int]:
        try:
            return _check_batch(self.model, self.made_with, ids, self.report)
        except Exception:  # an unreadable log must not stop the workflows after it
            logger.exception("checking the workflows of calls %s to %s failed", ids[0], ids[-1])
        if len(ids) == 1:
            self.report.failed += 1
            return set(ids)
        # Nor the others of its batch: each is tried alone, and only what fails alone is left.
        left = set()
        for root_id in ids:
            try:
                left |= _check_batch(self.model, self.made_with, [root_id], self.report)
            except Exception as exc:
                logger.warning("the workflow of call %s could not be checked: %r", root_id, exc)
                self.report.failed += 1
                left.add(root_id)
        return left


def _check_batch(model, made_with: str, ids: list[int], report: WorkflowChecking) -> set[int]:
    """Check the workflows of `ids` in one transaction; the ids left unchecked (held by another
    worker, or not yet ended after all)."""
    with transaction.atomic():
        claimed = list(
            Call.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "workflow")
        )
        # A statement of its own, after the lock: what another worker kept before letting go.
        done = set(
            WorkflowCheckRecord.objects.filter(
                root_id__in=[pk for pk, _ in claimed], checked_with=made_with
            ).values_list("root_id", flat=True)
        )
        fresh = [
            WorkflowCheckRecord(
                root_id=root_id,
                checked_with=made_with,
                result=check.as_record(),
                **check.summary(),
            )
            for root_id, check in conformance.replay(
                model, [(pk, workflow) for pk, workflow in claimed if pk not in done]
            )
        ]
        # A check made with another model or checker revision is replaced.
        WorkflowCheckRecord.objects.bulk_create(
            fresh,
            update_conflicts=True,
            unique_fields=["root"],
            update_fields=["checked_with", "result", *SUMMARY_FIELDS],
        )
    report.checked += len(fresh)
    report.passed_over += len(ids) - len(claimed)
    return set(ids) - done - {record.root_id for record in fresh}


def _check_since_mark(checking: _Checking, events: int | None) -> WorkflowChecking:
    """The round without `calls` (see `record_workflow_checks`): first the workflows listed to
    retry, then the events after the mark, a window of CHECK_WINDOW ids at a time up to the
    highest id committed (at most `events` ids in all). Every workflow that ended did so by an
    event with its root, so the accepting calls with events in a window, less those checked
    already, are the window's workflows to check.
    Once they are checked (or listed to retry), the mark moves to the window's end; stopping at
    the limit leaves it at the window's start, and the next round looks at that window again."""
    report, made_with = checking.report, checking.made_with
    try:
        newest = _committed_through()
    except OperationalError:  # the lock timed out: events are being written in bulk
        report.deferred = True
        return report
    mark = _conformance_mark(made_with)
    report.through, report.retry = mark.through, len(mark.retry)
    to_retry: set[int] = set()
    resolved: set[int] = set()
    if mark.retry:
        to_retry = checking.check(conformance.unchecked_among(mark.retry, made_with))
        resolved = set(mark.retry) - to_retry
    unsaved = bool(resolved)
    start = began = mark.through
    while start < newest and not report.more:
        if events is not None and start - began >= events:
            report.more = True
            break
        # Ids have gaps (a write rolled back used some): a window begins at the next event.
        following = (
            CallEvent.objects.filter(pk__gt=start).order_by("pk").values_list("pk", flat=True)[0]
        )
        end = min(newest, following - 1 + CHECK_WINDOW)
        roots = (
            CallEvent.objects.filter(pk__gt=start, pk__lte=end)
            .order_by()
            .values_list("root_id", flat=True)
            .distinct()
        )
        due = conformance.unchecked_among(roots, made_with)
        left = checking.check(due)
        if report.more:
            break
        if left:
            # Passed over while another worker held them: by now it has mostly kept them.
            left = set(conformance.unchecked_among(left, made_with))
        if len(to_retry | left) > RETRY_KEPT:
            logger.warning(
                "%s workflows could not be checked; the conformance mark stays at event %s "
                "until they can be",
                len(to_retry | left),
                start,
            )
            break
        to_retry |= left
        mark = _move_mark(made_with, end, to_retry, resolved)
        report.through, start, unsaved = end, end, False
    if unsaved:
        mark = _move_mark(made_with, report.through, to_retry, resolved)
    report.retry = len(mark.retry)
    return report


def forget_workflow_checks() -> int:
    """Drop every kept conformance check and move the mark back to the log's start, in one
    transaction, so that the workflows are checked again from their logs (the command line at
    once, the sweeps as they catch up); returns the checks dropped. For checks that no longer
    say what the log does, without a new checker revision to replace them: events written to an
    ended workflow by hand or by an import. Until checked again a workflow counts as awaiting
    its check, never as conforming or not."""
    with transaction.atomic():
        mark, _ = ConformanceMark.objects.select_for_update().get_or_create(pk=1)
        dropped, _ = WorkflowCheckRecord.objects.all().delete()
        # Made with nothing: a round under way elsewhere, which read the mark before, then
        # leaves it alone (`_move_mark`) instead of moving it past what was dropped, and the
        # next round starts it over from 0 with the current model and checker.
        mark.through, mark.retry, mark.checked_with = 0, [], ""
        mark.save(update_fields=["through", "retry", "checked_with"])
    return dropped


def _conformance_mark(made_with: str) -> ConformanceMark:
    """The mark, started over from 0 when its checks were made with another model or checker
    (each check is then made again as its window comes)."""
    mark, _ = ConformanceMark.objects.get_or_create(pk=1)
    if mark.checked_with != made_with:
        with transaction.atomic():
            mark = ConformanceMark.objects.select_for_update().get(pk=1)
            if mark.checked_with != made_with:
                mark.through, mark.checked_with, mark.retry = 0, made_with, []
                mark.save()
    return mark


def _move_mark(made_with: str, through: int, to_retry: set[int], resolved: set[int]):
    """Move the mark to `through` (never back: another worker may have gone further), adding
    `to_retry` to its list and dropping `resolved` (checked since). Both are sets of accepting
    calls found unchecked or checked, so adding or dropping them again is harmless."""
    with transaction.atomic():
        mark = ConformanceMark.objects.select_for_update().get(pk=1)
        if mark.checked_with != made_with:  # another model or checker started it over meanwhile
            return mark
        mark.through = max(mark.through, through)
        mark.retry = sorted((set(mark.retry) - resolved) | to_retry)
        mark.save(update_fields=["through", "retry"])
    return mark


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


def forget_event_tallies() -> int:
    """Drop every day tally and move the mark back to the log's start, in one transaction, so
    that the next rounds tally the whole log again; returns the days dropped. For tallies made
    by a revision of the tallying that counted wrongly: the figures stay right meanwhile, read
    from the log (slowly, on a large one) until the tallies catch up."""
    with transaction.atomic():
        mark, _ = EventTallyMark.objects.select_for_update().get_or_create(pk=1)
        dropped, _ = DayTally.objects.all().delete()
        mark.through = 0
        mark.save(update_fields=["through"])
    return dropped


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
