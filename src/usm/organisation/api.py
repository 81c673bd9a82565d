"""The organisation over REST, /api/v1/organisation/: customers, requesters, units, teams,
profiles, people, procedures (with their responsibilities) and work instructions.

Reads and lists go through the scoping rule, so another provider's rows are 404. Writes need the
Django model permission (add/change/delete) as well: every person of a provider can log in,
requesters included, and a customer's user must not rewrite the provider's procedures. Rows are
created for the caller's provider; all writing is done by `services`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from ninja import Body, Field, Query, Router, Schema, Status

from usm.agreements.models import Service
from usm.api.crud import (
    PageQuery,
    RowId,
    allow,
    caller_provider,
    get_row,
    own,
    own_all,
    page,
    page_of,
)
from usm.organisation import services
from usm.organisation.choices import CustomerKind, TeamKind
from usm.organisation.models import (
    Customer,
    OrganisationUnit,
    Person,
    Procedure,
    Profile,
    Requester,
    StepResponsibility,
    Team,
    WorkInstruction,
)
from usm.organisation.wif import procedure_from_wif, procedure_to_wif

router = Router(tags=["organisation"])


# -- shared ------------------------------------------------------------------------------------------
def _changes(payload: Schema, references: dict[str, Any]) -> dict:
    """The fields a PATCH sent, with `*_id` references swapped for the rows they name."""
    sent = payload.model_dump(exclude_unset=True)
    return {key.removesuffix("_id"): references.get(key, value) for key, value in sent.items()}


# -- units -------------------------------------------------------------------------------------------
class UnitOut(Schema):
    id: int
    name: str
    parent_id: int | None


class UnitIn(Schema):
    name: str
    parent_id: RowId | None = None


class UnitPatch(Schema):
    name: str | None = None
    parent_id: RowId | None = None


class UnitQuery(PageQuery):
    parent: RowId | None = None


UnitPage = page_of("UnitPage", UnitOut)


@router.get("/units", response=UnitPage, summary="Organisation units")
def list_units(request, query: Query[UnitQuery]):
    rows = OrganisationUnit.objects.all()
    if query.parent is not None:
        rows = rows.filter(parent_id=query.parent)
    return page(request, rows, query, ("name",))


@router.post("/units", response={201: UnitOut})
def create_unit(request, payload: UnitIn):
    allow(request, "add", OrganisationUnit)
    parent = own(request, OrganisationUnit, payload.parent_id, "parent_id")
    return Status(201, services.create_unit(caller_provider(request), payload.name, parent=parent))


@router.get("/units/{int:unit_id}", response=UnitOut)
def get_unit(request, unit_id: int):
    return get_row(request, OrganisationUnit, unit_id)


@router.patch("/units/{int:unit_id}", response=UnitOut)
def update_unit(request, unit_id: int, payload: UnitPatch):
    allow(request, "change", OrganisationUnit)
    unit = get_row(request, OrganisationUnit, unit_id)
    parent = own(request, OrganisationUnit, payload.parent_id, "parent_id")
    return services.update_unit(unit, **_changes(payload, {"parent_id": parent}))


@router.delete("/units/{int:unit_id}", response={204: None})
def delete_unit(request, unit_id: int):
    allow(request, "delete", OrganisationUnit)
    services.delete_unit(get_row(request, OrganisationUnit, unit_id))
    return Status(204, None)


# -- customers ---------------------------------------------------------------------------------------
class CustomerOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    active: bool


class CustomerIn(Schema):
    code: str
    name: str
    kind: CustomerKind = CustomerKind.EXTERNAL
    active: bool = True


class CustomerPatch(Schema):
    code: str | None = None
    name: str | None = None
    kind: CustomerKind | None = None
    active: bool | None = None


class CustomerQuery(PageQuery):
    kind: CustomerKind | None = None
    active: bool | None = None


CustomerPage = page_of("CustomerPage", CustomerOut)


@router.get("/customers", response=CustomerPage, summary="Customers, internal and external")
def list_customers(request, query: Query[CustomerQuery]):
    rows = Customer.objects.all()
    if query.kind is not None:
        rows = rows.filter(kind=query.kind)
    if query.active is not None:
        rows = rows.filter(active=query.active)
    return page(request, rows, query, ("name", "code"))


@router.post("/customers", response={201: CustomerOut})
def create_customer(request, payload: CustomerIn):
    allow(request, "add", Customer)
    return Status(201, services.create_customer(caller_provider(request), **payload.model_dump()))


@router.get("/customers/{int:customer_id}", response=CustomerOut)
def get_customer(request, customer_id: int):
    return get_row(request, Customer, customer_id)


@router.patch("/customers/{int:customer_id}", response=CustomerOut)
def update_customer(request, customer_id: int, payload: CustomerPatch):
    allow(request, "change", Customer)
    customer = get_row(request, Customer, customer_id)
    return services.update_customer(customer, **_changes(payload, {}))


@router.delete("/customers/{int:customer_id}", response={204: None})
def delete_customer(request, customer_id: int):
    allow(request, "delete", Customer)
    services.delete_customer(get_row(request, Customer, customer_id))
    return Status(204, None)


# -- people ------------------------------------------------------------------------------------------
class PersonOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    unit_id: int | None
    active: bool
    username: str | None

    @staticmethod
    def resolve_username(person: Person) -> str | None:
        return person.user.username if person.user_id else None


class PersonIn(Schema):
    name: str
    email: str = ""
    phone: str = ""
    unit_id: RowId | None = None
    active: bool = True
    username: str | None = Field(None, description="Give the person a login")
    password: str | None = Field(None, description="The login's password (stored hashed)")


class PersonPatch(Schema):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    unit_id: RowId | None = None
    active: bool | None = None


class PersonQuery(PageQuery):
    unit: RowId | None = None
    team: RowId | None = None
    profile: RowId | None = None
    active: bool | None = None


PersonPage = page_of("PersonPage", PersonOut)
PEOPLE = Person.objects.select_related("user")


@router.get("/people", response=PersonPage, summary="People: staff and customers' users")
def list_people(request, query: Query[PersonQuery]):
    rows = PEOPLE.all()
    for name, lookup in (("unit", "unit_id"), ("team", "teams"), ("profile", "profiles")):
        if getattr(query, name) is not None:
            rows = rows.filter(**{lookup: getattr(query, name)})
    if query.active is not None:
        rows = rows.filter(active=query.active)
    return page(request, rows.distinct(), query, ("name", "email"))


@router.post("/people", response={201: PersonOut})
def create_person(request, payload: PersonIn):
    allow(request, "add", Person)
    fields = payload.model_dump(exclude={"unit_id"})
    unit = own(request, OrganisationUnit, payload.unit_id, "unit_id")
    # A login made here is never staff: the admin is given out in the admin only.
    return Status(201, services.create_person(caller_provider(request), unit=unit, **fields))


@router.get("/people/{int:person_id}", response=PersonOut)
def get_person(request, person_id: int):
    return get_row(request, PEOPLE, person_id)


@router.patch("/people/{int:person_id}", response=PersonOut)
def update_person(request, person_id: int, payload: PersonPatch):
    allow(request, "change", Person)
    person = get_row(request, PEOPLE, person_id)
    unit = own(request, OrganisationUnit, payload.unit_id, "unit_id")
    return services.update_person(person, **_changes(payload, {"unit_id": unit}))


@router.delete("/people/{int:person_id}", response={204: None})
def delete_person(request, person_id: int):
    allow(request, "delete", Person)
    services.delete_person(get_row(request, PEOPLE, person_id))
    return Status(204, None)


# -- requesters --------------------------------------------------------------------------------------
class RequesterOut(Schema):
    id: int
    person_id: int
    customer_id: int
    services: list[int]
    active: bool

    @staticmethod
    def resolve_services(requester: Requester) -> list[int]:
        return [service.pk for service in requester.services.all()]


class RequesterIn(Schema):
    person_id: RowId
    customer_id: RowId
    services: list[RowId] = []
    active: bool = True


class RequesterPatch(Schema):
    services: list[RowId] | None = None
    active: bool | None = None


class RequesterQuery(PageQuery):
    customer: RowId | None = None
    person: RowId | None = None
    service: RowId | None = None
    active: bool | None = None


RequesterPage = page_of("RequesterPage", RequesterOut)
REQUESTERS = Requester.objects.select_related("person", "customer").prefetch_related("services")


@router.get("/requesters", response=RequesterPage, summary="People a customer lets submit calls")
def list_requesters(request, query: Query[RequesterQuery]):
    rows = REQUESTERS.all()
    for name, lookup in (
        ("customer", "customer_id"),
        ("person", "person_id"),
        ("service", "services"),
    ):
        if getattr(query, name) is not None:
            rows = rows.filter(**{lookup: getattr(query, name)})
    if query.active is not None:
        rows = rows.filter(active=query.active)
    return page(request, rows.distinct(), query, ("person__name", "customer__name"))


@router.post("/requesters", response={201: RequesterOut})
def create_requester(request, payload: RequesterIn):
    allow(request, "add", Requester)
    return Status(
        201,
        services.authorise_requester(
            own(request, Customer, payload.customer_id, "customer_id"),
            own(request, Person, payload.person_id, "person_id"),
            own_all(request, Service, payload.services, "services"),
            active=payload.active,
        ),
    )


@router.get("/requesters/{int:requester_id}", response=RequesterOut)
def get_requester(request, requester_id: int):
    return get_row(request, REQUESTERS, requester_id)


@router.patch("/requesters/{int:requester_id}", response=RequesterOut)
def update_requester(request, requester_id: int, payload: RequesterPatch):
    allow(request, "change", Requester)
    requester = get_row(request, REQUESTERS, requester_id)
    chosen = payload.services
    return services.update_requester(
        requester,
        services=None if chosen is None else own_all(request, Service, chosen, "services"),
        active=payload.active,
    )


@router.delete("/requesters/{int:requester_id}", response={204: None})
def delete_requester(request, requester_id: int):
    allow(request, "delete", Requester)
    services.delete_requester(get_row(request, Requester, requester_id))
    return Status(204, None)


# -- teams -------------------------------------------------------------------------------------------
class TeamOut(Schema):
    id: int
    name: str
    kind: str
    unit_id: int | None
    email: str
    active: bool
    members: list[int]

    @staticmethod
    def resolve_members(team: Team) -> list[int]:
        return [person.pk for person in team.members.all()]


class TeamIn(Schema):
    name: str
    kind: TeamKind = TeamKind.INTERNAL
    unit_id: RowId | None = None
    email: str = ""
    active: bool = True
    members: list[RowId] = []


class TeamPatch(Schema):
    name: str | None = None
    kind: TeamKind | None = None
    unit_id: RowId | None = None
    email: str | None = None
    active: bool | None = None
    members: list[RowId] | None = None


class TeamQuery(PageQuery):
    kind: TeamKind | None = None
    active: bool | None = None
    member: RowId | None = None


TeamPage = page_of("TeamPage", TeamOut)
TEAMS = Team.objects.prefetch_related("members")


@router.get("/teams", response=TeamPage, summary="Internal solution teams and suppliers")
def list_teams(request, query: Query[TeamQuery]):
    rows = TEAMS.all()
    if query.kind is not None:
        rows = rows.filter(kind=query.kind)
    if query.active is not None:
        rows = rows.filter(active=query.active)
    if query.member is not None:
        rows = rows.filter(members=query.member)
    return page(request, rows.distinct(), query, ("name", "email"))


@router.post("/teams", response={201: TeamOut})
def create_team(request, payload: TeamIn):
    allow(request, "add", Team)
    fields = payload.model_dump(exclude={"unit_id", "members"})
    return Status(
        201,
        services.create_team(
            caller_provider(request),
            unit=own(request, OrganisationUnit, payload.unit_id, "unit_id"),
            members=own_all(request, Person, payload.members, "members"),
            **fields,
        ),
    )


@router.get("/teams/{int:team_id}", response=TeamOut)
def get_team(request, team_id: int):
    return get_row(request, TEAMS, team_id)


@router.patch("/teams/{int:team_id}", response=TeamOut)
def update_team(request, team_id: int, payload: TeamPatch):
    allow(request, "change", Team)
    team = get_row(request, TEAMS, team_id)
    references = {"unit_id": own(request, OrganisationUnit, payload.unit_id, "unit_id")}
    if payload.members is not None:
        references["members"] = own_all(request, Person, payload.members, "members")
    services.update_team(team, **_changes(payload, references))
    return get_row(request, TEAMS, team_id)


@router.delete("/teams/{int:team_id}", response={204: None})
def delete_team(request, team_id: int):
    allow(request, "delete", Team)
    services.delete_team(get_row(request, Team, team_id))
    return Status(204, None)


# -- profiles ----------------------------------------------------------------------------------------
class ProfileOut(Schema):
    id: int
    name: str
    description: str
    unit_id: int | None
    team_id: int | None
    holders: list[int]

    @staticmethod
    def resolve_holders(profile: Profile) -> list[int]:
        return [person.pk for person in profile.holders.all()]


class ProfileIn(Schema):
    name: str
    description: str = ""
    unit_id: RowId | None = None
    team_id: RowId | None = None
    holders: list[RowId] = []


class ProfilePatch(Schema):
    name: str | None = None
    description: str | None = None
    unit_id: RowId | None = None
    team_id: RowId | None = None
    holders: list[RowId] | None = Field(None, description="Reorganising: the new holders")


class ProfileQuery(PageQuery):
    unit: RowId | None = None
    team: RowId | None = None
    holder: RowId | None = None


ProfilePage = page_of("ProfilePage", ProfileOut)
PROFILES = Profile.objects.prefetch_related("holders")


@router.get("/profiles", response=ProfilePage, summary="Profiles: roles or positions people hold")
def list_profiles(request, query: Query[ProfileQuery]):
    rows = PROFILES.all()
    for name, lookup in (("unit", "unit_id"), ("team", "team_id"), ("holder", "holders")):
        if getattr(query, name) is not None:
            rows = rows.filter(**{lookup: getattr(query, name)})
    return page(request, rows.distinct(), query, ("name", "description"))


@router.post("/profiles", response={201: ProfileOut})
def create_profile(request, payload: ProfileIn):
    allow(request, "add", Profile)
    return Status(
        201,
        services.create_profile(
            caller_provider(request),
            payload.name,
            description=payload.description,
            unit=own(request, OrganisationUnit, payload.unit_id, "unit_id"),
            team=own(request, Team, payload.team_id, "team_id"),
            holders=own_all(request, Person, payload.holders, "holders"),
        ),
    )


@router.get("/profiles/{int:profile_id}", response=ProfileOut)
def get_profile(request, profile_id: int):
    return get_row(request, PROFILES, profile_id)


@router.patch("/profiles/{int:profile_id}", response=ProfileOut)
def update_profile(request, profile_id: int, payload: ProfilePatch):
    allow(request, "change", Profile)
    profile = get_row(request, PROFILES, profile_id)
    references: dict[str, Any] = {
        "unit_id": own(request, OrganisationUnit, payload.unit_id, "unit_id"),
        "team_id": own(request, Team, payload.team_id, "team_id"),
    }
    if payload.holders is not None:
        references["holders"] = own_all(request, Person, payload.holders, "holders")
    services.update_profile(profile, **_changes(payload, references))
    return get_row(request, PROFILES, profile_id)


@router.delete("/profiles/{int:profile_id}", response={204: None})
def delete_profile(request, profile_id: int):
    allow(request, "delete", Profile)
    services.delete_profile(get_row(request, Profile, profile_id))
    return Status(204, None)


# -- procedures --------------------------------------------------------------------------------------
class ResponsibilityOut(Schema):
    step: str
    profile_id: int
    profile: str
    role: str

    @staticmethod
    def resolve_profile(row: StepResponsibility) -> str:
        return row.profile.name


class ProcedureOut(Schema):
    id: int
    workflow: int
    name: str
    version: int
    active: bool
    updated_at: datetime
    responsibilities: list[ResponsibilityOut]

    @staticmethod
    def resolve_responsibilities(procedure: Procedure) -> list[StepResponsibility]:
        return list(procedure.responsibilities.all())


class ProcedureIn(Schema):
    workflow: int = Field(..., ge=1, le=32767, description="Workflow template number (1-8)")
    name: str
    raci: dict[str, dict[str, str | list[str]]] = Field(
        ...,
        description="Per step id of the workflow's path, {profile id or name: letters}; "
        'exactly one "A" per step',
        examples=[{"OPS-1": {"Desk coordinator": "A", "Operator": "R"}}],
    )
    based_on: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="The version this edit started from; a newer one in force gives 409",
    )


class ProcedureQuery(PageQuery):
    workflow: int | None = Field(None, ge=1, le=32767)
    active: bool | None = None


ProcedurePage = page_of("ProcedurePage", ProcedureOut)
PROCEDURES = Procedure.objects.prefetch_related(
    Prefetch("responsibilities", StepResponsibility.objects.select_related("profile"))
)


@router.get("/procedures", response=ProcedurePage, summary="Procedures, every version")
def list_procedures(request, query: Query[ProcedureQuery]):
    rows = PROCEDURES.order_by("workflow", "-version")
    if query.workflow is not None:
        rows = rows.filter(workflow=query.workflow)
    if query.active is not None:
        rows = rows.filter(active=query.active)
    return page(request, rows, query, ("name",))


@router.post(
    "/procedures",
    response={201: ProcedureOut},
    summary="Put a new procedure version in force",
    description="The version in force before stays as history. A RACI with zero or two "
    "Accountable profiles for a step is refused with 422 naming the step.",
)
def create_procedure(request, payload: ProcedureIn):
    allow(request, "add", Procedure)
    procedure = services.set_procedure(
        caller_provider(request),
        payload.workflow,
        payload.name,
        payload.raci,
        based_on=payload.based_on,
    )
    return Status(201, get_row(request, PROCEDURES, procedure.pk))


@router.get("/procedures/{int:procedure_id}", response=ProcedureOut)
def get_procedure(request, procedure_id: int):
    return get_row(request, PROCEDURES, procedure_id)


@router.post("/procedures/{int:procedure_id}/retire", response=ProcedureOut)
def retire_procedure(request, procedure_id: int):
    """Take the procedure out of force, with no successor."""
    allow(request, "change", Procedure)
    services.retire_procedure(get_row(request, Procedure, procedure_id))
    return get_row(request, PROCEDURES, procedure_id)


@router.post("/procedures/{int:procedure_id}/restore", response={201: ProcedureOut})
def restore_procedure(request, procedure_id: int):
    """Put an earlier version back in force, as a new version."""
    allow(request, "add", Procedure)
    restored = services.restore_procedure(get_row(request, Procedure, procedure_id))
    return Status(201, get_row(request, PROCEDURES, restored.pk))


@router.get(
    "/procedures/{int:procedure_id}/wif",
    summary="The procedure as a USM-WIF workflow document",
)
def export_procedure(request, procedure_id: int):
    return procedure_to_wif(get_row(request, PROCEDURES, procedure_id))


@router.post(
    "/procedures/wif",
    response={201: ProcedureOut},
    summary="Put a USM-WIF workflow document's responsibilities in force",
)
def import_procedure(request, document: Body[dict[str, Any]], create_profiles: bool = False):
    allow(request, "add", Procedure)
    if create_profiles:
        allow(request, "add", Profile)
    procedure = procedure_from_wif(
        caller_provider(request), document, create_profiles=create_profiles
    )
    return Status(201, get_row(request, PROCEDURES, procedure.pk))


# -- work instructions -------------------------------------------------------------------------------
class LinkOut(Schema):
    title: str
    url: str


class WorkInstructionOut(Schema):
    id: int
    service_id: int
    step: str
    title: str
    text: str
    links: list[LinkOut]
    updated_at: datetime


class LinkIn(Schema):
    title: str = ""
    url: str


class WorkInstructionIn(Schema):
    service_id: RowId
    step: str = Field(..., description="Step id of the model, e.g. OPS-4")
    title: str
    text: str = ""
    links: list[LinkIn] = []


class WorkInstructionPatch(Schema):
    step: str | None = None
    title: str | None = None
    text: str | None = None
    links: list[LinkIn] | None = None


class WorkInstructionQuery(PageQuery):
    service: RowId | None = None
    step: str | None = Field(None, max_length=20)


WorkInstructionPage = page_of("WorkInstructionPage", WorkInstructionOut)


@router.get(
    "/work-instructions", response=WorkInstructionPage, summary="The HOW per service and step"
)
def list_work_instructions(request, query: Query[WorkInstructionQuery]):
    rows = WorkInstruction.objects.all()
    if query.service is not None:
        rows = rows.filter(service_id=query.service)
    if query.step:
        rows = rows.filter(step=query.step)
    return page(request, rows, query, ("title", "text"))


@router.post(
    "/work-instructions",
    response={201: WorkInstructionOut},
    description="Creates the instruction, or replaces the one the service has for that step.",
)
def create_work_instruction(request, payload: WorkInstructionIn):
    allow(request, "add", WorkInstruction)
    return Status(
        201,
        services.set_work_instruction(
            own(request, Service, payload.service_id, "service_id"),
            payload.step,
            payload.title,
            text=payload.text,
            links=[link.model_dump() for link in payload.links],
        ),
    )


@router.get("/work-instructions/{int:instruction_id}", response=WorkInstructionOut)
def get_work_instruction(request, instruction_id: int):
    return get_row(request, WorkInstruction, instruction_id)


@router.patch("/work-instructions/{int:instruction_id}", response=WorkInstructionOut)
def update_work_instruction(request, instruction_id: int, payload: WorkInstructionPatch):
    allow(request, "change", WorkInstruction)
    instruction = get_row(request, WorkInstruction, instruction_id)
    return services.update_work_instruction(instruction, **_changes(payload, {}))


@router.delete("/work-instructions/{int:instruction_id}", response={204: None})
def delete_work_instruction(request, instruction_id: int):
    allow(request, "delete", WorkInstruction)
    services.delete_work_instruction(get_row(request, WorkInstruction, instruction_id))
    return Status(204, None)
