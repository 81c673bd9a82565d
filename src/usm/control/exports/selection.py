"""What an export covers: a provider's workflows, narrowed by period, customer and process, and the
queries every writer streams from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BigIntegerField, Exists, F, Func, OuterRef, Q, QuerySet
from django.db.models.lookups import Exact

from usm.calls.models import Call, CallEvent
from usm.organisation.models import Customer, Provider

# Rows fetched per round trip: large enough that the database is not asked too often, small
# enough that a chunk costs little memory.
CHUNK_SIZE = 2000
# SQLite's page cache while exporting (negative: KiB), which also bounds each sort's memory.
EXPORT_CACHE_KIB = -8192


class _Unindexed(Func):
    """A column's value in a form no index serves: SQLite's unary plus."""

    template = "+%(expressions)s"


def _of_provider(provider: Provider) -> Q:
    """The provider's log rows. An export reads all of them in an order of its own (time, event
    id, workflow); SQLite's planner, given the provider's equality, picks whichever index starts
    with the provider and may then sort all twelve million rows of a big register before the
    first is written. Without an index for that term it walks the index (or the table) that is
    already in the export's order. PostgreSQL weighs a sort against the reading order itself."""
    if connection.vendor != "sqlite":
        return Q(provider=provider)
    column = _Unindexed("provider_id", output_field=BigIntegerField())
    return Q(Exact(column, provider.pk))


@dataclass(frozen=True)
class Selection:
    """Workflows are selected whole: one registered from `since` (inclusive) to `until`
    (exclusive) for `customer` is exported with all its events, also those after `until`, so
    that no trace is cut off halfway. `process` keeps the workflows that entered it and, of
    their events, those recorded in it."""

    provider: Provider
    since: datetime | None = None
    until: datetime | None = None
    process: str | None = None
    customer: Customer | None = None

    def _workflow_filter(self, prefix: str = "") -> Q:
        condition = Q()
        if self.since is not None:
            condition &= Q(**{f"{prefix}created_at__gte": self.since})
        if self.until is not None:
            condition &= Q(**{f"{prefix}created_at__lt": self.until})
        if self.customer is not None:
            condition &= Q(**{f"{prefix}customer": self.customer})
        return condition

    def _of_workflows(self) -> Q:
        """The calls, or log rows, of the workflows the period and the customer select. On
        SQLite, when they narrow the selection, these are found from their workflows' accepting
        calls (`root_id IN (...)`, down the indexes on the root): joined to each row's root as
        a filter, SQLite's planner, given the statistics of a large register, reads the whole
        log (or all its step completions, or every call) and keeps a tenth of it. The selected
        events are then in workflow order, which XES wants, and the time or id order of OCEL is
        a sort of the selected rows only (SQLite's sorter spills to disk: the memory stays
        bounded). Measured on a register of 1M calls, for the workflows of its latest 100k:
        3.5 s for XES's 612k rows instead of 27, 6.9 s for OCEL's 1.15M instead of 35 (reading
        the rows alone)."""
        condition = self._workflow_filter("root__")
        if connection.vendor != "sqlite" or not condition:
            return condition
        roots = Call.objects.filter(provider=self.provider, root_id=F("pk"))
        return Q(root__in=roots.filter(self._workflow_filter()).values("pk"))

    def workflows(self) -> QuerySet[Call]:
        """The calls that accepted the selected workflows."""
        roots = Call.objects.filter(provider=self.provider, root_id=F("pk"))
        roots = roots.filter(self._workflow_filter())
        if self.process is not None:
            entered = Call.objects.filter(root_id=OuterRef("pk"), process=self.process)
            roots = roots.filter(Exists(entered))
        return roots

    def calls(self) -> QuerySet[Call]:
        """Every call of the selected workflows (the process filter keeps whole workflows here,
        so that a call's link to the call it was forked from always has both ends)."""
        calls = Call.objects.filter(provider=self.provider)
        if self.process is None:
            return calls.filter(self._of_workflows())
        return calls.filter(root__in=self.workflows().values("pk"))

    def events(self, kinds: Q, *, forks_out: bool = False) -> QuerySet[CallEvent]:
        """The log rows of the selected workflows that `kinds` admits, recorded in the selected
        process. `forks_out` adds the registrations of the calls the process forked into: a fork
        belongs to both processes, but the forked-into call is the one that records it."""
        events = CallEvent.objects.filter(_of_provider(self.provider)).filter(kinds)
        events = events.filter(self._of_workflows())
        if self.process is not None:
            in_process = Q(process=self.process)
            if forks_out:
                in_process |= Q(kind="registered", call__parent__process=self.process)
            events = events.filter(in_process)
        return events

    def describe(self) -> str:
        """The filters in words, for the files' own record of what they hold."""
        parts = []
        if self.since is not None:
            parts.append(f"registered from {self.since.isoformat()}")
        if self.until is not None:
            parts.append(f"registered before {self.until.isoformat()}")
        if self.customer is not None:
            parts.append(f"customer {self.customer.code}")
        if self.process is not None:
            parts.append(f"process {self.process}")
        return ", ".join(parts) or "all workflows"


