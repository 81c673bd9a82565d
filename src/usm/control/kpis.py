"""Key figures of process control, read from the call register and its event log.

Every figure is an aggregate query over the rows as they are, so it cannot drift from the
register; the one shortcut, the event log's day tallies (`usm.control.tallies`), is a cache of
the log that gives the same figures. The definitions (docs/control.md has
them in prose):

- intake: calls registered in the period; a forked call counts in the process it was forked into.
- throughput: calls closed in the period; aborted calls are counted apart.
- backlog: calls open at the end of the period (or now, if that is earlier), and their age then.
  "Open" is read from the timestamps (registered before, not closed or aborted before), so the
  backlog of a past month is what it was then.
- lead time of a call: registration to closing; of a workflow: its accepting call's lead time;
  of a step: from the moment the step became the call's current one (registration, the previous
  completion, the resumption after a fork, or a repeat) to its completion.
- first-time-right: closed workflows none of whose calls repeated a step; repeat rate: repeats
  per step completion.
- forks: per dynamic workflow, how often its accepting process forked each way (INC to CHM is
  workflow 3, to OPS workflow 4; IMP to CTM, CHM or OPS is 6, 7 or 8).
- SLA compliance, per agreement and per deadline: of the calls whose deadline fell in the period,
  those answered in time (met), late or still owed after it (missed), and still owed with the
  deadline ahead (pending: only when the period reaches past now). Aborted calls are left out.
- breaches: `deadline_breached` events recorded in the period.
- residual risks: risks open at the end of the period, and those of them whose cause is known
  (known errors).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from usm.calls.models import Call, CallEvent
from usm.control.measures import (
    EMPTY,
    Durations,
    EpochSeconds,
    distribution_of,
    distributions_sql,
    epoch_sql,
    plain_rows,
    seconds_between,
    seconds_until,
)
from usm.control.periods import Period
from usm.control.tallies import STEP_STARTS, KeptPeriod, counted_rows, kept_period, lead_times
from usm.model import Dynamicity, reference_model

DEADLINES = ("response", "resolution")
DONE_FIELD = {"response": "responded_at", "resolution": "resolved_at"}
# What the backlog is counted by.
BACKLOG_FIELDS = ("process", "service_id", "customer_id", "assignee_team_id", "risk_level")
# A workflow's lead time is its accepting call's, once the workflow is known (`closed_roots`).
DECIDED_ROOTS = {"accepting": True, "workflow": lambda number: number is not None}


@dataclass(frozen=True)
class Slice:
    """Narrows every figure to one process, workflow, customer, service or team."""

    process: str | None = None
    workflow: int | None = None
    customer_id: int | None = None
    service_id: int | None = None
    team_id: int | None = None

    def of_calls(self, calls: QuerySet[Call]) -> QuerySet[Call]:
        lookups = {
            "process": self.process,
            "workflow": self.workflow,
            "customer_id": self.customer_id,
            "service_id": self.service_id,
            "assignee_team_id": self.team_id,
        }
        return calls.filter(**{k: v for k, v in lookups.items() if v is not None})

    def of_events(self, events: QuerySet[CallEvent]) -> QuerySet[CallEvent]:
        # Events before a dynamic workflow's fork carry no workflow number; the accepting
        # call's row has it once it is known.
        lookups = {
            "process": self.process,
            "root__workflow": self.workflow,
            "call__customer_id": self.customer_id,
            "call__service_id": self.service_id,
            "team_id": self.team_id,
        }
        return events.filter(**{k: v for k, v in lookups.items() if v is not None})

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _counts(queryset: QuerySet, *fields: str) -> dict:
    rows = queryset.order_by().values_list(*fields).annotate(n=Count("pk"))
    if len(fields) == 1:
        return {row[0]: row[1] for row in rows}
    return {tuple(row[:-1]): row[-1] for row in rows}


class Tally:
    """How many rows of one row set there are per combination of a few columns, read in a single
    GROUP BY; each figure is then a sum over the combinations it covers. On a large register a
    statement per figure is a pass over the period's rows each: one pass serves them all.

    `rows` are dicts of the columns and the count `n`; the same combination may come more than
    once (from the kept day tallies and from the log), and is then summed."""

    def __init__(self, rows: list[dict]):
        self.rows = rows

    @classmethod
    def of(cls, queryset: QuerySet, *fields: str) -> Tally:
        return cls(list(queryset.order_by().values(*fields).annotate(n=Count("*"))))

    @classmethod
    def counting(cls, keys: Iterable[tuple], *fields: str) -> Tally:
        """The tally of rows already read (`keys`: each row's values of `fields`), counted
        here."""
        found = Counter(keys)
        return cls([dict(zip(fields, key, strict=True), n=n) for key, n in found.items()])

    def total(self, **where) -> int:
        return sum(row["n"] for row in self._matching(where))

    def by(self, field: str, **where) -> dict:
        """The count per value of `field` of the rows with the values `where` names; a value
        no such row has is missing, as from a GROUP BY."""
        found: dict = {}
        for row in self._matching(where):
            found[row[field]] = found.get(row[field], 0) + row["n"]
        return found

    def _matching(self, where: dict):
        if not where:
            return self.rows
        if len(where) == 1:
            ((name, wanted),) = where.items()
            return (row for row in self.rows if row[name] == wanted)
        return (row for row in self.rows if all(row[f] == v for f, v in where.items()))


@dataclass(frozen=True)
class Ended:
    """The calls that ended in the period, read in one pass over their range of the end-time
    index, which every figure of ended calls shares: their counts by process, status, workflow
    and whether they accepted it; the lead times of the closed ones (call and workflow lead
    times); and the closed workflows, as (id, workflow, registration in epoch seconds) of their
    accepting calls, for first-time-right. Three statements over the same range read it three
    times."""

    counts: Tally
    leads: Durations
    closed_roots: list[tuple]

    FIELDS = ("process", "status", "accepting", "workflow")
    # Each row read: the lead time, the registration, the id, then FIELDS (counted from it on).
    COLUMNS = ("val", "registered", "pk", *FIELDS)

    @classmethod
    def read(cls, ended: QuerySet[Call]) -> Ended:
        rows = plain_rows(
            ended.order_by()
            .annotate(
                val=seconds_between("created_at", "closed_at"),
                registered=EpochSeconds(F("created_at")),
            )
            .values_list(*cls.COLUMNS)
        )
        val, registered, pk, process, status, accepting, workflow = (
            cls.COLUMNS.index(name)
            for name in ("val", "registered", "pk", "process", "status", "accepting", "workflow")
        )
        counts = Tally.counting((row[process:] for row in rows), *cls.FIELDS)
        # The lead time as the database computed it, split as Durations.read would read it.
        closed = [row for row in rows if row[status] == "closed"]
        leads = Durations(
            [(row[val], row[process], row[workflow], row[accepting]) for row in closed],
            ("process", "workflow", "accepting"),
        )
        roots = [
            (row[pk], row[workflow], row[registered])
            for row in closed
            if row[accepting] and row[workflow] is not None
        ]
        return cls(counts, leads, roots)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _in(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def open_at(calls: QuerySet[Call], moment: datetime) -> QuerySet[Call]:
    """The calls that were open at `moment`: registered before it, not ended before it.

    Read as two ranges of the index on the end time (still open, ended after `moment`), so the
    cost is the backlog's, not the register's. The registration time is compared through a
    COALESCE that no index serves: otherwise SQLite may walk the registration index over
    every call registered before `moment`, the whole register for the current backlog."""
    before = calls.alias(registered=Coalesce("created_at", "created_at")).filter(
        registered__lt=moment
    )
    still_open = before.filter(closed_at__isnull=True).order_by().values("pk")
    ended_later = before.filter(closed_at__gte=moment).order_by().values("pk")
    return calls.filter(pk__in=still_open.union(ended_later, all=True))


@dataclass(frozen=True)
class Backlog:
    """The calls open at `moment` (as `open_at` finds them) with their ages and whether each is a
    known error, and the accepting calls open now per workflow (a workflow's "open"), in one
    statement: the still-open calls are one range of the end-time index that both need, and the
    calls ended after `moment` another. Each row is read once, where a look-up by id of the
    ranges' ids reads it twice."""

    counts: Tally
    ages: Durations
    open_roots: dict

    @classmethod
    def read(cls, calls: QuerySet[Call], moment: datetime) -> Backlog:
        registered = Coalesce("created_at", "created_at")  # see open_at
        columns = {
            "age": seconds_until("created_at", moment),
            "known_error": _known_error(moment),
            "before": Case(When(created_at__lt=moment, then=Value(1)), default=Value(0)),
        }
        # Each row read: its age and known error, the fields the counts split by, then whether
        # it accepted its workflow (and which), was open at `moment`, and is open now.
        fields = ("age", "known_error", *BACKLOG_FIELDS, "accepting", "workflow", "before")
        still_open = (
            calls.filter(closed_at__isnull=True)
            .order_by()
            .annotate(**columns, now_open=Value(1))
            .values_list(*fields, "now_open")
        )
        ended_later = (
            calls.alias(registered=registered)
            .filter(registered__lt=moment, closed_at__gte=moment)
            .order_by()
            .annotate(**columns, now_open=Value(0))
            .values_list(*fields, "now_open")
        )
        rows = plain_rows(still_open.union(ended_later, all=True))
        age, known_error, process, accepting, workflow, before = (
            fields.index(name)
            for name in ("age", "known_error", "process", "accepting", "workflow", "before")
        )
        now_open = len(fields)
        at_moment = [row for row in rows if row[before]]
        counts = Tally.counting(
            (row[known_error:accepting] for row in at_moment), "known_error", *BACKLOG_FIELDS
        )
        ages = Durations([(row[age], row[process]) for row in at_moment], ("process",))
        open_roots = Counter(row[workflow] for row in rows if row[now_open] and row[accepting])
        return cls(counts, ages, dict(open_roots))


def kpis(
    calls: QuerySet[Call],
    events: QuerySet[CallEvent],
    period: Period,
    where: Slice | None = None,
    *,
    as_of: datetime | None = None,
    kept_for: int | None = None,
) -> dict:
    """Every figure for `period`, over `calls` and `events` (already narrowed to what the reader
    may see), sliced by `where`. `as_of` is "now" (a simulated clock in tests). `kept_for`: the
    provider whose whole event log `events` is, when it is (its staff, the command line): the
    event-side figures of an unsliced period are then read from the kept day tallies
    (`usm.control.tallies`) plus the events they do not cover, with the same result.

    Each row set (the calls registered, ended and open, the period's events) is counted in one
    statement, grouped by every column a figure splits it by."""
    where = where or Slice()
    as_of = as_of or timezone.now()
    moment = min(period.end, as_of)
    all_events = events
    calls, events = where.of_calls(calls), where.of_events(events)
    kept = None
    if kept_for is not None and not where.as_dict():
        kept = kept_period(kept_for, all_events, period)

    registered = Tally.of(
        calls.filter(_in(period, "created_at")),
        "process",
        "service_id",
        "customer_id",
        "accepting",
        "workflow",
    )
    ended = Ended.read(calls.filter(_in(period, "closed_at")))
    ended_counts = ended.counts
    backlog = Backlog.read(calls, moment)
    backlog_counts, ages = backlog.counts, backlog.ages
    if kept is None:
        logged = Tally(counted_rows(events.filter(_in(period, "at"))))
    else:
        logged = Tally(kept.counts + [row for part in kept.untallied for row in counted_rows(part)])
    leads = ended.leads
    completion_count = logged.total(kind="step_completed")
    repeat_count = logged.total(kind="repeated")
    ftr = first_time_right(ended.closed_roots, all_events, period.end)

    return {
        "period": period.as_dict(),
        "as_of": as_of.isoformat(),
        "filters": where.as_dict(),
        "totals": {
            "intake": registered.total(),
            "throughput": ended_counts.total(status="closed"),
            "aborted": ended_counts.total(status="aborted"),
            "backlog": backlog_counts.total(),
            "backlog_age": ages.of().as_dict(),
            "lead_time": leads.of().as_dict(),
            "workflows_closed": ftr["total"]["closed"],
            "workflow_lead_time": leads.of(**DECIDED_ROOTS).as_dict(),
            "first_time_right": ftr["total"]["first_time_right"],
            "first_time_right_rate": ftr["total"]["rate"],
            "step_completions": completion_count,
            "repeats": repeat_count,
            "repeat_rate": _rate(repeat_count, completion_count),
            "breaches": _breach_totals(logged),
        },
        "processes": _per_process(registered, ended_counts, backlog_counts, logged, leads, ages),
        "workflows": _per_workflow(
            registered, ended_counts, backlog.open_roots, leads, ftr["by_workflow"]
        ),
        "steps": _per_step(all_events, events, logged, period, kept, sliced=bool(where.as_dict())),
        "forks": forks_taken(logged),
        "services": _per_party(registered, backlog_counts, "service_id", "service"),
        "customers": _per_party(registered, backlog_counts, "customer_id", "customer"),
        "teams": _per_team(backlog_counts, logged),
        "agreements": sla_by_agreement(calls, events, period, as_of),
        "risks": residual_risks(backlog_counts),
    }


def _per_process(registered, ended, waiting, logged, leads: Durations, ages: Durations) -> list:
    intake, backlog_of = registered.by("process"), waiting.by("process")
    throughput = ended.by("process", status="closed")
    dropped = ended.by("process", status="aborted")
    done = logged.by("process", kind="step_completed")
    redone = logged.by("process", kind="repeated")
    lead_of, age_of = leads.by("process"), ages.by("process")
    return [
        {
            "process": code,
            "name": process.name,
            "intake": intake.get(code, 0),
            "throughput": throughput.get(code, 0),
            "aborted": dropped.get(code, 0),
            "backlog": backlog_of.get(code, 0),
            "backlog_age": age_of.get(code, EMPTY).as_dict(),
            "lead_time": lead_of.get(code, EMPTY).as_dict(),
            "step_completions": done.get(code, 0),
            "repeats": redone.get(code, 0),
            "repeat_rate": _rate(redone.get(code, 0), done.get(code, 0)),
        }
        for code, process in reference_model().processes.items()
    ]


def _own_events(**lookups) -> QuerySet[CallEvent]:
    """The events of one call or workflow of the outer query (`lookups` name it by OuterRef).
    Not narrowed by the reader's scope again: the outer call is one the reader may see, and a
    provider condition here would lead the planner to the provider's index by kind and time
    (every such event the provider ever had) instead of the call's own few events."""
    return CallEvent.objects.filter(**lookups)


def first_time_right(roots: list[tuple], events: QuerySet[CallEvent], until) -> dict:
    """Of the workflows closed before `until` (`roots`: their accepting calls as (id, workflow,
    registration in epoch seconds), `Ended.closed_roots`), how many went through without any of
    their calls repeating a step (`events`: the reader's whole log, unsliced: a repeat by any
    call of the workflow counts).

    A workflow's events lie between its registration and its close, so its repeats are among
    the repeats logged from the earliest registration of these workflows to `until`: one range
    of the log's index by kind and time, where a look-up per workflow would be thousands."""
    # Registration read as a number, not a timestamp per row to convert; a MIN() in the database
    # instead leads PostgreSQL to walk the registration index from the register's first call.
    repeated: set[int] = set()
    if roots:
        # A second's margin for the float's rounding: the range may only grow.
        earliest = datetime.fromtimestamp(min(row[2] for row in roots) - 1, UTC)
        repeated = set(
            events.filter(kind="repeated", at__gte=earliest, at__lt=until)
            .order_by()
            .values_list("root_id", flat=True)
        )
    by_workflow: dict = {}
    for pk, workflow, _ in roots:
        closed, clean = by_workflow.get(workflow, (0, 0))
        by_workflow[workflow] = (closed + 1, clean + (pk not in repeated))
    closed = sum(n for n, _ in by_workflow.values())
    clean = sum(c for _, c in by_workflow.values())
    return {
        "by_workflow": by_workflow,
        "total": {"closed": closed, "first_time_right": clean, "rate": _rate(clean, closed)},
    }


def _per_workflow(registered, ended, open_roots: dict, leads: Durations, ftr_by_workflow) -> list:
    started = registered.by("workflow", accepting=True)
    dropped = ended.by("workflow", accepting=True, status="aborted")
    lead_of = leads.by("workflow", **DECIDED_ROOTS)
    found = []
    for workflow in reference_model().workflows:
        closed, clean = ftr_by_workflow.get(workflow.number, (0, 0))
        found.append(
            {
                "workflow": workflow.number,
                "name": workflow.name,
                "dynamic": workflow.dynamicity is Dynamicity.DYNAMIC,
                "started": started.get(workflow.number, 0),
                "closed": closed,
                "aborted": dropped.get(workflow.number, 0),
                "open": open_roots.get(workflow.number, 0),
                "lead_time": lead_of.get(workflow.number, EMPTY).as_dict(),
                "first_time_right": clean,
                "first_time_right_rate": _rate(clean, closed),
            }
        )
    # A dynamic workflow is one of its candidates until its fork: counted apart until then.
    found.append(
        {
            "workflow": None,
            "name": "Not yet decided (before the fork)",
            "dynamic": True,
            "started": started.get(None, 0),
            "closed": 0,
            "aborted": dropped.get(None, 0),
            "open": open_roots.get(None, 0),
            "lead_time": EMPTY.as_dict(),
            "first_time_right": 0,
            "first_time_right_rate": None,
        }
    )
    return found


def step_lead_times(
    all_events: QuerySet[CallEvent],
    events: QuerySet[CallEvent],
    period: Period,
    sliced: bool,
) -> dict:
    """Per step, the distribution of the time from the step becoming current to its completion,
    over the completions of the period in `events` (`sliced`: narrower than `all_events`).

    A completion's start is the step-start event before it in its call's log. Every start in
    the period is paired with the one before it in a single window over the period's starts;
    only a call's first start in the period has its predecessor before the period, and that one
    is looked up in the call's own log (the events of a call the reader may see, so no scoping
    is lost). Reading the calls' whole logs instead grows with the age of the calls."""
    starts = (
        all_events.filter(_in(period, "at"), kind__in=STEP_STARTS)
        .order_by()
        .values("id", "call_id", "step", "kind", "at")
    )
    starts_sql, params = starts.query.sql_with_params()
    table = connection.ops.quote_name(CallEvent._meta.db_table)
    kinds = ", ".join("%s" for _ in STEP_STARTS)
    only = ""
    if sliced:
        ids_sql, ids_params = (
            events.filter(_in(period, "at"), kind="step_completed")
            .order_by()
            .values("id")
            .query.sql_with_params()
        )
        only = f'AND "id" IN ({ids_sql})'
    else:
        ids_params = ()
    rows_sql = f"""
        SELECT "step" AS grp, {epoch_sql('"at"')} - {epoch_sql('"started"')} AS val FROM (
            SELECT "id", "step", "at", COALESCE("previous", (
                SELECT MAX(earlier."at") FROM {table} AS earlier
                WHERE earlier."call_id" = paired."call_id" AND earlier."kind" IN ({kinds})
                  AND earlier."at" < %s
            )) AS "started"
            FROM (
                SELECT "id", "call_id", "step", "kind", "at",
                       LAG("at") OVER (PARTITION BY "call_id" ORDER BY "at", "id") AS "previous"
                FROM ({starts_sql}) AS starts
            ) AS paired
            WHERE "kind" = %s {only}
        ) AS timed
    """
    return distributions_sql(
        rows_sql, (*STEP_STARTS, period.start, *params, "step_completed", *ids_params)
    )


def _per_step(all_events, events, logged, period, kept: KeptPeriod | None, *, sliced) -> list:
    done = logged.by("step", kind="step_completed")
    redone = logged.by("step", kind="repeated")
    if kept is None:
        leads = step_lead_times(all_events, events, period, sliced=sliced)
    else:
        leads = _kept_lead_times(kept)
    return [
        {
            "step": step.id,
            "process": step.process,
            "name": step.name,
            "completions": done.get(step.id, 0),
            "repeats": redone.get(step.id, 0),
            "lead_time": leads.get(step.id, EMPTY).as_dict(),
        }
        for step in reference_model().steps
        if step.id in done or step.id in redone
    ]


def _kept_lead_times(kept: KeptPeriod) -> dict:
    """The step lead times of the kept days and of the completions the tallies do not cover."""
    seconds = {step: list(values) for step, values in kept.leads.items()}
    for part in kept.untallied:
        for step, values in lead_times(part).items():
            seconds.setdefault(step, []).extend(values)
    return {step: distribution_of(values) for step, values in seconds.items() if values}


def forks_taken(logged: Tally) -> list:
    """Per dynamic workflow, the forks of its accepting process in the period that chose it."""
    model = reference_model()
    dynamic = [w for w in model.workflows if w.dynamicity is Dynamicity.DYNAMIC]
    starts = {w.start for w in dynamic}
    taken: dict[tuple[str, str], int] = {}
    per_start: dict[str, int] = {}
    for row in logged.rows:
        if row["kind"] == "forked" and row["by_root"] and row["process"] in starts:
            key = (row["process"], row["outcome"])
            taken[key] = taken.get(key, 0) + row["n"]
            per_start[row["process"]] = per_start.get(row["process"], 0) + row["n"]
    return [
        {
            "workflow": w.number,
            "name": w.name,
            "process": w.start,
            "target": w.processes[1],
            "count": taken.get((w.start, w.processes[1]), 0),
            "share": _rate(taken.get((w.start, w.processes[1]), 0), per_start.get(w.start, 0)),
        }
        for w in dynamic
    ]


def _per_party(registered: Tally, backlog: Tally, field: str, label: str) -> list:
    from usm.agreements.models import Service
    from usm.organisation.models import Customer

    intake, waiting = registered.by(field), backlog.by(field)
    model = Service if label == "service" else Customer
    names = dict(model.objects.filter(pk__in=set(intake) | set(waiting)).values_list("pk", "name"))
    keys = sorted(set(intake) | set(waiting), key=lambda k: (k is None, names.get(k, ""), k or 0))
    return [
        {
            f"{label}_id": key,
            "name": names.get(key, f"No {label}"),
            "intake": intake.get(key, 0),
            "backlog": waiting.get(key, 0),
        }
        for key in keys
    ]


def _per_team(backlog: Tally, logged: Tally) -> list:
    from usm.organisation.models import Team

    waiting = backlog.by("assignee_team_id")
    done = logged.by("team_id", kind="step_completed")
    names = dict(Team.objects.filter(pk__in=set(waiting) | set(done)).values_list("pk", "name"))
    keys = sorted(set(waiting) | set(done), key=lambda k: (k is None, names.get(k, ""), k or 0))
    return [
        {
            "team_id": key,
            "name": names.get(key, "No team"),
            "backlog": waiting.get(key, 0),
            "step_completions": done.get(key, 0),
        }
        for key in keys
    ]


def _breach_totals(logged: Tally) -> dict:
    found = logged.by("outcome", kind="deadline_breached")
    return {which: found.get(which, 0) for which in DEADLINES}


def sla_compliance(
    calls: QuerySet[Call], period: Period, as_of: datetime, by: tuple[str, ...]
) -> dict:
    """Per value of the fields `by`, and per deadline: met, missed, pending and the compliance
    rate (met of those settled) of the calls whose deadline fell in the period.

    Both deadlines in one statement over the calls either of whose deadlines fell in the period
    (the two ranges of the due-time indexes, OR-ed), each deadline's counts restricted to its own
    range: most calls have both deadlines in the same period, and a statement per deadline reads
    each of them twice."""
    due_in = {which: _in(period, f"{which}_due") for which in DEADLINES}
    counts = {}
    for which in DEADLINES:
        due, done = f"{which}_due", DONE_FIELD[which]
        counts[f"{which}_met"] = Count("pk", filter=due_in[which] & Q(**{f"{done}__lte": F(due)}))
        counts[f"{which}_missed"] = Count(
            "pk",
            filter=due_in[which]
            & (Q(**{f"{done}__gt": F(due)}) | Q(**{f"{done}__isnull": True, f"{due}__lt": as_of})),
        )
        counts[f"{which}_pending"] = Count(
            "pk", filter=due_in[which] & Q(**{f"{done}__isnull": True, f"{due}__gte": as_of})
        )
    settled = calls.exclude(status="aborted").filter(_either_due_in(calls, due_in))
    found: dict = {}
    for row in settled.order_by().values(*by).annotate(**counts):
        key = tuple(row[f] for f in by) if len(by) > 1 else row[by[0]]
        figures = found.setdefault(key, {})
        for which in DEADLINES:
            met, missed = row[f"{which}_met"], row[f"{which}_missed"]
            figures[which] = {
                "met": met,
                "missed": missed,
                "pending": row[f"{which}_pending"],
                "rate": _rate(met, met + missed),
            }
    return found


def _either_due_in(calls: QuerySet[Call], due_in: dict[str, Q]) -> Q:
    """The calls with either deadline in the period. PostgreSQL ORs the two index ranges into one
    bitmap and reads each table page once. SQLite's own OR of two indexes is a choice its planner
    drops for a scan of the provider's whole entries when some index leads with the provider and
    its statistics are missing or old (an index added by an upgrade): the ids are taken from
    the two ranges instead, each read from its index alone, and each row is then found by id."""
    if connection.vendor == "postgresql":
        return due_in["response"] | due_in["resolution"]
    either = calls.filter(due_in["response"]).order_by().values("pk")
    either = either.union(calls.filter(due_in["resolution"]).order_by().values("pk"))
    return Q(pk__in=either)


def sla_by_agreement(calls, events, period: Period, as_of: datetime) -> list:
    from usm.agreements.models import Agreement

    compliance = sla_compliance(calls, period, as_of, ("agreement_id",))
    breaches = _counts(
        events.filter(_in(period, "at"), kind="deadline_breached"), "call__agreement_id", "outcome"
    )
    ids = {key for key in compliance if key is not None} | {
        agreement for agreement, _ in breaches if agreement is not None
    }
    agreements = Agreement.objects.filter(pk__in=ids).order_by("kind", "name")
    return [
        {
            "agreement_id": agreement.pk,
            "code": agreement.code,
            "name": agreement.name,
            "kind": agreement.kind,
            **compliance.get(
                agreement.pk,
                {w: {"met": 0, "missed": 0, "pending": 0, "rate": None} for w in DEADLINES},
            ),
            "breaches": {w: breaches.get((agreement.pk, w), 0) for w in DEADLINES},
        }
        for agreement in agreements
    ]


def _known_error(moment):
    """Whether a call is a risk whose cause was found (IMP-3 completed with the outcome
    `cause_known`) before `moment`; asked of risks only (CASE stops before the look-up)."""
    cause_known = _own_events(
        call_id=OuterRef("pk"), kind="step_completed", outcome="cause_known", at__lt=moment
    )
    return Case(
        When(process="IMP", then=Exists(cause_known)),
        default=Value(False),
        output_field=BooleanField(),
    )


def residual_risks(counted: Tally) -> dict:
    """Risks still open at the backlog's moment (`counted`: the backlog's tally, with whether
    each is a known error)."""
    by_level = counted.by("risk_level", process="IMP")
    return {
        "open": counted.total(process="IMP"),
        "known_errors": counted.total(process="IMP", known_error=True),
        "by_level": [
            {"risk_level": level, "open": by_level[level]}
            for level in sorted(by_level, key=lambda v: (v is None, v or 0))
        ],
    }
