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


class StepHolders(NamedTuple):
    workflow: int
    responsible_id: int
    accountable_id: int | None
    team_id: int | None  # the Responsible profile's team, which gets the work


def step_holders(provider_id: int, workflow_numbers: list[int], step_id: str) -> StepHolders | None:
    """Who does `step_id` (the first Responsible profile by name) and who owns it (the
    Accountable), from the first of `workflow_numbers` whose procedure in force names a
    Responsible; None when none does.

    The engine asks this after every move of every call, so it is one hand-written statement:
    building the same three-table query through the ORM cost more than running it."""
    responsibility = StepResponsibility._meta.db_table
    procedure = Procedure._meta.db_table
    profile = Profile._meta.db_table
    numbers = ", ".join(["%s"] * len(workflow_numbers))
    sql = (
        f"SELECT p.workflow, r.role, r.profile_id, f.team_id FROM {responsibility} r "
        f"JOIN {procedure} p ON p.id = r.procedure_id "
        f"JOIN {profile} f ON f.id = r.profile_id "
        f"WHERE p.provider_id = %s AND p.active = %s AND p.workflow IN ({numbers}) "
        "AND r.step = %s AND r.role IN (%s, %s) ORDER BY f.name, f.id"
    )
    params = [provider_id, True, *workflow_numbers, step_id]
    params += [Responsibility.RESPONSIBLE, Responsibility.ACCOUNTABLE]
    found: dict[int, dict[str, tuple[int, int | None]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for workflow, role, profile_id, team_id in cursor.fetchall():
            found.setdefault(workflow, {}).setdefault(role, (profile_id, team_id))
    for number in workflow_numbers:
        roles = found.get(number, {})
        if Responsibility.RESPONSIBLE in roles:
            responsible, team = roles[Responsibility.RESPONSIBLE]
            accountable = roles.get(Responsibility.ACCOUNTABLE, (None, None))[0]
            return StepHolders(number, responsible, accountable, team)
    return None


def people_holding(profile: Profile) -> QuerySet[Person]:
    """The active people who hold `profile` today, by name."""
    return profile.holders.filter(active=True, provider_id=profile.provider_id).order_by("name")
