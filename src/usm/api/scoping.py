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


def is_staff(user) -> bool:
    """Provider staff hold a profile or sit in a team; everyone else is a customer's user."""
    person = getattr(user, "person", None)
    if person is None:
        return False
    return user.is_staff or person.profiles.exists() or person.teams.exists()


def scoped(user, queryset: QuerySet) -> QuerySet:
    """`queryset` narrowed to what `user` may see. Models whose provider is reached through a
    parent name the path in `provider_path` (e.g. a norm through its agreement). Models that
    belong to a customer name the path in `customer_path`: a customer's user (a requester, not
    staff) sees only the rows of the customers that authorised them."""
    provider_id = provider_id_of(user)
    if provider_id is None:
        return queryset.none()
    path = getattr(queryset.model, "provider_path", "provider")
    visible = queryset.filter(**{f"{path}_id": provider_id})
    customer_path = getattr(queryset.model, "customer_path", None)
    if customer_path and not is_staff(user):
        customers = user.person.authorisations.filter(active=True).values("customer_id")
        visible = visible.filter(**{f"{customer_path}_id__in": customers})
    return visible


def scoped_get(user, model_or_queryset: type[Model] | QuerySet, **lookup) -> Model:
    """One row `user` may see, or a 404 (never a 403: other tenants' ids are not revealed)."""
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset._default_manager.all()
    )
    return get_object_or_404(scoped(user, queryset), **lookup)
