"""Background data at scale: a register of up to millions of calls with their event log, written in
bulk (COPY on PostgreSQL, executemany in large transactions on SQLite) so that a million calls take
minutes, not the hours the services would.

The rows are not invented: every workflow template is first run through the real services (at a
few priorities), and the calls, events and links each run wrote are captured after every
operation. The fill clones those captures with new ids, numbers, customers, services, channels and
times. A closed workflow clones a finished run; an open one (OPEN_SHARE of them, recent) clones
the run as it stood after a random operation, so the open calls sit at realistic steps, in the
teams the procedures give those steps, with the due times the agreements gave them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from bench import workflows
from bench.organisation import BenchOrganisation

# Share of each workflow among the workflows a year brings (roughly a service desk's mix: most
# work is incidents recovered by operations and plain service requests).
WORKFLOW_MIX = {1: 0.03, 2: 0.08, 3: 0.07, 4: 0.32, 5: 0.38, 6: 0.01, 7: 0.03, 8: 0.08}
# Priorities the templates are run at, as (impact, urgency), with the time between two operations
# (an urgent call moves faster).
# The share of each is its weight among the workflows of the background.
PRIORITIES = (
    (1, 1, timedelta(minutes=20), 0.1),
    (2, 2, timedelta(hours=1), 0.5),
    (3, 3, timedelta(hours=3), 0.4),
)
# A quick run (developers, the harness's own tests) captures the middle priority only: a third of
# the setup time, and a background that is all priority 2.
QUICK_PRIORITIES = PRIORITIES[1:2]
# Share of workflows still open: a backlog of 2% of all calls, created in the last week.
OPEN_SHARE = 0.02
HISTORY = timedelta(days=3 * 365)
RECENT = timedelta(days=7)
CHANNEL_MIX = {"portal": 0.45, "email": 0.25, "phone": 0.2, "monitoring": 0.1}
TEMPLATE_START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
CHUNK = 20_000  # workflows per transaction


@dataclass
class Snapshot:
    """A template run as it stood after one operation."""

    calls: list[dict]
    events: int
    links: int
    duration: timedelta


@dataclass
class Template:
    workflow: int
    snapshots: list[Snapshot]
    events: list[dict]
    links: list[dict]
    start: datetime
    share: float


@dataclass
class Columns:
    """A table's columns, and which of them the fill must convert for the database."""

    table: str
    names: list[str]
    attnames: list[str]
    datetimes: set[str] = field(default_factory=set)
    jsons: set[str] = field(default_factory=set)
    booleans: set[str] = field(default_factory=set)


def columns_of(model) -> Columns:
    from django.db import models

    # Generated columns are the database's to fill.
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    found = Columns(model._meta.db_table, [f.column for f in fields], [f.attname for f in fields])
    for f in fields:
        if isinstance(f, models.DateTimeField):
            found.datetimes.add(f.attname)
        elif isinstance(f, models.JSONField):
            found.jsons.add(f.attname)
        elif isinstance(f, models.BooleanField):
            found.booleans.add(f.attname)
    return found


# -- templates ------------------------------------------------------------------------------------
def capture_templates(org: BenchOrganisation, priorities=PRIORITIES) -> list[Template]:
    """Run every workflow at each of `priorities` through the services and capture it."""
    from usm.calls.models import Call, CallEvent, CallLink

    call_columns, event_columns = columns_of(Call), columns_of(CallEvent)
    templates = []
    desk = workflows.Desk(
        org.provider, org.actor, org.customers[0], org.requesters[0], org.services[0]
    )
    for number in WORKFLOW_MIX:
        for impact, urgency, every, share in priorities:
            start = TEMPLATE_START
            snapshots: list[Snapshot] = []
            moments = workflows.ticking(start, every)
            last = [start]

            def clock(moments=moments, last=last):
                last[0] = moments()
                return last[0]

            def after(op, calls, snapshots=snapshots, last=last, start=start):
                root = calls[0].root_id
                snapshots.append(
                    Snapshot(
                        list(
                            Call.objects.filter(root_id=root)
                            .order_by("pk")
                            .values(*call_columns.attnames)
                        ),
                        CallEvent.objects.filter(root_id=root).count(),
                        CallLink.objects.filter(source__root_id=root).count(),
                        last[0] - start,
                    )
                )

            calls = workflows.run(
                number, desk, impact=impact, urgency=urgency, clock=clock, after=after
            )
            root = calls[0].root_id
            events = list(
                CallEvent.objects.filter(root_id=root)
                .order_by("pk")
                .values(*event_columns.attnames)
            )
            links = list(
                CallLink.objects.filter(source__root_id=root)
                .order_by("pk")
                .values("id", "source_id", "kind", "target_id", "created_at")
            )
            templates.append(Template(number, snapshots, events, links, start, share))
    return templates


