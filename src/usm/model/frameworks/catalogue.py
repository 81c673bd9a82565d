"""Framework practice catalogues: the practices of ITIL, COBIT and FitSM and the USM steps that
realise each one. One TOML file per framework under `data/`; a directory of such files is a set of
catalogues."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from usm.model.errors import ModelError
from usm.model.loader import read_toml

DATA = resources.files("usm.model.frameworks") / "data"

# Unknown keys are rejected rather than ignored: a misspelt `step =` would otherwise leave a
# practice silently unmapped and only surface as a coverage gap far from the typo.
FRAMEWORK_KEYS = {"id", "name", "edition", "basis", "group", "practice"}
GROUP_KEYS = {"id", "name"}
PRACTICE_KEYS = {
    "id",
    "name",
    "group",
    "abbreviation",
    "description",
    "steps",
    "who_how",
    "rationale",
}
# Practice ids appear in selection files as `framework:practice-id`, one per line.
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class CatalogueError(ModelError):
    """A catalogue that cannot be read, or a framework or practice that does not exist."""


@dataclass(frozen=True)
class Group:
    id: str
    name: str


@dataclass(frozen=True)
class Practice:
    framework: str
    id: str
    name: str
    group: str
    description: str
    steps: tuple[str, ...]
    rationale: str
    who_how: str = ""
    abbreviation: str = ""

    @property
    def key(self) -> str:
        """How a selection file names this practice."""
        return f"{self.framework}:{self.id}"


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    edition: str
    groups: tuple[Group, ...]
    practices: tuple[Practice, ...]
    basis: str = ""
    source: str = ""

    def practice(self, practice_id: str) -> Practice:
        wanted = practice_id.strip().casefold()
        for practice in self.practices:
            if practice.id.casefold() == wanted:
                return practice
        raise CatalogueError(f"{self.name} has no practice '{practice_id}'")

    def in_group(self, group_id: str) -> tuple[Practice, ...]:
        return tuple(p for p in self.practices if p.group == group_id)


class _Table:
    """One table of a catalogue file, with errors that say where."""

    def __init__(self, table: Any, where: str, allowed: set[str]):
        if not isinstance(table, dict):
            raise CatalogueError(f"{where}: expected a table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise CatalogueError(
                f"{where}: unknown key {', '.join(repr(k) for k in unknown)}; "
                f"expected {', '.join(sorted(allowed))}"
            )
        self.table, self.where = table, where

    def text(self, key: str, *, required: bool = True) -> str:
        value = self.table.get(key, "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise CatalogueError(f"{self.where}: '{key}' must be a non-empty string")
        return " ".join(value.split())

    def identifier(self, key: str) -> str:
        value = self.text(key)
        if not ID.match(value):
            raise CatalogueError(
                f"{self.where}: '{key}' is '{value}'; use letters, digits, '.', '_' or '-' only"
            )
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CatalogueError(f"{self.where}: '{key}' must be a list of strings")
        cleaned = tuple(v.strip() for v in value)
        twice = sorted({v for v in cleaned if cleaned.count(v) > 1})
        if twice:
            raise CatalogueError(f"{self.where}: '{key}' lists {', '.join(twice)} more than once")
        return cleaned

    def tables(self, key: str) -> list[Any]:
        value = self.table.get(key, [])
        if not isinstance(value, list):
            raise CatalogueError(f"{self.where}: '{key}' must be an array of tables")
        return value


def load_catalogue(path: Path | Any) -> Framework:
    """Read one framework catalogue. Steps are not checked against a model here: a practice that
    maps to no step or to a missing one is a finding of `analysis.unrealised`, not a reading
    error, so that a validator can report it beside everything else."""
    try:
        raw = read_toml(path)
    except ModelError as exc:
        raise CatalogueError(str(exc)) from exc
    top = _Table(raw, str(path), FRAMEWORK_KEYS)
    framework_id = top.identifier("id")
    groups: dict[str, Group] = {}
    for index, table in enumerate(top.tables("group"), start=1):
        entry = _Table(table, f"{path}: group {index}", GROUP_KEYS)
        group = Group(entry.identifier("id"), entry.text("name"))
        if group.id in groups:
            raise CatalogueError(f"{path}: group '{group.id}' is declared twice")
        groups[group.id] = group
    if not groups:
        raise CatalogueError(f"{path}: declares no [[group]]")
    practices: dict[str, Practice] = {}
    for index, table in enumerate(top.tables("practice"), start=1):
        entry = _Table(table, f"{path}: practice {index}", PRACTICE_KEYS)
        practice_id = entry.identifier("id")
        entry.where = f"{path}: practice {index} ({practice_id})"
        practice = Practice(
            framework=framework_id,
            id=practice_id,
            name=entry.text("name"),
            group=entry.text("group"),
            description=entry.text("description"),
            steps=entry.texts("steps"),
            rationale=entry.text("rationale"),
            who_how=entry.text("who_how", required=False),
            abbreviation=entry.text("abbreviation", required=False),
        )
        if practice.group not in groups:
            raise CatalogueError(
                f"{entry.where}: group '{practice.group}' is not declared; "
                f"declared: {', '.join(groups)}"
            )
        if practice_id.casefold() in practices:
            raise CatalogueError(f"{path}: practice '{practice_id}' is declared twice")
        practices[practice_id.casefold()] = practice
    if not practices:
        raise CatalogueError(f"{path}: declares no [[practice]]")
    return Framework(
        id=framework_id,
        name=top.text("name"),
        edition=top.text("edition"),
        basis=top.text("basis", required=False),
        groups=tuple(groups.values()),
        practices=tuple(practices.values()),
        source=str(path),
    )


def load_catalogues(directory: Path | Any) -> dict[str, Framework]:
    """Read every `*.toml` catalogue in a directory, keyed by framework id."""
    try:
        files = sorted(
            (f for f in directory.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name
        )
    except OSError as exc:
        raise CatalogueError(f"{directory}: cannot be listed: {exc.strerror}") from exc
    if not files:
        raise CatalogueError(f"{directory}: holds no *.toml catalogue")
    frameworks: dict[str, Framework] = {}
    for file in files:
        framework = load_catalogue(file)
        if framework.id in frameworks:
            raise CatalogueError(
                f"{file}: framework id '{framework.id}' is already used by "
                f"{frameworks[framework.id].source}"
            )
        frameworks[framework.id] = framework
    return frameworks


@cache
def load_frameworks() -> Mapping[str, Framework]:
    """The catalogues shipped with the package, keyed by framework id. Read-only because the
    result is shared between every caller."""
    return MappingProxyType(load_catalogues(DATA))


def framework(framework_id: str, frameworks: Mapping[str, Framework] | None = None) -> Framework:
    """One framework by id (case-insensitive), from `frameworks` or the shipped catalogues."""
    known = load_frameworks() if frameworks is None else frameworks
    wanted = framework_id.strip().casefold()
    for candidate in known.values():
        if candidate.id.casefold() == wanted:
            return candidate
    raise CatalogueError(f"unknown framework '{framework_id}'; known: {', '.join(known) or 'none'}")


def as_list(frameworks: Mapping[str, Framework] | Iterable[Framework] | None) -> list[Framework]:
    """Accept catalogues as loaded (a mapping), as any iterable, or None for the shipped ones."""
    if frameworks is None:
        frameworks = load_frameworks()
    if isinstance(frameworks, Mapping):
        return list(frameworks.values())
    if isinstance(frameworks, Framework):
        return [frameworks]
    return list(frameworks)
