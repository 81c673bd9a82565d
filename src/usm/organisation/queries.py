"""Who does a step: the questions the call engine asks of the organisation when it assigns work.

Every answer comes from the procedure in force for the workflow; a provider without one gets
empty answers, never someone else's.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import QuerySet

from usm.organisation.choices import Responsibility
from usm.organisation.models import Person, Procedure, Profile, Provider, StepResponsibility


def active_procedure(provider: Provider, workflow_number: int) -> Procedure | None:
    return Procedure.objects.filter(
        provider=provider, workflow=workflow_number, active=True
    ).first()


class StepHolders(NamedTuple):
    workflow: int
    responsible: Profile | None
    accountable: Profile | None


def step_holders(provider_id: int, workflow_numbers: list[int], step_id: str) -> StepHolders | None:
    """Who does `step_id` (the first Responsible profile by name) and who owns it (the
    Accountable), from the first of `workflow_numbers` whose procedure in force names a
    Responsible; None when none does. One query: the engine asks this after every move."""
    rows = (
        StepResponsibility.objects.filter(
            procedure__provider_id=provider_id,
            procedure__workflow__in=workflow_numbers,
            procedure__active=True,
            step=step_id,
            role__in=(Responsibility.RESPONSIBLE, Responsibility.ACCOUNTABLE),
        )
        .select_related("procedure", "profile")
        .order_by("profile__name", "profile_id")
    )
    found: dict[int, dict[str, Profile]] = {}
    for row in rows:
        found.setdefault(row.procedure.workflow, {}).setdefault(row.role, row.profile)
    for number in workflow_numbers:
        roles = found.get(number, {})
        if Responsibility.RESPONSIBLE in roles:
            return StepHolders(
                number, roles[Responsibility.RESPONSIBLE], roles.get(Responsibility.ACCOUNTABLE)
            )
    return None


def people_holding(profile: Profile) -> QuerySet[Person]:
    """The active people who hold `profile` today, by name."""
    return profile.holders.filter(active=True, provider_id=profile.provider_id).order_by("name")