# -- cloning --------------------------------------------------------------------------------------
@dataclass
class Counters:
    call_id: int
    event_id: int
    link_id: int
    numbers: dict[str, int]


def _weighted(rng: random.Random, mix: dict):
    return rng.choices(list(mix), weights=list(mix.values()))[0]


class Cloner:
    def __init__(self, org: BenchOrganisation, templates: list[Template], seed: int, now: datetime):
        from usm.calls.models import PREFIX, Call, CallEvent

        self.rng = random.Random(seed)
        self.org = org
        self.now = now
        self.by_workflow: dict[int, list[Template]] = {}
        for template in templates:
            self.by_workflow.setdefault(template.workflow, []).append(template)
        self.call_columns = columns_of(Call)
        self.event_columns = columns_of(CallEvent)
        self.prefix = PREFIX

    def workflow_rows(self, counters: Counters) -> tuple[list[dict], list[dict], list[dict]]:
        """One cloned workflow: its calls, events and links as attname -> value dicts."""
        rng = self.rng
        number = _weighted(rng, WORKFLOW_MIX)
        candidates = self.by_workflow[number]
        template = rng.choices(candidates, weights=[t.share for t in candidates])[0]
        if rng.random() < OPEN_SHARE:
            snapshot = template.snapshots[rng.randrange(len(template.snapshots) - 1)]
            latest = self.now - snapshot.duration - timedelta(minutes=30)
            base = latest - rng.random() * RECENT
        else:
            snapshot = template.snapshots[-1]
            oldest = self.now - HISTORY
            base = oldest + rng.random() * (HISTORY - RECENT - snapshot.duration)
        shift = base - template.start
        customer = rng.randrange(len(self.org.customers))
        service = self.org.services[rng.randrange(len(self.org.services))].pk
        ids = {}
        for call in snapshot.calls:
            ids[call["id"]] = counters.call_id
            counters.call_id += 1
        calls = []
        for call in snapshot.calls:
            row = dict(call)
            row["id"] = ids[call["id"]]
            row["root_id"] = ids[call["root_id"]]
            row["parent_id"] = ids.get(call["parent_id"])
            prefix = self.prefix[call["call_type"]]
            counters.numbers[prefix] = counters.numbers.get(prefix, 0) + 1
            row["number"] = f"{prefix}-{counters.numbers[prefix]:06d}"
            row["customer_id"] = self.org.customers[customer].pk
            row["requester_id"] = self.org.requesters[customer].pk
            row["service_id"] = service
            if call["agreement_id"] == self.org.agreements[0].pk:
                row["agreement_id"] = self.org.agreements[customer].pk
            if call["parent_id"] is None:
                row["channel"] = _weighted(rng, CHANNEL_MIX)
            for name in self.call_columns.datetimes:
                if row[name] is not None:
                    row[name] = row[name] + shift
            calls.append(row)
        events = []
        for event in template.events[: snapshot.events]:
            row = dict(event)
            row["id"] = counters.event_id
            counters.event_id += 1
            row["call_id"] = ids[event["call_id"]]
            row["root_id"] = ids[event["root_id"]]
            row["at"] = event["at"] + shift
            events.append(row)
        links = []
        for link in template.links[: snapshot.links]:
            links.append(
                {
                    "id": counters.link_id,
                    "source_id": ids[link["source_id"]],
                    "kind": link["kind"],
                    "target_id": ids[link["target_id"]],
                    "created_at": link["created_at"] + shift,
                }
            )
            counters.link_id += 1
        return calls, events, links


