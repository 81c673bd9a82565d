"""Who does a step: the questions the call engine asks of the organisation when it assigns work.

Every answer comes from the procedure in force for the workflow; a provider without one gets
empty answers, never someone else's.
"""

from __future__ import annotations

from django.db.models import QuerySet

from usm.organisation.choices import Responsibility
from usm.organisation.models import Person, Procedure, Profile, Provider


def active_procedure(provider: Provider, workflow_number: int) -> Procedure | None:
    return Procedure.objects.filter(
        provider=provider, workflow=workflow_number, active=True
    ).first()


def _profiles_in_role(
    provider: Provider, workflow_number: int, step_id: str, role: str
) -> QuerySet[Profile]:
    return Profile.objects.filter(
        provider=provider,
        responsibilities__procedure__provider=provider,
        responsibilities__procedure__workflow=workflow_number,
        responsibilities__procedure__active=True,
        responsibilities__step=step_id,
        responsibilities__role=role,
    ).distinct()


def responsible_profiles(
    provider: Provider, workflow_number: int, step_id: str
) -> QuerySet[Profile]:
    """The profiles that do `step_id` when it is walked in the workflow (R), by name."""
    return _profiles_in_role(provider, workflow_number, step_id, Responsibility.RESPONSIBLE)


def accountable_profile(provider: Provider, workflow_number: int, step_id: str) -> Profile | None:
    """The one profile that owns the outcome of `step_id` in the workflow (A), or None when no
    procedure is in force."""
    return _profiles_in_role(provider, workflow_number, step_id, Responsibility.ACCOUNTABLE).first()


def people_holding(profile: Profile) -> QuerySet[Person]:
    """The active people who hold `profile` today, by name."""
    return profile.holders.filter(active=True, provider_id=profile.provider_id).order_by("name")
