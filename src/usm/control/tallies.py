"""The event log's day tallies (`control.DayTally`): what the KPIs count of a day's events, kept
so that a long period is read as a row per whole day instead of every event in it.

What a tally holds is exactly what `usm.control.kpis` would read from the events themselves:
the counted events grouped by kind, process, step, team, outcome and whether the accepting call
wrote them, and the lead time of every step completion (the seconds since the step before it in
its call's log, computed by the same SQL expression as the KPIs' own, so a kept figure and a
freshly read one are the same number).

The tallies cover the events up to an id (`EventTallyMark.through`). A period's figures are:

- the tallies of the period's whole UTC days,
- plus, read from the log, the events at either partial end of the period,
- plus the events of the whole days that came after the mark (the ones not yet tallied; also an
  event written late with an earlier time, which a mark by time would miss).

Ids, not times, divide kept from not kept because they are the order events are committed in:
on PostgreSQL the writer reads the highest id under a lock that waits for the transactions
writing events to finish, so no event below the mark can still appear afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import Case, Count, F, Max, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate

from usm.calls.models import CallEvent
from usm.control.measures import epoch_sql

# The events after which a step is the call's current one.
STEP_STARTS = ("registered", "step_completed", "resumed", "repeated", "reclassified")
# The events the period's counts are made of (completions, repeats, breaches, forks).
COUNTED = ("step_completed", "repeated", "deadline_breached", "forked")
# The columns the counted events are grouped by, in the order a kept row lists them.
COUNT_FIELDS = ("kind", "process", "step", "team_id", "outcome", "by_root")
# With more events than this not yet tallied, the tallies save little: the KPIs read the log.
MOST_UNTALLIED = 200_000


def by_root():
    """1 for an event of the workflow's accepting call: its fork decides a dynamic workflow."""
    return Case(When(call_id=F("root_id"), then=Value(1)), default=Value(0))


def counted_rows(events: QuerySet[CallEvent], *extra: str, **expressions) -> list[dict]:
    """The counted events among `events`, grouped by COUNT_FIELDS (and `extra`): dicts with the
    count as `n`."""
    return list(
        events.filter(kind__in=COUNTED)
        .order_by()
        .values(*COUNT_FIELDS[:-1], *extra, by_root=by_root(), **expressions)
        .annotate(n=Count("pk"))
    )


def lead_times_sql(completions: QuerySet[CallEvent], *extra: str) -> tuple[str, tuple]:
    """SQL yielding, for every step completion in `completions`, the step (`grp`) and its lead
    time in seconds (`val`): from the call's step start before it in (time, id) order. NULL when
    there is none. `extra` columns of the completions are passed through. The look-up goes
    through the `call_id` index: a call's own few events."""
    inner, params = (
        completions.filter(kind="step_completed")
        .order_by()
        .values("id", "call_id", "step", "at", *extra)
        .query.sql_with_params()
    )
    table = connection.ops.quote_name(CallEvent._meta.db_table)
    kinds = ", ".join("%s" for _ in STEP_STARTS)
    passed = "".join(f', done."{name}"' for name in extra)
    started = f"""(
        SELECT MAX(earlier."at") FROM {table} AS earlier
        WHERE earlier."call_id" = done."call_id" AND earlier."kind" IN ({kinds})
          AND (earlier."at" < done."at" OR (earlier."at" = done."at" AND earlier."id" < done."id"))
    )"""
    sql = f"""
        SELECT done."step" AS grp, {epoch_sql('done."at"')} - {epoch_sql(started)} AS val{passed}
        FROM ({inner}) AS done
    """
    return sql, (*STEP_STARTS, *params)


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def lead_times(completions: QuerySet[CallEvent]) -> dict[str, list[float]]:
    """The lead times of the step completions in `completions`, per step."""
    found: dict[str, list[float]] = defaultdict(list)
    for step, seconds in _fetch(*lead_times_sql(completions)):
        if seconds is not None:
            found[step].append(float(seconds))
    return found


