"""Checking an import before anything is written: each row is one item's state, compared with the
register, turned into change records for the writer, and every problem reported by row and field.

A row holds these columns (the CSV header or a JSON object's members):

    identifier   required; letters, digits, '-' and '_'
    name, type   required for a new item
    status       planned | active | retired (blank: active for a new item, unchanged otherwise)
    owner        a team's name (blank: no owner)
    services     service codes, separated by ';' in CSV or a JSON list
    attributes   a JSON object
    attr.<key>   one attribute each; a blank cell leaves the attribute as it is
    depends_on   identifiers of the items this one depends on (';' separated or a list)
    part_of      identifiers of the items this one is part of

A column left out of the file leaves that part of existing items as it is; a column present with
a blank cell clears it (owner, services, attributes, relations). Items not in the file are left
alone: the import creates and updates, it never removes. Rows count from 1, the header not
counted; a problem with the file as a whole has no row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from usm.agreements.models import Service
from usm.mir.choices import ItemStatus, RelationKind
from usm.mir.graph import cyclic_groups
from usm.mir.queries import register_state, without_version
from usm.mir.values import MAX_LENGTH, text, valid_identifier
from usm.organisation.models import Team

COLUMNS = (
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
_ITEM_COLUMNS = COLUMNS[:7]
ATTRIBUTE_PREFIX = "attr."
RELATION_KINDS = tuple(RelationKind.values)


@dataclass(frozen=True)
class RowError:
    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else "file"
        return (
            f"{where}, {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


@dataclass
class ImportReport:
    batch: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict:
        return {
            "batch": self.batch,
            "rows": self.rows,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "written": self.written,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [asdict(e) for e in self.errors],
        }


@dataclass
class ImportPlan:
    report: ImportReport
    changes: list[dict] = field(default_factory=list)
    # The row each change record comes from, to report a late refusal by the writer.
    origins: list[int] = field(default_factory=list)


def plan_import(provider, rows: Iterable[Mapping[str, Any]], *, batch: str) -> ImportPlan:
    """Check `rows` against the provider's register and plan the changes that bring it there."""
    report = ImportReport(batch=batch)
    current = register_state(provider)
    teams = set(Team.objects.filter(provider=provider).values_list("name", flat=True))
    services = set(Service.objects.filter(provider=provider).values_list("code", flat=True))

    def refuse(row: int | None, column: str, message: str) -> None:
        report.errors.append(RowError(row, column, message))

    given_rows: list[tuple[int, dict]] = []
    # Columns already refused on a row: checking them against the register would say it twice.
    refused_columns: dict[int, set[str]] = {}
    in_file: dict[str, int] = {}
    for number, raw in enumerate(rows, start=1):
        report.rows = number
        if not isinstance(raw, Mapping):
            refuse(number, "", "must be an object of column names and values")
            continue
        given, problems = _read_row(number, raw)
        report.errors.extend(problems)
        identifier = given.get("identifier")
        if identifier is None:
            continue
        if identifier in in_file:
            refuse(number, "identifier", f"{identifier} is already on row {in_file[identifier]}")
            continue
        in_file[identifier] = number
        given_rows.append((number, given))
        refused_columns[number] = {problem.field for problem in problems}

    desired: dict[str, dict] = {}
    for number, given in given_rows:
        identifier = given["identifier"]
        old = current.get(identifier)
        state = without_version(old) if old else _new_state(identifier)
        state.update({k: v for k, v in given.items() if k in COLUMNS})
        if "attr" in given:
            state["attributes"] = {**state["attributes"], **given["attr"]}
        if old is None:
            for column in ("name", "type"):
                if not state[column] and column not in refused_columns[number]:
                    refuse(number, column, "is required for a new item")
        if given.get("owner") and given["owner"] not in teams:
            refuse(number, "owner", f"there is no team '{given['owner']}' at {provider.slug}")
        unknown = sorted(set(given.get("services", ())) - services)
        if unknown:
            refuse(
                number, "services", f"there is no service {', '.join(unknown)} at {provider.slug}"
            )
        for kind in RELATION_KINDS:
            if kind in refused_columns[number]:
                continue
            for target in given.get(kind, ()):
                if target == identifier:
                    refuse(number, kind, "an item cannot depend on or be part of itself")
                elif target not in current and target not in in_file:
                    refuse(
                        number, kind, f"there is no MIR item {target} in the register or the file"
                    )
        desired[identifier] = state

    _refuse_part_of_cycles(current, desired, given_rows, refuse)
    plan = ImportPlan(report=report)
    if report.errors:
        return plan
    _plan_changes(plan, current, desired, given_rows)
    return plan


def _new_state(identifier: str) -> dict:
    return {
        "identifier": identifier,
        "name": "",
        "type": "",
        "status": ItemStatus.ACTIVE.value,
        "owner": None,
        "services": [],
        "attributes": {},
        "depends_on": [],
        "part_of": [],
    }


