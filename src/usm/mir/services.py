"""The only writer of the MIR. It has two doors and opens the model guard only inside them:

- `apply_changes`: Change's "Update MIR" step (CHM-8) records what a deployed change altered;
  route "change", referenced by the change call's tracking number.
- `admin_import`: the administrator's bulk import of a file; route "admin_import", referenced by
  the import batch.

Both are all-or-nothing and log one MirChange per item they altered, with the item's state before
and after. A change record (a plain dict, so a change call can carry it as JSON) is one of:

    {"action": "create", "identifier": "web-01", "name": "Web server 1", "type": "server",
     "status": "active", "owner": "Hosting", "services": ["webshop"], "attributes": {"ram": 16}}
    {"action": "update", "identifier": "web-01", "version": 3,
     "fields": {"name": ..., "type": ..., "status": ..., "owner": ..., "services": [...],
                "attributes": {...}},     # each optional; `attributes` here replaces them all
     "attributes": {"ram": 32, "old": None}}  # merged into the item's; None removes a key
    {"action": "retire", "identifier": "web-01", "version": 3}
    {"action": "relate", "source": "webshop-app", "kind": "depends_on", "target": "web-01"}
    {"action": "unrelate", "source": "webshop-app", "kind": "depends_on", "target": "web-01"}

`owner` is a team's name and `services` are service codes, both of the same provider. `version` is
the version the change was planned on; if the item has moved on since, StaleUpdate is raised and
nothing is written. Within one call every record names the version from before the call (an item
created in the same call counts as version 1), and each altered item goes up by exactly one.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from usm.agreements.models import Service
from usm.conflicts import StaleUpdate
from usm.mir.choices import ChangeRoute, ItemStatus, RelationKind
from usm.mir.graph import cyclic_groups
from usm.mir.guard import opened
from usm.mir.importing import ImportReport, RowError, plan_import
from usm.mir.models import MirChange, MirItem, MirRelation
from usm.mir.queries import chunks, register_state, without_version
from usm.mir.values import MAX_LENGTH, invalid, text, valid_identifier
from usm.organisation.models import Team

ITEM_FIELDS = ("name", "type", "status", "owner", "services", "attributes")
REFERENCE_LENGTH = MirChange._meta.get_field("reference").max_length


def apply_changes(
    provider, changes: Iterable[Mapping[str, Any]], *, reference: str, actor=None
) -> list[MirChange]:
    """Apply a change call's MIR update (see the module docstring for the records) and return the
    history rows written. Raises ValidationError naming `changes[i].field` for every record that
    cannot be applied, or StaleUpdate; in both cases nothing is written."""
    if not isinstance(reference, str) or not reference.strip():
        raise ValidationError({"reference": "name the change call that alters the MIR"})
    if len(reference.strip()) > REFERENCE_LENGTH:
        raise ValidationError({"reference": f"is longer than {REFERENCE_LENGTH} characters"})
    return _write(
        provider, list(changes), route=ChangeRoute.CHANGE, reference=reference.strip(), actor=actor
    )


def admin_import(
    provider, rows: Iterable[Mapping[str, Any]], *, actor, batch: str, dry_run: bool = False
) -> ImportReport:
    """The administrator's import: each row is an item's state (see `usm.mir.importing`), created
    or brought up to date. All or nothing: a report with errors means nothing was written, and a
    dry run only reports."""
    batch = (batch.strip() or "import")[:REFERENCE_LENGTH]
    # Planning reads the register in the same transaction as the write, so what the report
    # compared against is what gets changed.
    with transaction.atomic():
        plan = plan_import(provider, rows, batch=batch)
        report = plan.report
        report.dry_run = dry_run
        if report.errors or dry_run:
            return report
        try:
            _write(
                provider, plan.changes, route=ChangeRoute.ADMIN_IMPORT, reference=batch, actor=actor
            )
        except ValidationError as exc:
            # The plan checks what the writer checks; this is a row changed under our feet.
            report.errors = _rows_of(exc, plan.origins)
            return report
        except StaleUpdate as exc:
            report.errors = [RowError(None, "version", f"{exc} during the import; run it again")]
            return report
    report.written = True
    return report


def _rows_of(error: ValidationError, origins: list[int]) -> list[RowError]:
    """The writer's `changes[i].field` errors, told by the row each change came from."""
    found = []
    for key, messages in error.message_dict.items():
        match = re.fullmatch(r"changes\[(\d+)\]\.?(.*)", key)
        row = origins[int(match.group(1))] if match else None
        field = match.group(2) if match else key
        found.extend(RowError(row, field, message) for message in messages)
    return found


def _write(provider, changes: list, *, route: str, reference: str, actor) -> list[MirChange]:
    with transaction.atomic(), opened(route):
        session = _Session(provider, changes)
        errors: dict[str, list[str]] = {}
        for index, change in enumerate(changes):
            try:
                session.apply(index, change)
            except ValidationError as exc:
                for field, messages in _messages(exc).items():
                    key = f"changes[{index}].{field}" if field else f"changes[{index}]"
                    errors.setdefault(key, []).extend(messages)
        if errors:
            raise ValidationError(errors)
        session.refuse_part_of_cycles()
        return session.log(route=route, reference=reference, actor=actor)


