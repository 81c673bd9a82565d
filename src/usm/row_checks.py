"""Checks every app's services run on a row before saving it, so that what the database would
refuse with a bare error is answered with the field and the reason."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


def refuse_nul(instance: models.Model) -> None:
    # PostgreSQL cannot store NUL in text; SQLite can. Refusing it everywhere keeps both alike and
    # turns a database error into an answer naming the field.
    for model_field in instance._meta.concrete_fields:
        if isinstance(model_field, models.CharField | models.TextField):
            value = getattr(instance, model_field.attname)
            if isinstance(value, str) and "\x00" in value:
                raise ValidationError({model_field.name: "must not contain NUL characters"})


def unique_per_provider(instance: models.Model, field_name: str, what: str) -> None:
    """Checked before saving so that a clash names its field; the database constraint would only
    name the row."""
    value = getattr(instance, field_name)
    clash = (
        type(instance)
        ._default_manager.filter(provider_id=instance.provider_id, **{field_name: value})
        .exclude(pk=instance.pk)
    )
    if value not in (None, "") and clash.exists():
        raise ValidationError({field_name: f"there is already a {what} '{value}'"})


def apply_changes(
    instance: models.Model, changes: Mapping[str, Any], allowed: Iterable[str]
) -> None:
    """Set the fields an update names, refusing any it may not change."""
    refused = sorted(set(changes) - set(allowed))
    if refused:
        raise ValidationError(dict.fromkeys(refused, "cannot be changed here"))
    for name, value in changes.items():
        setattr(instance, name, value)
