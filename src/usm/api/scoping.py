"""The one authorisation rule every read and list goes through.

Today: a person sees the rows of the provider they belong to. Finer rules (per customer for
requesters, per team) are added here, and nowhere else.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404


def provider_id_of(user) -> int | None:
    person = getattr(user, "person", None) if user and user.is_authenticated else None
    return person.provider_id if person is not None and person.active else None


def scoped(user, queryset: QuerySet) -> QuerySet:
    """`queryset` narrowed to what `user` may see. Models whose provider is reached through a
    parent name the path in `provider_path` (e.g. a norm through its agreement)."""
    provider_id = provider_id_of(user)
    if provider_id is None:
        return queryset.none()
    path = getattr(queryset.model, "provider_path", "provider")
    return queryset.filter(**{f"{path}_id": provider_id})


def scoped_get(user, model_or_queryset: type[Model] | QuerySet, **lookup) -> Model:
    """One row `user` may see, or a 404 (never a 403: other tenants' ids are not revealed)."""
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset._default_manager.all()
    )
    return get_object_or_404(scoped(user, queryset), **lookup)