def _messages(error: ValidationError) -> dict[str, list[str]]:
    return error.message_dict if hasattr(error, "error_dict") else {"": error.messages}


def _json_object(value: Any, field: str) -> dict:
    if not isinstance(value, dict):
        raise invalid(field, "must be an object of attribute names and values")
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise invalid(field, "must hold JSON values only") from None
    return value


class _Session:
    """One all-or-nothing pass over a list of change records."""

    def __init__(self, provider, changes: list):
        self.provider = provider
        named = {
            change[key]
            for change in changes
            if isinstance(change, Mapping)
            for key in ("identifier", "source", "target")
            if isinstance(change.get(key), str)
        }
        # Lock first, then read: a concurrent writer cannot slip between the version check and
        # the write (PostgreSQL; SQLite's immediate transactions already queue writers).
        self.items: dict[str, MirItem] = {}
        for batch in chunks(sorted(named)):
            for item in MirItem.objects.select_for_update().filter(
                provider=provider, identifier__in=batch
            ):
                self.items[item.identifier] = item
        self.before = register_state(provider, self.items)
        self.touched: set[str] = set()
        self.new_part_of: list[tuple[int, str, str]] = []

    @cached_property
    def teams(self) -> dict[str, Team]:
        return {team.name: team for team in Team.objects.filter(provider=self.provider)}

    @cached_property
    def services(self) -> dict[str, Service]:
        return {service.code: service for service in Service.objects.filter(provider=self.provider)}

    def apply(self, index: int, change: Any) -> None:
        if not isinstance(change, Mapping):
            raise invalid("action", "each change is an object with an action")
        action = change.get("action")
        handler = isinstance(action, str) and {
            "create": self._create,
            "update": self._update,
            "retire": self._retire,
            "relate": self._relate,
            "unrelate": self._unrelate,
        }.get(action)
        if not handler:
            raise invalid(
                "action", f"'{action}' is not one of create, update, retire, relate, unrelate"
            )
        unknown = set(change) - _KEYS[action]
        if unknown:
            raise invalid(
                sorted(unknown)[0],
                f"is not part of a '{action}' change ({', '.join(sorted(_KEYS[action]))})",
            )
        handler(index, change)

    # -- the actions --------------------------------------------------------------------------------
    def _create(self, index: int, change: Mapping) -> None:
        identifier = valid_identifier(change.get("identifier"))
        if identifier in self.items:
            raise invalid("identifier", f"{identifier} is already in the register")
        item = MirItem(provider=self.provider, identifier=identifier, attributes={})
        services = self._assign(item, {k: change[k] for k in ITEM_FIELDS if k in change}, new=True)
        item.save()
        item.services.set(services or [])
        self.items[identifier] = item
        self.touched.add(identifier)

    def _update(self, index: int, change: Mapping) -> None:
        item = self._item(change.get("identifier"), "identifier")
        self._check_version(item, change.get("version"))
        fields = change.get("fields", {})
        patch = change.get("attributes", {})
        if not isinstance(fields, Mapping):
            raise invalid("fields", f"must be an object of fields ({', '.join(ITEM_FIELDS)})")
        unknown = set(fields) - set(ITEM_FIELDS)
        if unknown:
            raise invalid("fields", f"{', '.join(sorted(unknown))}: not a field of a MIR item")
        patch = _json_object(patch, "attributes")
        if not fields and not patch:
            raise invalid("fields", "an update names at least one field or attribute")
        services = self._assign(item, fields, new=False)
        if patch:
            merged = dict(item.attributes)
            for key, value in patch.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            item.attributes = merged
        item.save()
        if services is not None:
            item.services.set(services)
        self.touched.add(item.identifier)

    def _retire(self, index: int, change: Mapping) -> None:
        item = self._item(change.get("identifier"), "identifier")
        self._check_version(item, change.get("version"))
        if item.status == ItemStatus.RETIRED:
            raise invalid("identifier", f"{item.identifier} is already retired")
        item.status = ItemStatus.RETIRED
        item.save()
        self.touched.add(item.identifier)

    def _relate(self, index: int, change: Mapping) -> None:
        source, kind, target, existing = self._relation(change)
        if existing.exists():
            raise invalid("target", _ALREADY[kind].format(source=source, target=target))
        MirRelation(source=source, kind=kind, target=target).save()
        if kind == RelationKind.PART_OF:
            self.new_part_of.append((index, source.identifier, target.identifier))
        self.touched.add(source.identifier)

    def _unrelate(self, index: int, change: Mapping) -> None:
        source, kind, target, existing = self._relation(change)
        if not existing.exists():
            raise invalid("target", _ABSENT[kind].format(source=source, target=target))
        existing.delete()
        self.touched.add(source.identifier)

    # -- checks -------------------------------------------------------------------------------------
    def _item(self, value: Any, field: str) -> MirItem:
        identifier = valid_identifier(value, field)
        if identifier not in self.items:
            raise invalid(field, f"there is no MIR item {identifier} at {self.provider.slug}")
        return self.items[identifier]

    def _check_version(self, item: MirItem, version: Any) -> None:
        if isinstance(version, bool) or not isinstance(version, int):
            raise invalid("version", "is required: the item's version the change was planned on")
        planned_on = self.before.get(item.identifier)
        current = planned_on["version"] if planned_on else 1
        if version != current:
            raise StaleUpdate(f"MIR item {item.identifier}", current, planned_on)

    def _relation(self, change: Mapping):
        kind = change.get("kind")
        if kind not in RelationKind.values:
            raise invalid("kind", f"'{kind}' is not one of {', '.join(RelationKind.values)}")
        source = self._item(change.get("source"), "source")
        target = self._item(change.get("target"), "target")
        if source.pk == target.pk:
            raise invalid("target", "an item cannot depend on or be part of itself")
        return (
            source,
            kind,
            target,
            MirRelation.objects.filter(source=source, kind=kind, target=target),
        )

    def _assign(self, item: MirItem, values: Mapping, *, new: bool) -> list[Service] | None:
        """Check every given field, then set them all; the services to link are returned because
        a new item needs its id first."""
        errors: dict[str, str] = {}
        accepted: dict[str, Any] = {}
        for field in ("name", "type"):
            if field in values or new:
                try:
                    accepted[field] = text(values.get(field), field, MAX_LENGTH[field])
                except ValidationError as exc:
                    errors[field] = exc.message_dict[field][0]
        if "status" in values:
            if values["status"] in ItemStatus.values:
                accepted["status"] = values["status"]
            else:
                errors["status"] = (
                    f"'{values['status']}' is not one of {', '.join(ItemStatus.values)}"
                )
        if "owner" in values:
            owner = values["owner"]
            if owner in (None, ""):
                accepted["owner"] = None
            elif isinstance(owner, str) and owner.strip() in self.teams:
                accepted["owner"] = self.teams[owner.strip()]
            else:
                errors["owner"] = f"there is no team '{owner}' at {self.provider.slug}"
        services = None
        if "services" in values:
            codes = values["services"]
            if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
                errors["services"] = "must be a list of service codes"
            else:
                unknown = sorted(set(codes) - set(self.services))
                if unknown:
                    errors["services"] = (
                        f"there is no service {', '.join(unknown)} at {self.provider.slug}"
                    )
                else:
                    services = [self.services[code] for code in sorted(set(codes))]
        if "attributes" in values:
            try:
                accepted["attributes"] = _json_object(values["attributes"], "attributes")
            except ValidationError as exc:
                errors["attributes"] = exc.message_dict["attributes"][0]
        if errors:
            raise ValidationError(errors)
        for field, value in accepted.items():
            setattr(item, field, value)
        return services

    def refuse_part_of_cycles(self) -> None:
        """A whole cannot be (indirectly) a part of itself. Checked on the register as it stands
        after every record, so a batch may move parts around in any order."""
        if not self.new_part_of:
            return
        edges: dict[str, set[str]] = defaultdict(set)
        for source, target in MirRelation.objects.filter(
            kind=RelationKind.PART_OF, source__provider=self.provider
        ).values_list("source__identifier", "target__identifier"):
            edges[source].add(target)
        groups = cyclic_groups(edges)
        errors: dict[str, str] = {}
        for index, source, target in self.new_part_of:
            for group in groups:
                if source in group and target in group:
                    errors[f"changes[{index}].target"] = (
                        f"{source} part of {target} closes a cycle among {', '.join(sorted(group))}"
                    )
        if errors:
            raise ValidationError(errors)

    def log(self, *, route: str, reference: str, actor) -> list[MirChange]:
        after = register_state(self.provider, self.touched)
        history = []
        for identifier in sorted(self.touched):
            item = self.items[identifier]
            before = self.before.get(identifier)
            now = after[identifier]
            if before is not None:
                if without_version(before) == without_version(now):
                    continue
                item.version = before["version"] + 1
                item.save(update_fields=["version", "updated_at"])
                now["version"] = item.version
            history.append(
                MirChange(
                    provider=self.provider,
                    item=item,
                    identifier=identifier,
                    route=route,
                    reference=reference,
                    actor=actor,
                    before=before,
                    after=now,
                )
            )
        return MirChange.objects.bulk_create(history)


_KEYS = {
    "create": {"action", "identifier", *ITEM_FIELDS},
    "update": {"action", "identifier", "version", "fields", "attributes"},
    "retire": {"action", "identifier", "version"},
    "relate": {"action", "source", "kind", "target"},
    "unrelate": {"action", "source", "kind", "target"},
}
_ALREADY = {
    RelationKind.DEPENDS_ON: "{source} already depends on {target}",
    RelationKind.PART_OF: "{source} is already part of {target}",
}
_ABSENT = {
    RelationKind.DEPENDS_ON: "{source} does not depend on {target}",
    RelationKind.PART_OF: "{source} is not part of {target}",
}