# What the filters are called where a user gives them (the API's query parameters); the command
# line passes its option names instead.
FILTER_NAMES = {"start": "from", "end": "to", "process": "process", "customer": "customer"}


def selection_of(
    provider: Provider,
    *,
    start: str | None = None,
    end: str | None = None,
    process: str | None = None,
    customer: str | None = None,
    names: dict[str, str] = FILTER_NAMES,
) -> Selection:
    """The selection a user asked for in text: `start` and `end` ISO dates or date-times (a date
    as `end` includes that day), `process` a process code, `customer` a customer's code. A
    value that cannot be used is a ValidationError naming its filter as `names` calls it."""
    from usm.control.periods import instant
    from usm.model import reference_model

    since, until = instant(start, names["start"]), instant(end, names["end"])
    if until is not None and len(end.strip()) == 10:
        until += timedelta(days=1)
    if since is not None and until is not None and until <= since:
        raise ValidationError({names["end"]: f"lies before {names['start']}"})
    processes = reference_model().processes
    if process is not None and process.upper() not in processes:
        known = ", ".join(processes)
        raise ValidationError({names["process"]: f"'{process}' is not a process ({known})"})
    buyer = None
    if customer is not None:
        # PostgreSQL refuses a NUL in any text it is asked to compare; no code holds one.
        if "\x00" in customer:
            raise ValidationError({names["customer"]: "a customer's code holds no NUL character"})
        buyer = Customer.objects.filter(provider=provider, code=customer).first()
        if buyer is None:
            message = f"there is no customer '{customer}' at {provider.slug}"
            raise ValidationError({names["customer"]: message})
    return Selection(
        provider=provider,
        since=since,
        until=until,
        process=process.upper() if process else None,
        customer=buyer,
    )


@contextmanager
def snapshot() -> Iterator[None]:
    """Read every query of one export from the same state of the database, so that an event
    never names an object the objects section left out because it was added meanwhile."""
    if connection.in_atomic_block:
        # The caller's transaction already sees one state.
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    if connection.vendor == "sqlite":
        # Django would open SQLite transactions IMMEDIATE (settings), taking the write lock for
        # the whole export; a deferred read transaction under WAL is a snapshot that blocks no
        # writer.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            (cache_size,) = cursor.fetchone()
            # SQLite sorts a period's rows (see `_of_workflows`) in as much memory as the page
            # cache may take before spilling to disk, for each sort under way at once (the
            # events, and the calls and statuses read alongside them): a smaller cache for the
            # export keeps its memory what it is for a small log.
            cursor.execute(f"PRAGMA cache_size = {EXPORT_CACHE_KIB}")
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
                cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
        return
    yield
