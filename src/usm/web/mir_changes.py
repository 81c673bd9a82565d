"""The MIR side of a change on the call page: the form that records what the change will alter,
and how recorded and applied MIR changes read. Recording writes nothing to the MIR; CHM's Update
MIR step applies the records (`usm.mir.services.apply_changes`), all or nothing."""

from __future__ import annotations

import json
import math
import re

from django import forms
from django.core.exceptions import ValidationError

from usm.api.scoping import scoped
from usm.calls.models import Call
from usm.mir.choices import ChangeRoute, RelationKind
from usm.mir.models import MirChange, MirItem
from usm.web.forms import VersionField

# The step that applies the records; the services refuse new records once it has run.
UPDATE_MIR_STEP = "CHM-8"
ENDED = ("closed", "aborted")
RELATION_LABELS = dict(RelationKind.choices)
ACTIONS = [
    ("update", "Change attributes of an item"),
    ("create", "Add a new item"),
    ("retire", "Retire an item"),
    ("relate", "Relate two items"),
    ("unrelate", "Remove a relation"),
]
ATTRIBUTE_LINE = re.compile(r"^\s*([^=]+?)\s*=\s*(.*?)\s*$")


def may_record(call: Call) -> bool:
    return (
        call.process == "CHM"
        and call.status not in ENDED
        and not call.attempts.get(UPDATE_MIR_STEP)
    )


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is not a finite number")
    return number


def _not_json(text: str):
    raise ValueError(f"{text} is not JSON")


def _attribute_value(text: str):
    """Numbers, true/false and JSON read as such, so that `ram = 32` stores a number; anything
    else is text. An empty value removes the attribute. NaN and infinities (which Python's
    reader accepts, and `1e400` becomes) are no JSON: the database refuses them, so they stay
    text."""
    if text == "":
        return None
    try:
        return json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except ValueError:
        return text


class MirChangeForm(forms.Form):
    what = forms.ChoiceField(choices=ACTIONS, label="What the change does")
    identifier = forms.CharField(
        max_length=80, label="MIR item", help_text="Its identifier; the source of a relation."
    )
    name = forms.CharField(required=False, max_length=200, help_text="For a new item.")
    type = forms.CharField(
        required=False, max_length=60, help_text="For a new item, e.g. server, application."
    )
    attributes = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One 'name = value' per line; an empty value removes the attribute.",
    )
    kind = forms.ChoiceField(required=False, choices=RelationKind.choices, label="Relation")
    target = forms.CharField(required=False, max_length=80, label="Related item")
    version = VersionField()

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = scoped(user, MirItem.objects.all())

    def _existing(self, field: str, identifier: str) -> MirItem | None:
        item = self.items.filter(identifier=identifier).first()
        if item is None:
            self.add_error(field, f"{identifier} is not in the MIR")
        return item

    def clean_attributes(self) -> dict:
        found = {}
        for line in self.cleaned_data["attributes"].splitlines():
            if not line.strip():
                continue
            match = ATTRIBUTE_LINE.match(line)
            if not match:
                raise ValidationError(f"'{line.strip()[:40]}' is not 'name = value'")
            found[match.group(1)] = _attribute_value(match.group(2))
        return found

    def clean(self):
        data = super().clean()
        action, identifier = data.get("what"), (data.get("identifier") or "").strip()
        if not action or not identifier:
            return data
        if action == "create":
            data["change"] = self._create(identifier, data)
        elif action in ("update", "retire"):
            item = self._existing("identifier", identifier)
            if item is None:
                return data
            # The version the change is planned on: should the item move on before Update MIR,
            # applying the record is refused rather than overwriting what changed since.
            change = {"action": action, "identifier": identifier, "version": item.version}
            if action == "update":
                fields = {k: data[k] for k in ("name", "type") if data.get(k)}
                if fields:
                    change["fields"] = fields
                if data.get("attributes"):
                    change["attributes"] = data["attributes"]
                if len(change) == 3:
                    self.add_error("attributes", "name at least one attribute, name or type")
            data["change"] = change
        else:
            target = (data.get("target") or "").strip()
            if not target:
                self.add_error("target", "name the related item")
            elif self._existing("identifier", identifier) and self._existing("target", target):
                data["change"] = {
                    "action": action,
                    "source": identifier,
                    "kind": data.get("kind") or RelationKind.DEPENDS_ON,
                    "target": target,
                }
        return data

    def _create(self, identifier: str, data: dict) -> dict | None:
        if self.items.filter(identifier=identifier).exists():
            self.add_error("identifier", f"{identifier} is already in the MIR")
        for required in ("name", "type"):
            if not data.get(required):
                self.add_error(required, "a new item needs it")
        if self.errors:
            return None
        change = {"action": "create", "identifier": identifier}
        change.update(name=data["name"], type=data["type"])
        attributes = {k: v for k, v in data.get("attributes", {}).items() if v is not None}
        if attributes:
            change["attributes"] = attributes
        return change


def _values(values: dict) -> str:
    return ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items())


def describe(record: dict) -> str:
    """A recorded change as the desk reads it, e.g. "update relay-1: tls = true"."""
    if not isinstance(record, dict):
        return str(record)
    action = record.get("action", "?")
    if action in ("relate", "unrelate"):
        kind = RELATION_LABELS.get(record.get("kind"), record.get("kind"))
        verb = "relate" if action == "relate" else "no longer relate"
        return f"{verb}: {record.get('source')} {kind} {record.get('target')}"
    text = f"{action} {record.get('identifier')}"
    details = dict(record.get("fields") or {})
    details.update(record.get("attributes") or {})
    if action == "create":
        details = {k: record[k] for k in ("name", "type") if k in record}
        details.update(record.get("attributes") or {})
    return f"{text}: {_values(details)}" if details else text


def applied(call: Call) -> list[dict]:
    """What the change's Update MIR step did to the register: per item, the fields it altered."""
    rows = MirChange.objects.filter(
        provider_id=call.provider_id, route=ChangeRoute.CHANGE, reference=call.number
    ).order_by("changed_at", "id")
    shown = []
    for row in rows:
        before, after = row.before or {}, row.after or {}
        altered = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        altered = [k for k in altered if k != "version"]
        if not row.before:
            what = "created"
        elif not row.after or after.get("status") == "retired":
            what = "retired"
        else:
            what = "altered " + ", ".join(altered) if altered else "touched"
        shown.append({"identifier": row.identifier, "what": what, "at": row.changed_at})
    return shown


def mir_view(call: Call) -> dict:
    return {
        "items": list(call.mir_items.order_by("identifier")),
        "planned": [describe(r) for r in call.mir_changes] if call.process == "CHM" else [],
        "applied": applied(call) if call.process == "CHM" else [],
        "is_change": call.process == "CHM",
    }