# -- making the tallies ---------------------------------------------------------------------------
def _day(value) -> date:
    # SQLite hands the truncated date back as text when it comes through a raw cursor.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def tallied(first_id: int, last_id: int) -> dict[tuple[int, date], DayFigures]:
    """The tallies of the events with ids in (first_id, last_id], per provider and UTC day."""
    events = CallEvent.objects.filter(pk__gt=first_id, pk__lte=last_id)
    day = TruncDate("at", tzinfo=UTC)
    found: dict[tuple[int, date], DayFigures] = defaultdict(DayFigures)
    for row in counted_rows(events, "provider_id", day=day):
        key = tuple(row[name] for name in COUNT_FIELDS)
        found[(row["provider_id"], _day(row["day"]))].add_count(key, row["n"])
    sql, params = lead_times_sql(events.annotate(day=day), "provider_id", "day")
    for step, seconds, provider_id, on in _fetch(sql, params):
        if seconds is not None:
            found[(provider_id, _day(on))].leads[step].append(float(seconds))
    return found


@dataclass
class DayFigures:
    """One day's counts (keyed by the COUNT_FIELDS values) and lead times per step."""

    counts: dict[tuple, int] = field(default_factory=lambda: defaultdict(int))
    leads: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add_count(self, key: tuple, n: int) -> None:
        self.counts[key] += n

    def merged(self, other: DayFigures) -> DayFigures:
        """These figures with `other`'s added (in place)."""
        for key, n in other.counts.items():
            self.counts[key] += n
        for step, seconds in other.leads.items():
            self.leads[step].extend(seconds)
        return self

    @classmethod
    def of_record(cls, counts: list, leads: dict) -> DayFigures:
        figures = cls()
        for *key, n in counts:
            figures.counts[tuple(key)] += n
        for step, seconds in leads.items():
            figures.leads[step].extend(seconds)
        return figures

    def as_record(self) -> tuple[list, dict]:
        return (
            [[*key, n] for key, n in sorted(self.counts.items(), key=_sortable)],
            {step: self.leads[step] for step in sorted(self.leads)},
        )


def _sortable(item):
    return tuple("" if v is None else str(v) for v in item[0])


def merge_into(found: dict, more: dict) -> None:
    """Add the figures of `more` (as `tallied` returns them) to those gathered in `found`."""
    for key, figures in more.items():
        if key in found:
            found[key].merged(figures)
        else:
            found[key] = figures


# -- reading a period -----------------------------------------------------------------------------
def _midnight(moment: datetime, *, up: bool) -> datetime:
    moment = moment.astimezone(UTC)
    floor = datetime.combine(moment.date(), time(), UTC)
    return floor + timedelta(days=1) if up and floor < moment else floor


@dataclass
class KeptPeriod:
    """A period's counted events and lead times as the tallies have them, and the events the
    tallies do not cover (to be read from the log and added)."""

    counts: list[dict]
    leads: dict[str, list[float]]
    # The rest of the period's events, as separate row sets each a plain range of an index.
    untallied: list[QuerySet[CallEvent]]


def kept_period(provider_id: int, events: QuerySet[CallEvent], period) -> KeptPeriod | None:
    """The period read from the tallies of `provider_id` (whose whole log `events` must be), or
    None when the tallies would not help: no whole day in the period, or too much of the log
    not tallied yet."""
    from usm.control.models import DayTally, EventTallyMark

    first, last = _midnight(period.start, up=True), _midnight(period.end, up=False)
    if first >= last:
        return None
    mark = EventTallyMark.objects.filter(pk=1).values_list("through", flat=True).first() or 0
    newest = CallEvent.objects.aggregate(newest=Max("pk"))["newest"] or 0
    if newest - mark > MOST_UNTALLIED:
        return None
    kept = DayFigures()
    days = DayTally.objects.filter(
        provider_id=provider_id, day__gte=first.date(), day__lt=last.date()
    )
    for counts, leads in days.values_list("counts", "leads"):
        kept.merged(DayFigures.of_record(counts, leads))
    untallied = [
        events.filter(at__gte=period.start, at__lt=first),
        events.filter(at__gte=last, at__lt=period.end),
        # Events after the mark in the whole days: found by id, the few newest rows of the log.
        events.filter(Q(pk__gt=mark), at__gte=first, at__lt=last),
    ]
    counts = [dict(zip(COUNT_FIELDS, key, strict=True), n=n) for key, n in kept.counts.items()]
    return KeptPeriod(counts, dict(kept.leads), untallied)
