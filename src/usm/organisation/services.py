"""The only code that writes the organisation: providers, units, customers, people and their
logins, requesters, teams, profiles, procedures and work instructions.

Every function validates before it writes and runs in one transaction; a problem the caller can
fix is a `ValidationError({field: message})`. Rows only ever point at rows of their own provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction

from usm.conflicts import StaleUpdate
from usm.model import reference_model
from usm.organisation.choices import CustomerKind, TeamKind
from usm.organisation.models import (
    Customer,
    OrganisationUnit,
    Person,
    Procedure,
    Profile,
    Provider,
    Requester,
    StepResponsibility,
    Team,
    WorkInstruction,
)
from usm.row_checks import apply_changes, refuse_nul, unique_per_provider

# The order RACI letters are written in, whatever order a caller gave them.
RACI_ORDER = "RACI"


# -- shared checks -----------------------------------------------------------------------------------
# Fields unique within a provider, checked before saving so that a clash names its field (the
# database constraint would only name the row).
UNIQUE_PER_PROVIDER: dict[type[models.Model], tuple[tuple[str, str], ...]] = {
    OrganisationUnit: (("name", "unit"),),
    Customer: (("code", "customer code"),),
    Team: (("name", "team"),),
    Profile: (("name", "profile"),),
}


def _store(instance: models.Model) -> models.Model:
    refuse_nul(instance)
    for field_name, what in UNIQUE_PER_PROVIDER.get(type(instance), ()):
        unique_per_provider(instance, field_name, what)
    instance.full_clean()
    instance.save()
    return instance


@transaction.atomic
def store(instance: models.Model) -> models.Model:
    """Validate and save a row filled in elsewhere (the admin's forms), with the same checks as
    the functions below. Procedures never go this way: they change only by new versions."""
    if isinstance(instance, Procedure | StepResponsibility):
        raise TypeError("procedures change only through set_procedure (a new version)")
    if isinstance(instance, WorkInstruction):
        instance.links = clean_links(instance.links)
    return _store(instance)


def _check_members(provider: Provider, field_name: str, rows: Iterable[models.Model]) -> list:
    rows = list(rows)
    foreign = [str(row) for row in rows if row.provider_id != provider.pk]
    if foreign:
        raise ValidationError({field_name: f"belong to another provider: {', '.join(foreign)}"})
    return rows


# -- providers ---------------------------------------------------------------------------------------
@transaction.atomic
def create_provider(name: str, slug: str) -> Provider:
    provider = Provider(name=name, slug=slug)
    refuse_nul(provider)
    if Provider.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"there is already a provider '{slug}'"})
    if Provider.objects.filter(name=name).exists():
        raise ValidationError({"name": f"there is already a provider named '{name}'"})
    provider.full_clean()
    provider.save()
    # A new provider classifies with USM's default priority and risk matrices until it sets its own.
    from usm.agreements.services import install_default_matrices

    install_default_matrices(provider)
    return provider


@transaction.atomic
def update_provider(provider: Provider, **changes) -> Provider:
    apply_changes(provider, changes, {"name", "slug"})
    refuse_nul(provider)
    provider.full_clean()
    provider.save()
    return provider


@transaction.atomic
def bootstrap_provider(
    name: str,
    slug: str,
    admin_username: str,
    password: str,
    *,
    admin_name: str = "",
    email: str = "",
) -> Provider:
    """A new provider with its first administrator: a person who logs in and may use the admin.
    Everything else of the provider can then be set up through the admin or the API."""
    provider = create_provider(name, slug)
    create_person(
        provider,
        admin_name or admin_username,
        email=email,
        username=admin_username,
        password=password,
        staff=True,
        superuser=True,
    )
    return provider


# -- units -------------------------------------------------------------------------------------------
UNIT_FIELDS = {"name", "parent"}


@transaction.atomic
def create_unit(
    provider: Provider, name: str, *, parent: OrganisationUnit | None = None
) -> OrganisationUnit:
    unit = OrganisationUnit(provider=provider, name=name, parent=parent)
    return _store(unit)


@transaction.atomic
def update_unit(unit: OrganisationUnit, **changes) -> OrganisationUnit:
    apply_changes(unit, changes, UNIT_FIELDS)
    return _store(unit)


@transaction.atomic
def delete_unit(unit: OrganisationUnit) -> None:
    unit.delete()


# -- customers ---------------------------------------------------------------------------------------
CUSTOMER_FIELDS = {"code", "name", "kind", "active"}


@transaction.atomic
def create_customer(
    provider: Provider,
    code: str,
    name: str,
    *,
    kind: str = CustomerKind.EXTERNAL,
    active: bool = True,
) -> Customer:
    customer = Customer(provider=provider, code=code, name=name, kind=kind, active=active)
    return _store(customer)


@transaction.atomic
def update_customer(customer: Customer, **changes) -> Customer:
    apply_changes(customer, changes, CUSTOMER_FIELDS)
    return _store(customer)


@transaction.atomic
def delete_customer(customer: Customer) -> None:
    customer.delete()


# -- people and their logins -------------------------------------------------------------------------
PERSON_FIELDS = {"name", "email", "phone", "unit", "active"}


@transaction.atomic
def create_person(
    provider: Provider,
    name: str,
    *,
    email: str = "",
    phone: str = "",
    unit: OrganisationUnit | None = None,
    active: bool = True,
    username: str | None = None,
    password: str | None = None,
    staff: bool = False,
    superuser: bool = False,
) -> Person:
    """A person of the provider: its own staff or a customer's user. With a `username` the person
    can log in; the password is hashed by the configured hasher (argon2), never stored plain."""
    if username is None and password is not None:
        raise ValidationError({"username": "is needed to give the person a password"})
    person = _store(
        Person(provider=provider, name=name, email=email, phone=phone, unit=unit, active=active)
    )
    if username is not None:
        set_login(person, username, password, staff=staff, superuser=superuser)
    return person


@transaction.atomic
def update_person(person: Person, **changes) -> Person:
    apply_changes(person, changes, PERSON_FIELDS)
    _store(person)
    if person.user_id is not None and "active" in changes:
        # A person who leaves loses the login with it, the admin included.
        user = person.user
        user.is_active = person.active
        user.save(update_fields=["is_active"])
    return person


@transaction.atomic
def set_login(
    person: Person,
    username: str,
    password: str | None,
    *,
    staff: bool = False,
    superuser: bool = False,
) -> Person:
    """Give `person` a login, or rename it and change its password. Without a password the login
    exists but cannot be used until one is set."""
    user_model = get_user_model()
    user = person.user or user_model(is_active=person.active)
    user.username = username
    user.email = person.email
    user.is_staff = staff or superuser or user.is_staff
    user.is_superuser = superuser or user.is_superuser
    if "\x00" in username:
        raise ValidationError({"username": "must not contain NUL characters"})
    if user_model.objects.filter(username=username).exclude(pk=user.pk).exists():
        raise ValidationError({"username": f"'{username}' is taken"})
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        raise ValidationError(
            {"username": exc.message_dict.get("username", exc.messages)}
        ) from None
    _set_password(user, password)
    user.save()
    if person.user_id != user.pk:
        person.user = user
        person.save(update_fields=["user"])
    return person


def _set_password(user, password: str | None) -> None:
    if password is None:
        if not user.has_usable_password():
            user.set_unusable_password()
        return
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)


@transaction.atomic
def set_password(person: Person, password: str) -> Person:
    if person.user_id is None:
        raise ValidationError({"username": f"{person} has no login; give one first"})
    _set_password(person.user, password)
    person.user.save(update_fields=["password"])
    return person


@transaction.atomic
def delete_person(person: Person) -> None:
    user = person.user
    person.delete()
    if user is not None:
        user.delete()


# -- requesters --------------------------------------------------------------------------------------
@transaction.atomic
def authorise_requester(
    customer: Customer,
    person: Person,
    services: Iterable[models.Model] = (),
    *,
    active: bool = True,
) -> Requester:
    """Let `person` submit calls for `customer`, about the `services` listed."""
    if Requester.objects.filter(customer=customer, person=person).exists():
        raise ValidationError({"person": f"{person} is already a requester for {customer}"})
    requester = Requester(
        provider_id=customer.provider_id, customer=customer, person=person, active=active
    )
    if person.provider_id != customer.provider_id:
        raise ValidationError({"person": "belongs to another provider"})
    chosen = _check_members(customer.provider, "services", services)
    _store(requester)
    requester.services.set(chosen)
    return requester


@transaction.atomic
def update_requester(
    requester: Requester,
    *,
    services: Iterable[models.Model] | None = None,
    active: bool | None = None,
) -> Requester:
    if active is not None:
        requester.active = active
        _store(requester)
    if services is not None:
        requester.services.set(_check_members(requester.provider, "services", services))
    return requester


@transaction.atomic
def delete_requester(requester: Requester) -> None:
    requester.delete()


# -- teams -------------------------------------------------------------------------------------------
TEAM_FIELDS = {"name", "kind", "unit", "email", "active"}


@transaction.atomic
def create_team(
    provider: Provider,
    name: str,
    *,
    kind: str = TeamKind.INTERNAL,
    unit: OrganisationUnit | None = None,
    email: str = "",
    members: Iterable[Person] = (),
    active: bool = True,
) -> Team:
    team = _store(
        Team(provider=provider, name=name, kind=kind, unit=unit, email=email, active=active)
    )
    team.members.set(_check_members(provider, "members", members))
    return team


@transaction.atomic
def update_team(team: Team, *, members: Iterable[Person] | None = None, **changes) -> Team:
    apply_changes(team, changes, TEAM_FIELDS)
    _store(team)
    if members is not None:
        set_team_members(team, members)
    return team


@transaction.atomic
def set_team_members(team: Team, people: Iterable[Person]) -> Team:
    team.members.set(_check_members(team.provider, "members", people))
    return team


@transaction.atomic
def delete_team(team: Team) -> None:
    team.delete()


# -- profiles ----------------------------------------------------------------------------------------
PROFILE_FIELDS = {"name", "description", "unit", "team"}


@transaction.atomic
def create_profile(
    provider: Provider,
    name: str,
    *,
    description: str = "",
    unit: OrganisationUnit | None = None,
    team: Team | None = None,
    holders: Iterable[Person] = (),
) -> Profile:
    profile = _store(
        Profile(provider=provider, name=name, description=description, unit=unit, team=team)
    )
    profile.holders.set(_check_members(provider, "holders", holders))
    return profile


@transaction.atomic
def update_profile(
    profile: Profile, *, holders: Iterable[Person] | None = None, **changes
) -> Profile:
    apply_changes(profile, changes, PROFILE_FIELDS)
    _store(profile)
    if holders is not None:
        assign_holders(profile, holders)
    return profile


@transaction.atomic
def assign_holders(profile: Profile, people: Iterable[Person]) -> Profile:
    """Reorganising: who holds `profile` from now on. Procedures name profiles, never people, so
    no procedure and nothing in the process model changes."""
    profile.holders.set(_check_members(profile.provider, "holders", people))
    return profile


@transaction.atomic
def delete_profile(profile: Profile) -> None:
    # A profile named by any procedure version is protected: the history must stay readable.
    profile.delete()


# -- procedures --------------------------------------------------------------------------------------
def _letters(value: Any) -> tuple[str, ...] | str:
    """RACI letters from "RA", ["R", "A"] or "R, A"; a message when they are not RACI letters."""
    if isinstance(value, str):
        raw = value
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        raw = "".join(value)
    else:
        return 'must be RACI letters such as "RA" or ["R", "A"]'
    letters = [c for c in raw.upper() if c not in " ,;"]
    unknown = sorted(set(letters) - set(RACI_ORDER))
    if unknown:
        return f"has the unknown letter(s) {', '.join(unknown)} (use R, A, C or I)"
    if not letters:
        return "has no letter (use R, A, C or I)"
    return tuple(c for c in RACI_ORDER if c in letters)


class _ProfileLookup:
    """Finds the provider's profiles by instance, id or name (names ignore case)."""

    def __init__(self, provider: Provider):
        self.provider = provider
        self.by_id = {p.pk: p for p in Profile.objects.filter(provider=provider)}
        self.by_name = {p.name.casefold(): p for p in self.by_id.values()}

    def find(self, key: Any) -> Profile | None:
        if isinstance(key, Profile):
            return self.by_id.get(key.pk)
        if isinstance(key, int) and not isinstance(key, bool):
            return self.by_id.get(key)
        if isinstance(key, str):
            found = self.by_name.get(key.strip().casefold())
            if found is None and key.strip().isdigit():
                found = self.by_id.get(int(key))
            return found
        return None


def resolve_raci(
    provider: Provider, workflow_number: Any, raci: Any
) -> dict[str, dict[Profile, tuple[str, ...]]]:
    """Check a RACI against the workflow's path and the provider's profiles: each step of the
    path needs exactly one Accountable profile, and only the workflow's steps, the provider's
    profiles and the letters R, A, C and I may appear. All problems are reported at once, each
    naming its step."""
    model = reference_model()
    try:
        if isinstance(workflow_number, bool) or not isinstance(workflow_number, int):
            raise KeyError(workflow_number)
        workflow = model.workflow(workflow_number)
    except KeyError:
        numbers = ", ".join(str(w.number) for w in model.workflows)
        raise ValidationError(
            {"workflow": f"there is no workflow {workflow_number}; the model has {numbers}"}
        ) from None
    path = [p.step.id for p in model.path(workflow)]
    if not isinstance(raci, Mapping):
        raise ValidationError(
            {"raci": 'must map step ids to {profile: letters}, e.g. {"CHM-1": {"desk": "A"}}'}
        )
    known_steps = {s.id for s in model.steps}
    profiles = _ProfileLookup(provider)
    problems: list[str] = []
    resolved: dict[str, dict[Profile, tuple[str, ...]]] = {}
    for step_id, assignments in raci.items():
        if step_id not in path:
            where = "of the process model" if step_id not in known_steps else f"of {workflow.label}"
            problems.append(f"'{step_id}' is not a step {where}")
            continue
        if not isinstance(assignments, Mapping):
            problems.append(f"{step_id}: must map profiles to letters")
            continue
        for key, value in assignments.items():
            profile = profiles.find(key)
            if profile is None:
                problems.append(f"{step_id}: names '{key}', which is not a profile of {provider}")
                continue
            letters = _letters(value)
            if isinstance(letters, str):
                problems.append(f"{step_id}: '{profile}' {letters}")
                continue
            given = resolved.setdefault(step_id, {})
            merged = set(given.get(profile, ())) | set(letters)
            given[profile] = tuple(c for c in RACI_ORDER if c in merged)
    for step_id in path:
        accountable = sorted(
            p.name for p, letters in resolved.get(step_id, {}).items() if "A" in letters
        )
        if len(accountable) == 0:
            problems.append(f"{step_id} has no Accountable profile; it needs exactly one")
        elif len(accountable) > 1:
            problems.append(
                f"{step_id} has {len(accountable)} Accountable profiles "
                f"({', '.join(accountable)}); it needs exactly one"
            )
    if problems:
        raise ValidationError({"raci": problems})
    return resolved


@transaction.atomic
def set_procedure(
    provider: Provider,
    workflow_number: int,
    name: str,
    raci: Mapping[str, Mapping[Any, Any]],
    *,
    based_on: int | None = None,
) -> Procedure:
    """Put a new version of the provider's procedure for a workflow in force. `raci` maps each
    step id of the workflow's path to {profile (instance, id or name): letters}. The version in
    force before is kept, inactive, as history. `based_on` is the version the caller edited; when
    another version has been put in force since, the update is stale and refused."""
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": "a procedure needs a name"})
    resolved = resolve_raci(provider, workflow_number, raci)
    # Locking the workflow's history makes two concurrent editors queue for the version number.
    history = list(
        Procedure.objects.select_for_update()
        .filter(provider=provider, workflow=workflow_number)
        .order_by("version")
    )
    current = next((p for p in history if p.active), None)
    if based_on is not None and (current is None or current.version != based_on):
        raise StaleUpdate(
            f"the procedure for workflow {workflow_number}",
            current.version if current else 0,
            {"id": current.pk, "name": current.name} if current else {},
        )
    if current is not None:
        Procedure.objects.filter(pk=current.pk).update(active=False)
    procedure = Procedure(
        provider=provider,
        workflow=workflow_number,
        name=name,
        version=(history[-1].version + 1) if history else 1,
        active=True,
    )
    refuse_nul(procedure)
    procedure.full_clean()
    procedure.save()
    StepResponsibility.objects.bulk_create(
        StepResponsibility(procedure=procedure, step=step_id, profile=profile, role=letter)
        for step_id, assignments in resolved.items()
        for profile, letters in assignments.items()
        for letter in letters
    )
    return procedure


def procedure_raci(procedure: Procedure) -> dict[str, dict[Profile, tuple[str, ...]]]:
    """The RACI a procedure version holds, in the form `set_procedure` takes."""
    raci: dict[str, dict[Profile, tuple[str, ...]]] = {}
    for row in procedure.responsibilities.select_related("profile"):
        given = raci.setdefault(row.step, {})
        merged = set(given.get(row.profile, ())) | {row.role}
        given[row.profile] = tuple(c for c in RACI_ORDER if c in merged)
    return raci


@transaction.atomic
def restore_procedure(procedure: Procedure) -> Procedure:
    """Put an earlier version back in force, as a new version: history is never rewritten."""
    return set_procedure(
        procedure.provider, procedure.workflow, procedure.name, procedure_raci(procedure)
    )


@transaction.atomic
def retire_procedure(procedure: Procedure) -> Procedure:
    """Take a procedure out of force without a successor; its history stays."""
    Procedure.objects.filter(pk=procedure.pk).update(active=False)
    procedure.refresh_from_db()
    return procedure


# -- work instructions -------------------------------------------------------------------------------
def clean_links(links: Any) -> list[dict[str, str]]:
    """Links as [{title, url}]; a bare URL is its own title. Only web addresses are kept, so a
    page showing the instruction never renders a javascript: link."""
    if not isinstance(links, list | tuple):
        raise ValidationError({"links": "must be a list of URLs or {title, url} objects"})
    check_url = URLValidator(schemes=["http", "https"])
    cleaned = []
    for index, link in enumerate(links, start=1):
        if isinstance(link, str):
            link = {"title": link, "url": link}
        if not isinstance(link, Mapping) or not isinstance(link.get("url"), str):
            raise ValidationError({"links": f"link {index} needs a url"})
        title = link.get("title") or link["url"]
        if not isinstance(title, str) or "\x00" in title:
            raise ValidationError({"links": f"link {index} has an unusable title"})
        try:
            check_url(link["url"])
        except ValidationError:
            raise ValidationError(
                {"links": f"link {index}: '{link['url']}' is not an http(s) address"}
            ) from None
        cleaned.append({"title": title.strip(), "url": link["url"]})
    return cleaned


@transaction.atomic
def set_work_instruction(
    service: models.Model,
    step: str,
    title: str,
    *,
    text: str = "",
    links: Iterable[Any] = (),
) -> WorkInstruction:
    """The HOW of `step` for `service`, created or replaced (one per service and step)."""
    draft = WorkInstruction(
        provider_id=service.provider_id,
        service=service,
        step=step,
        title=title,
        text=text,
        links=clean_links(list(links)),
    )
    refuse_nul(draft)
    instruction = WorkInstruction.objects.filter(service=service, step=step).first() or draft
    instruction.title, instruction.text, instruction.links = draft.title, draft.text, draft.links
    return _store(instruction)


@transaction.atomic
def update_work_instruction(instruction: WorkInstruction, **changes) -> WorkInstruction:
    if "links" in changes:
        changes = {**changes, "links": clean_links(changes["links"])}
    apply_changes(instruction, changes, {"title", "text", "links", "step"})
    refuse_nul(instruction)
    clash = WorkInstruction.objects.filter(
        service_id=instruction.service_id, step=instruction.step
    ).exclude(pk=instruction.pk)
    if clash.exists():
        raise ValidationError(
            {"step": f"{instruction.service} already has an instruction for {instruction.step}"}
        )
    return _store(instruction)


@transaction.atomic
def delete_work_instruction(instruction: WorkInstruction) -> None:
    instruction.delete()