def _refuse_part_of_cycles(current, desired, given_rows, refuse) -> None:
    edges = {identifier: set(state["part_of"]) for identifier, state in current.items()}
    edges.update({identifier: set(state["part_of"]) for identifier, state in desired.items()})
    groups = cyclic_groups(edges)
    if not groups:
        return
    for number, given in given_rows:
        identifier = given["identifier"]
        if "part_of" not in given:
            continue
        for group in groups:
            if identifier in group and group & set(given["part_of"]):
                refuse(
                    number,
                    "part_of",
                    f"would make a cycle of parts among {', '.join(sorted(group))}",
                )


def _plan_changes(plan: ImportPlan, current, desired, given_rows) -> None:
    creates, updates, unrelates, relates = [], [], [], []
    for number, given in given_rows:
        identifier = given["identifier"]
        old = current.get(identifier)
        state = desired[identifier]
        if old is None:
            creates.append((number, {"action": "create", **{k: state[k] for k in _ITEM_COLUMNS}}))
            plan.report.created.append(identifier)
        else:
            fields = {k: state[k] for k in _ITEM_COLUMNS[1:] if state[k] != old[k]}
            if fields:
                updates.append(
                    (
                        number,
                        {
                            "action": "update",
                            "identifier": identifier,
                            "version": old["version"],
                            "fields": fields,
                        },
                    )
                )
        for kind in RELATION_KINDS:
            before = set(old[kind]) if old else set()
            for target in sorted(before - set(state[kind])):
                unrelates.append((number, _relation("unrelate", identifier, kind, target)))
            for target in sorted(set(state[kind]) - before):
                relates.append((number, _relation("relate", identifier, kind, target)))
        if old is not None:
            if without_version(old) == state:
                plan.report.unchanged.append(identifier)
            else:
                plan.report.updated.append(identifier)
    # Items first, so that relations find their targets; removals before additions.
    for number, change in creates + updates + unrelates + relates:
        plan.origins.append(number)
        plan.changes.append(change)


def _relation(action: str, source: str, kind: str, target: str) -> dict:
    return {"action": action, "source": source, "kind": kind, "target": target}


# -- reading one row --------------------------------------------------------------------------------
def _read_row(number: int, raw: Mapping) -> tuple[dict, list[RowError]]:
    """The columns a row gives, parsed; CSV cells are text, JSON members may be typed."""
    given: dict[str, Any] = {}
    problems: list[RowError] = []
    attributes: dict[str, Any] = {}
    for key, value in raw.items():
        if key is None:
            problems.append(RowError(number, "", "has more cells than the header has columns"))
            continue
        column = str(key).strip()
        if column.startswith(ATTRIBUTE_PREFIX) and len(column) > len(ATTRIBUTE_PREFIX):
            if value not in (None, ""):
                attributes[column[len(ATTRIBUTE_PREFIX) :]] = value
            continue
        if column not in COLUMNS:
            problems.append(
                RowError(
                    number,
                    column,
                    f"is not a column; the columns are {', '.join(COLUMNS)} and attr.<key>",
                )
            )
            continue
        try:
            if column == "identifier":
                given[column] = valid_identifier(value)
            elif column == "status" and value in (None, ""):
                continue
            else:
                given[column] = _PARSERS[column](value)
        except ValidationError as exc:
            problems.append(RowError(number, column, exc.messages[0]))
        except ValueError as exc:
            problems.append(RowError(number, column, str(exc)))
    if "identifier" not in given and not any(p.field == "identifier" for p in problems):
        problems.append(RowError(number, "identifier", "is required"))
    for kind in RELATION_KINDS:
        for target in given.get(kind, ()):
            try:
                valid_identifier(target, kind)
            except ValidationError as exc:
                problems.append(RowError(number, kind, exc.messages[0]))
    if attributes:
        given["attr"] = attributes
    return given, problems


def _text(column: str):
    def parse(value: Any) -> str:
        return text(value, column, MAX_LENGTH[column])

    return parse


def _status(value: Any) -> str:
    if value not in ItemStatus.values:
        raise ValueError(f"'{value}' is not one of {', '.join(ItemStatus.values)}")
    return value


def _owner(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be a team's name")
    return value.strip() or None


def _names(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        parts = value.split(";")
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        parts = value
    else:
        raise ValueError("must be ';'-separated text or a list of text")
    return sorted({part.strip() for part in parts if part.strip()})


def _attributes(value: Any) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at character {exc.pos + 1})") from None
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object, e.g. {"ram_gb": 16}')
    return value


_PARSERS = {
    "name": _text("name"),
    "type": _text("type"),
    "status": _status,
    "owner": _owner,
    "services": _names,
    "attributes": _attributes,
    "depends_on": _names,
    "part_of": _names,
}
