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
- `staff_only = True`: the provider's own set-up (units, profiles, procedures, work instructions)
  and its own records (a call's event log); a customer's user sees none of it.
- `shown_to_customers`: a condition (a `Q`) the rows reached through `customer_path` must meet
  as well: of their customers' calls, the ones they put in; of the notes, the public ones. It
  holds wherever a path crosses the model too: a note, a notification or a team is reached only
  through a call its customer's user may see.

What a customer's user may *do* is narrower still: `usm.api.crud.require_staff` refuses them every
write that works a call or the provider's set-up.

A model declaring none of these is seen by everyone of its provider (the service catalogue, the
MIR). Finer rules (per team, say) are added here, and nowhere else.
"""

from __future__ import annotations

from functools import cache

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
    declared = ("customer_path", "user_path", "staff_only", "shown_to_customers")
    return any(hasattr(model, name) for name in declared)


def _seen_by_customers_user(model: type[Model], user) -> Q:
    # An authorisation taken back takes the customer's rows with it; the customer itself may
    # still be active.
    customers = user.person.authorisations.filter(active=True).values("customer_id")
    paths = getattr(model, "customer_path", ())
    reached = Q(pk__in=[])  # nothing, until a path leads somewhere
    for path in (paths,) if isinstance(paths, str) else paths:
        reached |= _reaching(model, path, customers)
    seen = reached & getattr(model, "shown_to_customers", Q())
    user_path = getattr(model, "user_path", None)
    if user_path:
        seen |= Q(**{f"{user_path}_id": user.pk})
    return seen


def _reaching(model: type[Model], path: str, customers: QuerySet) -> Q:
    """The rows of `model` that `path` leads from to one of `customers`. A model met on the way
    that declares `shown_to_customers` applies it at that hop: the staff assigned to a risk the
    provider raised about a customer are not reached through that risk."""
    if path == "pk":
        return Q(pk__in=customers)
    names = path.split("__")
    current = model
    for hop, name in enumerate(names[:-1], start=1):
        current = current._meta.get_field(name).related_model
        condition = getattr(current, "shown_to_customers", None)
        if condition is not None:
            shown = current._base_manager.filter(
                condition, _reaching(current, "__".join(names[hop:]), customers)
            )
            return _through(model, "__".join(names[:hop]), shown.values("pk"))
    return _through(model, path, customers)


def _through(model: type[Model], path: str, targets: QuerySet) -> Q:
    if _crosses_many(model, path):
        # A join through a many-valued relation would repeat the row once per match.
        rows = model._base_manager.filter(**{f"{path}__in": targets})
        return Q(pk__in=rows.values("pk"))
    return Q(**{f"{path}__in": targets})


@cache
def _crosses_many(model: type[Model], path: str) -> bool:
    for name in path.split("__"):
        field = model._meta.get_field(name)
        if field.one_to_many or field.many_to_many:
            return True
        model = field.related_model
    return False
