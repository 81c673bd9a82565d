"""Who does a step: the questions the call engine asks of the organisation when it assigns work.

Every answer comes from the procedure in force for the workflow; a provider without one gets
empty answers, never someone else's.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db import connection
from django.db.models import QuerySet

from usm.organisation.choices import Responsibility
from usm.organisation.models import Person, Procedure, Profile, Provider, StepResponsibility


def active_procedure(provider: Provider, workflow_number: int) -> Procedure | None:
    return Procedure.objects.filter(
        provider=provider, workflow=workflow_number, active=True
    ).first()


# (workflow, step) -> role -> (profile id, team id)
StepRoles = dict[tuple[int, str], dict[str, tuple[int, int | None]]]


class StepHolders(NamedTuple):
    workflow: int
    responsible_id: int
    accountable_id: int | None
    team_id: int | None  # the Responsible profile's team, which gets the work


def step_roles(provider_id: int) -> StepRoles:
    """Who holds each step of each workflow in the provider's procedures in force: for every
    (workflow, step), the first Responsible and the first Accountable profile by name, each with
    the profile's team. One hand-written statement over the three tables: the engine asks it
    whenever the provider's procedures have changed (see usm.agreements.configuration)."""
    responsibility = StepResponsibility._meta.db_table
    procedure = Procedure._meta.db_table
    profile = Profile._meta.db_table
    sql = (
        f"SELECT p.workflow, r.step, r.role, r.profile_id, f.team_id FROM {responsibility} r "
        f"JOIN {procedure} p ON p.id = r.procedure_id "
        f"JOIN {profile} f ON f.id = r.profile_id "
        "WHERE p.provider_id = %s AND p.active = %s AND r.role IN (%s, %s) ORDER BY f.name, f.id"
    )
    params = [provider_id, True, Responsibility.RESPONSIBLE, Responsibility.ACCOUNTABLE]
    roles: StepRoles = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for workflow, step, role, profile_id, team_id in cursor.fetchall():
            roles.setdefault((workflow, step), {}).setdefault(role, (profile_id, team_id))
    return roles


def step_holders(
    provider_id: int, workflow_numbers: list[int], step_id: str, roles: StepRoles | None = None
) -> StepHolders | None:
    """Who does `step_id` (the first Responsible profile by name) and who owns it (the
    Accountable), from the first of `workflow_numbers` whose procedure in force names a
    Responsible; None when none does. `roles` is `step_roles(provider_id)` when the caller
    already has it."""
    if roles is None:
        roles = step_roles(provider_id)
    for number in workflow_numbers:
        held = roles.get((number, step_id), {})
        if Responsibility.RESPONSIBLE in held:
            responsible, team = held[Responsibility.RESPONSIBLE]
            accountable = held.get(Responsibility.ACCOUNTABLE, (None, None))[0]
            return StepHolders(number, responsible, accountable, team)
    return None


def people_holding(profile: Profile) -> QuerySet[Person]:
    """The active people who hold `profile` today, by name."""
    return profile.holders.filter(active=True, provider_id=profile.provider_id).order_by("name")
