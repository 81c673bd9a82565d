"""The MIR over REST, /api/v1/mir/: read-only. Every read goes through the scoping rule, so another
provider's item is simply not found."""

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.http import HttpResponse
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from usm.api.crud import BoundedPagination, RowId, require_staff
from usm.api.scoping import scoped, scoped_get
from usm.mir.choices import ItemStatus, RelationKind
from usm.mir.models import MirChange, MirItem, MirRelation
from usm.mir.queries import impact

router = Router(tags=["mir"])

RECENT_HISTORY = 10
WRITE_REFUSED = (
    "The MIR is read-only over the API: it changes only through a Change call (its Update MIR "
    "step) or the administrator's logged import."
)


class MirItemOut(Schema):
    identifier: str
    name: str
    type: str
    status: ItemStatus
    owner: str | None
    owner_id: int | None
    services: list[str]
    attributes: dict[str, Any]
    version: int
    updated_at: datetime

    @staticmethod
    def resolve_owner(item: MirItem) -> str | None:
        return item.owner.name if item.owner_id else None

    @staticmethod
    def resolve_services(item: MirItem) -> list[str]:
        return sorted(service.code for service in item.services.all())


class MirChangeOut(Schema):
    id: int
    identifier: str
    route: str
    reference: str
    actor: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed_at: datetime

    @staticmethod
    def resolve_actor(change: MirChange) -> str | None:
        return change.actor.get_username() if change.actor_id else None


class MirItemDetail(MirItemOut):
    depends_on: list[str]
    part_of: list[str]
    required_by: list[str]
    parts: list[str]
    history: list[MirChangeOut] = Field(alias="recent_history")


class ImpactedItemOut(Schema):
    identifier: str
    name: str
    type: str
    status: str
    level: int
    via: str
    relation: str


class ImpactedServiceOut(Schema):
    code: str
    name: str
    status: str
    served_by: list[str]


class ImpactedCustomerOut(Schema):
    code: str
    name: str
    agreements: list[str]
    services: list[str]


class ImpactOut(Schema):
    identifier: str
    dependents: list[ImpactedItemOut]
    services: list[ImpactedServiceOut]
    customers: list[ImpactedCustomerOut]


class Refusal(Schema):
    detail: str


def _items(request):
    return scoped(
        request.user, MirItem.objects.select_related("owner").prefetch_related("services")
    )


@router.get("/items", response=list[MirItemOut], summary="MIR items, filtered and paginated")
@paginate(BoundedPagination)
def list_items(
    request,
    type: str | None = None,
    status: ItemStatus | None = None,
    owner: RowId | None = None,
    service: str | None = None,
    q: str | None = None,
):
    """`owner` is a team id, `service` a service code; `q` searches identifiers, names and
    attribute names and values."""
    items = _items(request)
    if type:
        items = items.filter(type=type)
    if status:
        items = items.filter(status=status)
    if owner is not None:
        items = items.filter(owner_id=owner)
    if service:
        items = items.filter(services__code=service)
    if q:
        items = items.filter(
            Q(identifier__icontains=q) | Q(name__icontains=q) | Q(attributes__icontains=q)
        )
    return items


@router.get("/items/{identifier}", response=MirItemDetail, summary="One MIR item")
def get_item(request, identifier: str):
    """With its relations both ways and its most recent changes."""
    item = scoped_get(request.user, _items(request), identifier=identifier)
    relations = scoped(request.user, MirRelation.objects.all())
    outgoing = list(relations.filter(source=item).values_list("kind", "target__identifier"))
    incoming = list(relations.filter(target=item).values_list("kind", "source__identifier"))
    item.depends_on = sorted(t for kind, t in outgoing if kind == RelationKind.DEPENDS_ON)
    item.part_of = sorted(t for kind, t in outgoing if kind == RelationKind.PART_OF)
    item.required_by = sorted(s for kind, s in incoming if kind == RelationKind.DEPENDS_ON)
    item.parts = sorted(s for kind, s in incoming if kind == RelationKind.PART_OF)
    history = scoped(request.user, MirChange.objects.filter(item=item)).select_related("actor")
    item.recent_history = list(history[:RECENT_HISTORY])
    return item


@router.get(
    "/items/{identifier}/history",
    response=list[MirChangeOut],
    summary="Every change of one MIR item, newest first",
)
@paginate(BoundedPagination)
def item_history(request, identifier: str):
    item = scoped_get(request.user, MirItem, identifier=identifier)
    return scoped(request.user, MirChange.objects.filter(item=item)).select_related("actor")


@router.get(
    "/items/{identifier}/impact",
    response=ImpactOut,
    summary="What depends on a MIR item: items, services, customers",
)
def item_impact(request, identifier: str):
    # Names the customers (and their agreements) an item serves: the provider's view, not one
    # for a customer's user, who would learn of the provider's other customers.
    require_staff(request, "analyse the impact of MIR items")
    item = scoped_get(request.user, MirItem, identifier=identifier)
    return impact(item).as_json()


@router.api_operation(
    ["POST"],
    "/items",
    response={405: Refusal},
    summary="Refused: the MIR is not written over the API",
)
def refuse_create(request, response: HttpResponse):
    response["Allow"] = "GET"
    return Status(405, {"detail": WRITE_REFUSED})


@router.api_operation(
    ["PUT", "PATCH", "DELETE"],
    "/items/{identifier}",
    response={405: Refusal},
    summary="Refused: the MIR is not written over the API",
)
def refuse_change(request, identifier: str, response: HttpResponse):
    response["Allow"] = "GET"
    return Status(405, {"detail": WRITE_REFUSED})
