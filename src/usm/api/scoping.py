"""The one authorisation rule every read and list goes through.

A person sees the rows of the provider they belong to. The provider's staff see all of them. A
customer's user (a requester, not staff) sees what concerns the customers that authorise them,
as each model declares:

- `customer_path`: the path from a row to the customer it concerns, or a tuple of such paths (the
  row is visible when any of them leads to one of the user's customers). `"pk"` names the
  customer itself. A path may cross a one-to-many or many-to-many relation: it is then read as a
  subquery, so that a row reached twice is still listed once.
- `user_path`: the path from a row to a login; the row of the caller's own login stays visible to
  them whatever their customers (their own person).
- `staff_only = True`: the provider's own set-up (units, profiles, procedures, work instructions);
  a customer's user sees none of it.

A model declaring none of these is seen by everyone of its provider (the service catalogue, the
MIR). Finer rules (per team, say) are added here, and nowhere else.
"""

from __future__ import annotations

import operator
from functools import cache, reduce

from django.db.models import Model, Q, QuerySet
from django.shortcuts import get_object_or_404


def provider_id_of(user) -> int | None:
    person = getattr(user, "person", None) if user and user.is_authenticated else None
    return person.provider_id if person is not None and person.active else None


def is_staff(user) -> bool:
    """Provider staff hold a profile, sit in a team, are let into the admin, or were given a Django
    model permission: permissions exist to change the provider's set-up, which only its own people
    do, and customers' users need none. Everyone else with a login is a customer's user."""
    person = getattr(user, "person", None)
    if person is None:
        return False
    if user.is_staff or user.is_superuser:
        return True
    if person.profiles.exists() or person.teams.exists():
        return True
    return bool(user.get_all_permissions())


def scoped(user, queryset: QuerySet) -> QuerySet:
    """`queryset` narrowed to what `user` may see. Models whose provider is reached through a
    parent name the path in `provider_path` (e.g. a norm through its agreement); what a customer's
    user sees of a model is declared on it (see the module's docstring)."""
    provider_id = provider_id_of(user)
    if provider_id is None:
        return queryset.none()
    model = queryset.model
    path = getattr(model, "provider_path", "provider")
    visible = queryset.filter(**{f"{path}_id": provider_id})
    if not _narrowed_for_customers(model) or is_staff(user):
        return visible
    if getattr(model, "staff_only", False):
        return visible.none()
    return visible.filter(_seen_by_customers_user(model, user))


def scoped_get(user, model_or_queryset: type[Model] | QuerySet, **lookup) -> Model:
    """One row `user` may see, or a 404 (never a 403: other tenants' ids are not revealed)."""
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset._default_manager.all()
    )
    return get_object_or_404(scoped(user, queryset), **lookup)


def _narrowed_for_customers(model: type[Model]) -> bool:
    return any(hasattr(model, name) for name in ("customer_path", "user_path", "staff_only"))


def _seen_by_customers_user(model: type[Model], user) -> Q:
    # An authorisation taken back takes the customer's rows with it; the customer itself may
    # still be active.
    customers = user.person.authorisations.filter(active=True).values("customer_id")
    paths = getattr(model, "customer_path", ())
    conditions = []
    for path in (paths,) if isinstance(paths, str) else paths:
        if path == "pk":
            conditions.append(Q(pk__in=customers))
        elif _crosses_many(model, path):
            # A join through a many-valued relation would repeat the row once per match.
            reached = model._base_manager.filter(**{f"{path}__in": customers})
            conditions.append(Q(pk__in=reached.values("pk")))
        else:
            conditions.append(Q(**{f"{path}__in": customers}))
    user_path = getattr(model, "user_path", None)
    if user_path:
        conditions.append(Q(**{f"{user_path}_id": user.pk}))
    return reduce(operator.or_, conditions)


@cache
def _crosses_many(model: type[Model], path: str) -> bool:
    for name in path.split("__"):
        field = model._meta.get_field(name)
        if field.one_to_many or field.many_to_many:
            return True
        model = field.related_model
    return False
