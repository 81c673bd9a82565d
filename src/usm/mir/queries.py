"""Reading the MIR: the recorded state of items (for history, export and the import's comparison)
and the impact of an item on services and customers."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from django.db.models import Q
from django.utils import timezone

from usm.agreements.choices import AgreementKind, AgreementStatus
from usm.agreements.models import Agreement
from usm.mir.choices import ItemStatus, RelationKind
from usm.mir.models import MirItem, MirRelation

# Bound parameters per query stay well under SQLite's and PostgreSQL's limits.
CHUNK = 1000

STATE_FIELDS = (
    "identifier",
    "name",
    "type",
    "status",
    "owner",
    "services",
    "attributes",
    "depends_on",
    "part_of",
)


def chunks(values: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def register_state(provider, identifiers: Collection[str] | None = None) -> dict[str, dict]:
    """The recorded state of the provider's items (all, or those named), keyed by identifier.

    The state names other rows by their natural keys (team name, service codes, item
    identifiers), so a snapshot in the history still reads right after ids change, and an export
    imports into another installation. Lists are sorted: equal states compare equal.
    """
    wanted = set(identifiers) if identifiers is not None else None
    # A few lookups by identifier are cheaper than reading the register; many are not.
    narrow = wanted is not None and len(wanted) <= CHUNK
    items = MirItem.objects.filter(provider=provider)
    services = MirItem.services.through.objects.filter(miritem__provider=provider)
    relations = MirRelation.objects.filter(source__provider=provider)
    if narrow:
        items = items.filter(identifier__in=wanted)
        services = services.filter(miritem__identifier__in=wanted)
        relations = relations.filter(source__identifier__in=wanted)

    state: dict[int, dict] = {}
    for pk, identifier, name, type_, status, owner, attributes, version in items.values_list(
        "pk", "identifier", "name", "type", "status", "owner__name", "attributes", "version"
    ):
        if wanted is not None and identifier not in wanted:
            continue
        state[pk] = {
            "identifier": identifier,
            "name": name,
            "type": type_,
            "status": status,
            "owner": owner,
            "services": [],
            "attributes": attributes if isinstance(attributes, dict) else {},
            "depends_on": [],
            "part_of": [],
            "version": version,
        }
    for item_id, code in services.values_list("miritem_id", "service__code"):
        if item_id in state:
            state[item_id]["services"].append(code)
    for source_id, kind, target in relations.values_list("source_id", "kind", "target__identifier"):
        if source_id in state:
            state[source_id][kind].append(target)
    for entry in state.values():
        for key in ("services", "depends_on", "part_of"):
            entry[key].sort()
    return {entry["identifier"]: entry for entry in state.values()}


def without_version(state: dict) -> dict:
    return {key: state[key] for key in STATE_FIELDS}


# -- impact -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImpactedItem:
    identifier: str
    name: str
    type: str
    status: str
    level: int
    via: str
    relation: str


@dataclass(frozen=True)
class ImpactedService:
    code: str
    name: str
    status: str
    served_by: tuple[str, ...]


@dataclass(frozen=True)
class ImpactedCustomer:
    code: str
    name: str
    agreements: tuple[str, ...]
    services: tuple[str, ...]


@dataclass(frozen=True)
class Impact:
    identifier: str
    dependents: tuple[ImpactedItem, ...]
    services: tuple[ImpactedService, ...]
    customers: tuple[ImpactedCustomer, ...]

    def as_json(self) -> dict:
        return {
            "identifier": self.identifier,
            "dependents": [asdict(d) for d in self.dependents],
            "services": [{**asdict(s), "served_by": list(s.served_by)} for s in self.services],
            "customers": [
                {**asdict(c), "agreements": list(c.agreements), "services": list(c.services)}
                for c in self.customers
            ],
        }


def _one_level_up(frontier: set[int]) -> list[tuple[int, str, int]]:
    """Relations that carry a failure one level up from `frontier`: whatever depends on it and
    whatever it is part of. Retired items no longer serve anything, so the walk stops at them."""
    found: list[tuple[int, str, int]] = []
    for batch in chunks(sorted(frontier)):
        found.extend(
            MirRelation.objects.filter(
                (
                    Q(kind=RelationKind.DEPENDS_ON, target_id__in=batch)
                    & ~Q(source__status=ItemStatus.RETIRED)
                )
                | (
                    Q(kind=RelationKind.PART_OF, source_id__in=batch)
                    & ~Q(target__status=ItemStatus.RETIRED)
                )
            ).values_list("source_id", "kind", "target_id")
        )
    return sorted(found)


def impact(item: MirItem, *, on: date | None = None) -> Impact:
    """Which items depend on `item` (transitively, following `depends_on` to the dependent and
    `part_of` to the whole), which services those items and `item` serve, and which customers
    hold a service agreement in force on `on` (default today) covering one of those services.

    One query per level of the walk (not per item); a cycle ends where it meets a visited item.
    """
    reached: dict[int, tuple[int, int, str]] = {item.pk: (0, item.pk, "")}
    frontier = {item.pk}
    level = 0
    while frontier:
        level += 1
        next_frontier: set[int] = set()
        for source, kind, target in _one_level_up(frontier):
            dependent, cause = (
                (source, target) if kind == RelationKind.DEPENDS_ON else (target, source)
            )
            if dependent not in reached:
                reached[dependent] = (level, cause, kind)
                next_frontier.add(dependent)
        frontier = next_frontier

    details: dict[int, tuple[str, str, str, str]] = {}
    for batch in chunks(sorted(reached)):
        for pk, identifier, name, type_, status in MirItem.objects.filter(pk__in=batch).values_list(
            "pk", "identifier", "name", "type", "status"
        ):
            details[pk] = (identifier, name, type_, status)
    dependents = sorted(
        (
            ImpactedItem(
                identifier=details[pk][0],
                name=details[pk][1],
                type=details[pk][2],
                status=details[pk][3],
                level=depth,
                via=details[cause][0],
                relation=kind,
            )
            for pk, (depth, cause, kind) in reached.items()
            if pk != item.pk
        ),
        key=lambda d: (d.level, d.identifier),
    )

    serving: dict[int, dict] = {}
    for batch in chunks(sorted(reached)):
        for item_id, service_id, code, name, status in MirItem.services.through.objects.filter(
            miritem_id__in=batch
        ).values_list(
            "miritem_id", "service_id", "service__code", "service__name", "service__status"
        ):
            entry = serving.setdefault(
                service_id, {"code": code, "name": name, "status": status, "served_by": set()}
            )
            entry["served_by"].add(details[item_id][0])
    services = tuple(
        sorted(
            (
                ImpactedService(
                    code=s["code"],
                    name=s["name"],
                    status=s["status"],
                    served_by=tuple(sorted(s["served_by"])),
                )
                for s in serving.values()
            ),
            key=lambda s: s.code,
        )
    )

    today = on or timezone.localdate()
    customers: dict[str, dict] = {}
    for batch in chunks(sorted(serving)):
        covering = Agreement.services.through.objects.filter(
            service_id__in=batch,
            agreement__provider_id=item.provider_id,
            agreement__kind=AgreementKind.SA,
            agreement__status=AgreementStatus.ACTIVE,
            agreement__valid_from__lte=today,
        ).filter(Q(agreement__valid_until__isnull=True) | Q(agreement__valid_until__gte=today))
        for agreement, customer_code, customer_name, service_code in covering.values_list(
            "agreement__code",
            "agreement__customer__code",
            "agreement__customer__name",
            "service__code",
        ):
            entry = customers.setdefault(
                customer_code, {"name": customer_name, "agreements": set(), "services": set()}
            )
            entry["agreements"].add(agreement)
            entry["services"].add(service_code)

    return Impact(
        identifier=item.identifier,
        dependents=tuple(dependents),
        services=services,
        customers=tuple(
            ImpactedCustomer(
                code=code,
                name=c["name"],
                agreements=tuple(sorted(c["agreements"])),
                services=tuple(sorted(c["services"])),
            )
            for code, c in sorted(customers.items())
        ),
    )
