"""What every CRUD router under /api/v1 shares: paging, looking rows up through the scoping rule,
checking write permissions (`allow`, `require_staff`) and finding the caller's provider."""

from __future__ import annotations

from typing import Annotated

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from ninja import Field, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination

from usm.api.scoping import is_staff, provider_id_of, scoped, scoped_get
from usm.organisation.models import Provider

MAX_LIMIT = 200
# The largest id a row can have (a 64-bit key); larger numbers cannot name a row and would
# overflow the database driver.
MAX_ID = 2**63 - 1
MAX_OFFSET = 10**9

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"At most {MAX_LIMIT}")
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    q: str | None = Field(None, max_length=200, description="Search text")


class BoundedPagination(LimitOffsetPagination):
    """Ninja's limit/offset paging with an offset the database driver can take: an offset past
    a 64-bit integer is refused with a 422 instead of failing inside the query."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"At most {MAX_LIMIT}")
        offset: int = Field(0, ge=0, le=MAX_OFFSET)


def page(request, queryset: QuerySet, query: PageQuery, search: tuple[str, ...] = ()) -> dict:
    """One page of the rows the caller may see, searched in `search` fields."""
    for name, value in query.model_dump().items():
        # PostgreSQL refuses NUL in a query parameter; SQLite would just find nothing.
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError({name: "must not contain NUL characters"})
    rows = scoped(request.user, queryset)
    if query.q:
        condition = Q()
        for field_name in search:
            condition |= Q(**{f"{field_name}__icontains": query.q})
        rows = rows.filter(condition)
    return {
        "count": rows.count(),
        "limit": query.limit,
        "offset": query.offset,
        "items": list(rows[query.offset : query.offset + query.limit]),
    }


def page_of(name: str, item: type[Schema]) -> type[Schema]:
    """The response schema of a page of `item`s."""
    return type(
        name,
        (Schema,),
        {"__annotations__": {"count": int, "limit": int, "offset": int, "items": list[item]}},
    )


def get_row(request, queryset: type[Model] | QuerySet, pk: int) -> Model:
    if not 1 <= pk <= MAX_ID:
        raise Http404
    return scoped_get(request.user, queryset, pk=pk)


def own(request, model: type[Model], pk: int | None, field_name: str) -> Model | None:
    """A row the body names by id, from the caller's provider; an unknown id is the caller's
    mistake in that field (422), and says nothing about other providers' rows."""
    if pk is None:
        return None
    found = scoped(request.user, model._default_manager.filter(pk=pk)).first()
    if found is None:
        raise ValidationError({field_name: f"there is no {model._meta.verbose_name} {pk}"})
    return found


def own_all(request, model: type[Model], pks: list[int], field_name: str) -> list[Model]:
    return [own(request, model, pk, field_name) for pk in dict.fromkeys(pks)]


def caller_provider(request) -> Provider:
    provider_id = provider_id_of(request.user)
    if provider_id is None:
        raise HttpError(403, "only an active person of a provider can do this")
    return Provider.objects.get(pk=provider_id)


def allow(request, action: str, model: type[Model]) -> None:
    """Writes need the Django model permission too: every person of a provider can log in,
    customers' users included, and they must not rewrite the provider's setup."""
    meta = model._meta
    if not request.user.has_perm(f"{meta.app_label}.{action}_{meta.model_name}"):
        raise HttpError(403, f"you may not {action} {meta.verbose_name_plural}")


def require_staff(request, doing: str) -> None:
    """The work on calls is the provider's: a customer's user registers calls, reads their
    customers' and talks on them (public notes, replies), as in the portal, and is refused the
    rest with a 403. Asked before the call is looked up, so the answer says nothing about
    whether it exists."""
    user = request.auth
    if provider_id_of(user) is None or not is_staff(user):
        raise HttpError(403, f"only the provider's staff may {doing}")