def _sqlite_datetime(value: datetime) -> str:
    """Django's SQLite form of an aware time: naive UTC text."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


# -- writing --------------------------------------------------------------------------------------
class Writer:
    """Bulk rows into one database, in that database's fastest ordinary way."""

    def __init__(self):
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor

    def _converters(self, columns: Columns) -> list[tuple[str, Callable]]:
        found: list[tuple[str, Callable]] = [(name, json.dumps) for name in columns.jsons]
        if self.vendor == "sqlite":
            found += [(name, _sqlite_datetime) for name in columns.datetimes]
            found += [(name, int) for name in columns.booleans]
        return found

    def rows(self, columns: Columns, dicts: list[dict]) -> Iterator[tuple]:
        pick = itemgetter(*columns.attnames)
        converters = self._converters(columns)
        for row in dicts:
            for name, convert in converters:
                value = row[name]
                if value is not None:
                    row[name] = convert(value)
            yield pick(row)

    @contextmanager
    def unchecked(self) -> Iterator[None]:
        """One transaction without foreign-key checks, as a restore loads a dump: the rows are
        consistent by construction, and the checks would triple the load time."""
        from django.db import transaction

        if self.vendor == "postgresql":
            with transaction.atomic(), self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
                yield
            return
        with self.connection.cursor() as cursor:
            cursor.execute("PRAGMA foreign_keys = OFF")
        try:
            with transaction.atomic():
                yield
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = ON")

    def write(self, columns: Columns, dicts: list[dict]) -> None:
        if not dicts:
            return
        quoted = ", ".join(f'"{c}"' for c in columns.names)
        if self.vendor == "postgresql":
            with self.connection.cursor() as cursor:
                copy_sql = f'COPY "{columns.table}" ({quoted}) FROM STDIN'
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in self.rows(columns, dicts):
                        copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns.names)
            self.connection.connection.executemany(
                f'INSERT INTO "{columns.table}" ({quoted}) VALUES ({marks})',
                self.rows(columns, dicts),
            )


def _counters(provider) -> Counters:
    from django.db.models import Max

    from usm.calls.models import Call, CallCounter, CallEvent, CallLink

    numbers = dict(CallCounter.objects.filter(provider=provider).values_list("prefix", "last"))
    return Counters(
        (Call.objects.aggregate(m=Max("id"))["m"] or 0) + 1,
        (CallEvent.objects.aggregate(m=Max("id"))["m"] or 0) + 1,
        (CallLink.objects.aggregate(m=Max("id"))["m"] or 0) + 1,
        numbers,
    )


def _finish(provider, counters: Counters) -> None:
    """Hand the numbering over to the services: counters, sequences, planner statistics, and on
    PostgreSQL the vacuum that autovacuum gives a register grown over months: without it the
    millions of rows just written have no visibility map, and every index-only read (the KPIs'
    intake, say) goes to the table for each row."""
    from django.db import connection

    from usm.calls.models import Call, CallCounter, CallEvent, CallLink

    for prefix, last in counters.numbers.items():
        CallCounter.objects.update_or_create(
            provider=provider, prefix=prefix, defaults={"last": last}
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in (Call, CallEvent, CallLink):
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT MAX(id) FROM "{table}"))'
                )
            tables = ", ".join(f'"{model._meta.db_table}"' for model in (Call, CallEvent, CallLink))
            cursor.execute(f"VACUUM {tables}")  # not in a transaction: the fill has committed
        cursor.execute("ANALYZE")


@dataclass
class FillReport:
    calls: int
    events: int
    seconds: float


def fill_to(org: BenchOrganisation, templates: list[Template], size: int, seed: int) -> FillReport:
    """Add cloned workflows until the register holds at least `size` calls."""
    import time

    from django.utils import timezone

    from usm.calls.models import Call, CallLink

    started = time.perf_counter()
    missing = size - Call.objects.count()
    counters = _counters(org.provider)
    cloner = Cloner(org, templates, seed, timezone.now())
    writer = Writer()
    link_columns = columns_of(CallLink)
    added_calls = added_events = 0
    while missing > 0:
        calls, events, links = [], [], []
        while missing > 0 and len(calls) < CHUNK:
            c, e, k = cloner.workflow_rows(counters)
            calls += c
            events += e
            links += k
            missing -= len(c)
        with writer.unchecked():
            writer.write(cloner.call_columns, calls)
            writer.write(cloner.event_columns, events)
            writer.write(link_columns, links)
        added_calls += len(calls)
        added_events += len(events)
    _finish(org.provider, counters)
    return FillReport(added_calls, added_events, time.perf_counter() - started)
