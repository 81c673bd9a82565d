"""The event log seen object by object (the OCEL 2.0 view): calls, workflows, MIR items,
services, customers and teams, and each event with the objects it touched.

Everything is handed out as it is read. Where an object gathers several rows (a call's MIR items,
its links, its status history), a second query sorted the same way is walked alongside the
first, so no lookup table of the whole log is ever built. Events, a row per log row and by far
the most numerous, come as plain rows in chunks; each writer turns them into its own encoding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet

from usm.agreements.models import Service
from usm.calls.choices import LinkKind
from usm.calls.models import Call, CallEvent, CallLink
from usm.control.exports.activities import activity
from usm.control.exports.rows import (
    ByIds,
    chunks,
    chunks_ahead,
    rows,
    second_thread_pays,
    timestamp_text,
    utc_millis,
)
from usm.control.exports.selection import CHUNK_SIZE, Selection
from usm.mir.models import MirItem
from usm.model import reference_model
from usm.organisation.models import Customer, Profile, Team

# OCEL 2.0 attribute types.
STRING, INTEGER, TIME = "string", "integer", "time"

# The object types, each with its attributes. Only a call's status changes over time.
OBJECT_TYPES: dict[str, tuple[tuple[str, str], ...]] = {
    "call": (
        ("call_type", STRING),
        ("process", STRING),
        ("summary", STRING),
        ("channel", STRING),
        ("priority", INTEGER),
        ("risk_level", INTEGER),
        ("status", STRING),
    ),
    "workflow": (("template", INTEGER), ("template_name", STRING), ("accepting_process", STRING)),
    "MIR item": (("identifier", STRING), ("name", STRING), ("item_type", STRING)),
    "service": (("code", STRING), ("name", STRING)),
    "customer": (("code", STRING), ("name", STRING)),
    "team": (("name", STRING), ("kind", STRING)),
}
# Every event type carries the same attributes: what the log row says besides its activity.
EVENT_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("kind", STRING),
    ("process", STRING),
    ("step", STRING),
    ("attempt", INTEGER),
    ("outcome", STRING),
    ("status", STRING),
    ("resource", STRING),
    ("role", STRING),
)

# Qualifiers of the relations, as an analyst would say them.
PART_OF, ACCEPTED_BY, FORKED_FROM = "part of workflow", "accepted by", "forked from"
FOR_CUSTOMER, ABOUT_SERVICE, CONCERNS = "for customer", "about service", "concerns"
ASSIGNED_TO, HANDLED_BY, OWNED_BY, SERVES = "assigned to", "handled by", "owned by", "serves"
CALL, WORKFLOW = "call", "workflow"


def call_id(number: str) -> str:
    return f"call:{number}"


def workflow_id(root_number: str) -> str:
    return f"workflow:{root_number}"


def mir_id(identifier: str) -> str:
    return f"mir:{identifier}"


def service_id(code: str) -> str:
    return f"service:{code}"


def customer_id(code: str) -> str:
    return f"customer:{code}"


def team_id(name: str) -> str:
    return f"team:{name}"


def ocel_time(text: str) -> str:
    """A timestamp as selected by `timestamp_text`, as OCEL writes it: UTC, milliseconds, "Z"."""
    return utc_millis(text) + "Z"


@dataclass(frozen=True, slots=True)
class OcelObject:
    id: str
    type: str
    # (name, value, time): time (OCEL text) None for a value that holds for the object's whole
    # life.
    attributes: tuple[tuple[str, object, str | None], ...]
    relationships: tuple[tuple[str, str], ...]  # (object id, qualifier)


# The columns of an event row (`ObjectCentricLog.event_rows`), by position: rows are plain tuples
# because an export makes one per log row and a class would cost more than the rest of the row.
# Whom and what the row names (person, profile, team, call) it names by id: a chunk's calls are
# read once for all their events (`EventReferences`), not joined into every row.
EVENT_FIELDS = (
    "id",
    "at_text",
    "kind",
    "process",
    "step",
    "attempt",
    "outcome",
    "status",
    "actor_id",
    "profile_id",
    "team_id",
    "call_id",
)
(
    E_ID,
    E_AT,
    E_KIND,
    E_PROCESS,
    E_STEP,
    E_ATTEMPT,
    E_OUTCOME,
    E_STATUS,
    E_ACTOR,
    E_PROFILE,
    E_TEAM,
    E_CALL,
) = range(len(EVENT_FIELDS))
# What an event's attributes (EVENT_ATTRIBUTES, in that order) are read from, side by side so
# that a writer takes them (they also decide the event's type) as one slice of the row; the
# person and the profile as ids (`EventReferences.values` gives their names).
ATTRIBUTES = slice(E_KIND, E_PROFILE + 1)


def event_id(pk: int) -> str:
    return f"event:{pk}"


def event_type(values: tuple) -> str:
    """The type of an event with these attribute values (as `EventReferences.values`)."""
    kind, process, step, _, _, status, _, _ = values
    return activity(kind, process, step, status)


def event_attributes(values: tuple) -> tuple[tuple[str, object], ...]:
    """(name, value) of the attributes an event with these values has; an empty value is left
    out."""
    return tuple(
        (name, value)
        for (name, _), value in zip(EVENT_ATTRIBUTES, values, strict=True)
        if value is not None and value != ""
    )


# Every event is related to its call (CALL) and workflow (WORKFLOW), to the call's customer
# (FOR_CUSTOMER), service (ABOUT_SERVICE) and MIR items (CONCERNS) where it has them, to the team
# that handled it (HANDLED_BY) and, if it registered a forked call, to the call it was forked from
# (FORKED_FROM). The writers build these themselves, each in the way cheapest for it.
class EventCall(NamedTuple):
    """What the events of one call have in common: the call's number, its workflow's (the number
    of the call that accepted it), the number of the call it was forked from, its customer's and
    its service's codes, and its MIR items' identifiers (sorted)."""

    number: str
    workflow: str
    parent: str | None
    customer: str | None
    service: str | None
    mir_items: tuple[str, ...]


class EventReferences:
    """The calls, people, profiles and teams that event rows name by id. A chunk's calls are read
    together, those not known yet; the people, profiles and teams (few, and met again and again)
    one by one when first met. What is known is kept for the next chunks, since a call's events
    come close together, up to two chunks' worth: the memory stays that of a chunk."""

    def __init__(self, chunk_size: int):
        self.calls: dict[int, EventCall] = {}
        self.calls_kept = 2 * chunk_size
        self._actors: dict[int, str] = {}
        self._profiles: dict[int, str] = {}
        self._teams: dict[int, str] = {}
        self._mir_items = ByIds(
            lambda ids: Call.mir_items.through.objects.filter(call_id__in=ids).order_by(
                "call_id", "miritem__identifier"
            ),
            ("call_id", "miritem__identifier"),
        )
        # An event's workflow is its call's: the event log records the call's root with each event.
        self._calls = ByIds(
            lambda ids: Call.objects.filter(pk__in=ids).order_by(),
            ("pk", "number", "root__number", "parent__number", "customer__code", "service__code"),
        )

    def cover(self, rows: list[tuple], *, on=None) -> None:
        """Make `calls` hold every call `rows` name (read on the driver's connection `on`, see
        `ByIds`)."""
        needed = {row[E_CALL] for row in rows}
        missing = needed.difference(self.calls)
        if not missing:
            return
        if len(self.calls) + len(missing) > self.calls_kept:
            self.calls = {pk: self.calls[pk] for pk in needed if pk in self.calls}
        pks = sorted(missing)
        mir_items: dict[int, list[str]] = {}
        for pk, identifier in self._mir_items(pks, on=on):
            mir_items.setdefault(pk, []).append(identifier)
        for pk, number, workflow, *others in self._calls(pks, on=on):
            # A call is its workflow's root while it is being registered (no root yet).
            facts = (number, workflow or number, *others, tuple(mir_items.get(pk, ())))
            self.calls[pk] = EventCall(*facts)

    @staticmethod
    def _name(known: dict[int, str], model, field: str, pk: int | None) -> str | None:
        if pk is None:
            return None
        name = known.get(pk)
        if name is None:
            name = model.objects.filter(pk=pk).values_list(field, flat=True).get()
            if len(known) >= NAMES_KEPT:
                known.clear()
            known[pk] = name
        return name

    def team(self, pk: int | None) -> str | None:
        return self._name(self._teams, Team, "name", pk)

    def values(self, attributes: tuple) -> tuple:
        """An event's attribute values (EVENT_ATTRIBUTES) from its ATTRIBUTES columns: the person
        (resource) and the profile (role) by name."""
        *what, actor, profile = attributes
        return (
            *what,
            self._name(self._actors, get_user_model(), "username", actor),
            self._name(self._profiles, Profile, "name", profile),
        )


