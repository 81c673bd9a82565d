"""The event log seen object by object (the OCEL 2.0 view): calls, workflows, MIR items,
services, customers and teams, and each event with the objects it touched.

Everything is yielded as it is read. Where an object gathers several rows (a call's MIR items,
its links, its status history), a second query sorted the same way is walked alongside the
first, so no lookup table of the whole log is ever built.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import groupby

from django.db.models import F, Q

from usm.agreements.models import Service
from usm.calls.choices import LinkKind
from usm.calls.models import Call, CallEvent, CallLink
from usm.control.exports.activities import activity
from usm.control.exports.selection import CHUNK_SIZE, Selection
from usm.mir.models import MirItem
from usm.model import reference_model
from usm.organisation.models import Customer, Team

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


@dataclass(frozen=True, slots=True)
class OcelObject:
    id: str
    type: str
    # (name, value, time): time None for a value that holds for the object's whole life.
    attributes: tuple[tuple[str, object, datetime | None], ...]
    relationships: tuple[tuple[str, str], ...]  # (object id, qualifier)


@dataclass(frozen=True, slots=True)
class OcelEvent:
    id: str
    type: str
    time: datetime
    attributes: tuple[tuple[str, object], ...]
    relationships: tuple[tuple[str, str], ...]


class _Alongside:
    """Rows of a query sorted by a key, handed out group by group to a walk over another query
    sorted by the same key: only the current group is ever held."""

    def __init__(self, rows: Iterable[tuple]):
        self._groups = groupby(rows, key=lambda row: row[0])
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
    return tuple((name, value, None) for name, value in pairs if value not in (None, ""))


class ObjectCentricLog:
    """The selected workflows as objects and events, read in chunks of `chunk_size` rows."""

    def __init__(self, selection: Selection, chunk_size: int = CHUNK_SIZE):
        self.selection = selection
        self.chunk_size = chunk_size

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
        return queryset.values_list(*fields).iterator(chunk_size=self.chunk_size)

    # -- types ------------------------------------------------------------------------------------
    def object_types(self) -> dict[str, tuple[tuple[str, str], ...]]:
        return OBJECT_TYPES

    def event_types(self) -> list[str]:
        """The activities the selected events have: one small query of distinct rows."""
        distinct = self._events().values_list("kind", "process", "step", "status").distinct()
        return sorted({activity(*row) for row in distinct.order_by().iterator()})

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
                .order_by("call_id", "at", "id"),
                "call_id",
                "status",
                "at",
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
                attributes += tuple(("status", value, at) for _, value, at in history)
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
    def events(self) -> Iterator[OcelEvent]:
        """Every selected log row in time order. A call's MIR items join in as extra rows of the
        same event, which arrive together and are folded back into one event."""
        rows = self._stream(
            self._events().order_by("at", "id", "call__mir_items__identifier"),
            "id",
            "at",
            "kind",
            "process",
            "step",
            "attempt",
            "outcome",
            "status",
            "actor__username",
            "profile__name",
            "team__name",
            "call__number",
            "root__number",
            "call__parent__number",
            "call__customer__code",
            "call__service__code",
            "call__mir_items__identifier",
        )
        for _, group in groupby(rows, key=lambda row: row[0]):
            first, *more = group
            (
                pk,
                at,
                kind,
                process,
                step,
                attempt,
                outcome,
                status,
                username,
                profile,
                team,
                number,
                root_number,
                parent_number,
                customer,
                service,
                identifier,
            ) = first
            relationships = [(call_id(number), CALL), (workflow_id(root_number), WORKFLOW)]
            if kind == "registered" and parent_number:
                relationships.append((call_id(parent_number), FORKED_FROM))
            if customer:
                relationships.append((customer_id(customer), FOR_CUSTOMER))
            if service:
                relationships.append((service_id(service), ABOUT_SERVICE))
            if team:
                relationships.append((team_id(team), HANDLED_BY))
            identifiers = [identifier, *(row[-1] for row in more)]
            relationships += [(mir_id(i), CONCERNS) for i in identifiers if i]
            attributes = tuple(
                (name, value)
                for name, value in (
                    ("kind", kind),
                    ("process", process),
                    ("step", step),
                    ("attempt", attempt),
                    ("outcome", outcome),
                    ("status", status),
                    ("resource", username),
                    ("role", profile),
                )
                if value not in (None, "")
            )
            yield OcelEvent(
                f"event:{pk}",
                activity(kind, process, step, status),
                at,
                attributes,
                tuple(relationships),
            )