# People, profiles and teams whose names are kept at most: an organisation of more is read again.
NAMES_KEPT = 20_000


class _Alongside:
    """Rows of a query sorted by a key, handed out group by group to a walk over another query
    sorted by the same key: only the current group is ever held."""

    def __init__(self, rows: Iterable[tuple]):
        self._groups = groupby(rows, key=itemgetter(0))
        self._current: tuple[object, list[tuple]] | None = None
        self._advance()

    def _advance(self) -> None:
        try:
            key, rows = next(self._groups)
        except StopIteration:
            self._current = None
        else:
            self._current = (key, list(rows))

    def take(self, key) -> list[tuple]:
        while self._current is not None and self._current[0] < key:
            self._advance()
        if self._current is None or self._current[0] != key:
            return []
        rows = self._current[1]
        self._advance()
        return rows


@cache
def _template_name(number: int) -> str:
    try:
        return reference_model().workflow(number).name
    except KeyError:
        return ""


def _attributes(*pairs: tuple[str, object]) -> tuple[tuple[str, object, None], ...]:
    # An unknown value is left out rather than written as an empty string or a made-up zero.
    return tuple(
        [(name, value, None) for name, value in pairs if value is not None and value != ""]
    )


class ObjectCentricLog:
    """The selected workflows as objects and events, read in chunks of `chunk_size` rows; with
    `read_ahead`, from PostgreSQL, each chunk read while the one before is used (see
    `chunks_ahead`): for a writer that leaves the process's other core to the server."""

    def __init__(
        self, selection: Selection, chunk_size: int = CHUNK_SIZE, *, read_ahead: bool = False
    ):
        self.selection = selection
        self.chunk_size = chunk_size
        self.read_ahead = read_ahead and second_thread_pays()

    # -- what is selected, as queries (none of them is run here) ---------------------------------
    def _calls(self):
        return self.selection.calls()

    def _events(self):
        return self.selection.events(Q(), forks_out=True)

    def _mir_items(self):
        through = Call.mir_items.through.objects.filter(call__in=self._calls().values("pk"))
        return MirItem.objects.filter(
            provider=self.selection.provider, pk__in=through.values("miritem_id")
        )

    def _services(self):
        served = MirItem.services.through.objects.filter(miritem__in=self._mir_items().values("pk"))
        return Service.objects.filter(provider=self.selection.provider).filter(
            Q(pk__in=self._calls().values("service_id")) | Q(pk__in=served.values("service_id"))
        )

    def _customers(self):
        return Customer.objects.filter(
            provider=self.selection.provider, pk__in=self._calls().values("customer_id")
        )

    def _teams(self):
        return Team.objects.filter(provider=self.selection.provider).filter(
            Q(pk__in=self._calls().values("assignee_team_id"))
            | Q(pk__in=self._events().values("team_id"))
            | Q(pk__in=self._mir_items().values("owner_id"))
        )

    def _stream(self, queryset, *fields) -> Iterator[tuple]:
        return rows(queryset, fields, self.chunk_size, read_ahead=self.read_ahead)

    # -- types ------------------------------------------------------------------------------------
    def object_types(self) -> dict[str, tuple[tuple[str, str], ...]]:
        return OBJECT_TYPES

    def event_types(self) -> list[str]:
        """The activities the selected events have: one small query of distinct rows."""
        distinct = self._events().order_by().distinct()
        fields = ("kind", "process", "step", "status")
        return sorted({activity(*row) for row in rows(distinct, fields, self.chunk_size)})

    # -- objects ----------------------------------------------------------------------------------
    def objects(self) -> Iterator[OcelObject]:
        yield from self._call_objects()
        yield from self._workflow_objects()
        yield from self._mir_objects()
        for code, name in self._stream(self._services().order_by("code"), "code", "name"):
            yield OcelObject(
                service_id(code), "service", _attributes(("code", code), ("name", name)), ()
            )
        for code, name in self._stream(self._customers().order_by("code"), "code", "name"):
            attributes = _attributes(("code", code), ("name", name))
            yield OcelObject(customer_id(code), "customer", attributes, ())
        for name, kind in self._stream(self._teams().order_by("name"), "name", "kind"):
            yield OcelObject(team_id(name), "team", _attributes(("name", name), ("kind", kind)), ())

    def _call_objects(self) -> Iterator[OcelObject]:
        calls = self._calls()
        in_selection = calls.values("pk")
        mir = _Alongside(
            self._stream(
                Call.mir_items.through.objects.filter(call__in=in_selection).order_by(
                    "call_id", "miritem__identifier"
                ),
                "call_id",
                "miritem__identifier",
            )
        )
        links = _Alongside(
            self._stream(
                CallLink.objects.filter(source__in=in_selection, target__in=in_selection)
                .exclude(kind=LinkKind.FORKED_INTO)
                .order_by("source_id", "kind", "target_id"),
                "source_id",
                "kind",
                "target__number",
            )
        )
        # The status the call was registered with, then each change, as it happened.
        statuses = _Alongside(
            self._stream(
                CallEvent.objects.filter(call__in=in_selection)
                .filter(Q(kind="registered") | Q(kind="status_changed"))
                .exclude(status="")
                .annotate(at_text=timestamp_text("at"))
                .order_by("call_id", "at", "id"),
                "call_id",
                "status",
                "at_text",
            )
        )
        link_labels = dict(LinkKind.choices)
        rows = self._stream(
            calls.order_by("pk"),
            "pk",
            "number",
            "call_type",
            "process",
            "summary",
            "channel",
            "priority",
            "risk_level",
            "status",
            "root__number",
            "parent__number",
            "customer__code",
            "service__code",
            "assignee_team__name",
        )
        for (
            pk,
            number,
            call_type,
            process,
            summary,
            channel,
            priority,
            risk_level,
            status,
            root_number,
            parent_number,
            customer,
            service,
            team,
        ) in rows:
            history = statuses.take(pk)
            attributes = _attributes(
                ("call_type", call_type),
                ("process", process),
                ("summary", summary),
                ("channel", channel),
                ("priority", priority),
                ("risk_level", risk_level),
            )
            if history:
                attributes += tuple([("status", value, ocel_time(at)) for _, value, at in history])
            else:
                attributes += (("status", status, None),)
            relationships = [(workflow_id(root_number), PART_OF)]
            if parent_number:
                relationships.append((call_id(parent_number), FORKED_FROM))
            if customer:
                relationships.append((customer_id(customer), FOR_CUSTOMER))
            if service:
                relationships.append((service_id(service), ABOUT_SERVICE))
            if team:
                relationships.append((team_id(team), ASSIGNED_TO))
            relationships += [(mir_id(identifier), CONCERNS) for _, identifier in mir.take(pk)]
            relationships += [
                (call_id(target), str(link_labels.get(kind, kind)))
                for _, kind, target in links.take(pk)
            ]
            yield OcelObject(call_id(number), "call", attributes, tuple(relationships))

    def _workflow_objects(self) -> Iterator[OcelObject]:
        roots = self._calls().filter(root_id=F("pk")).order_by("pk")
        for number, template, process in self._stream(roots, "number", "workflow", "process"):
            attributes = _attributes(
                ("template", template),
                ("template_name", _template_name(template) if template else None),
                ("accepting_process", process),
            )
            yield OcelObject(
                workflow_id(number), "workflow", attributes, ((call_id(number), ACCEPTED_BY),)
            )

    def _mir_objects(self) -> Iterator[OcelObject]:
        items = self._mir_items()
        served = _Alongside(
            self._stream(
                MirItem.services.through.objects.filter(miritem__in=items.values("pk")).order_by(
                    "miritem_id", "service__code"
                ),
                "miritem_id",
                "service__code",
            )
        )
        rows = self._stream(items.order_by("pk"), "pk", "identifier", "name", "type", "owner__name")
        for pk, identifier, name, item_type, owner in rows:
            attributes = _attributes(
                ("identifier", identifier), ("name", name), ("item_type", item_type)
            )
            relationships = [(team_id(owner), OWNED_BY)] if owner else []
            relationships += [(service_id(code), SERVES) for _, code in served.take(pk)]
            yield OcelObject(mir_id(identifier), "MIR item", attributes, tuple(relationships))

    # -- events -----------------------------------------------------------------------------------
    def event_query(self, *, in_time_order: bool = True) -> QuerySet[CallEvent]:
        """The selected log rows, to be read as EVENT_FIELDS: in time order, or by event id where
        order carries no meaning (a database keyed by event id is filled fastest in key order)."""
        order = ("at", "id") if in_time_order else ("id",)
        return self._events().annotate(at_text=timestamp_text("at")).order_by(*order)

    def event_rows(
        self, *, in_time_order: bool = True
    ) -> Iterator[tuple[list[tuple], EventReferences]]:
        """Every selected log row (`event_query`), in chunks of rows laid out as EVENT_FIELDS,
        each chunk with the references that hold every call its rows name: the same object each
        time, kept up to date; reading ahead, an object of the chunk's own (`ChunkReferences`),
        the chunk and its calls read together while the chunk before is written."""
        events = self.event_query(in_time_order=in_time_order)
        references = EventReferences(self.chunk_size)
        if not self.read_ahead:
            for chunk in chunks(events, EVENT_FIELDS, self.chunk_size):
                references.cover(chunk)
                yield chunk, references
            return

        def calls_of(chunk: list[tuple], driver) -> dict[int, EventCall]:
            references.cover(chunk, on=driver)
            calls = references.calls
            # The calls of this chunk alone: `references.calls` changes while it is written.
            return {pk: calls[pk] for pk in {row[E_CALL] for row in chunk}}

        for chunk, calls in chunks_ahead(events, EVENT_FIELDS, self.chunk_size, calls_of):
            yield chunk, ChunkReferences(calls, references)


class ChunkReferences:
    """What `EventReferences` offers a writer, for one chunk read ahead: its calls, and the
    names of the people, profiles and teams (looked up by the `EventReferences` it comes from,
    on this thread)."""

    def __init__(self, calls: dict[int, EventCall], references: EventReferences):
        self.calls = calls
        self.calls_kept = references.calls_kept
        self.team = references.team
        self.values = references.values
