"""The writer of process control's configuration: the escalation policies. (The SLA sweep,
`usm.control.sweep`, is the one writer of notifications and of its watch list.)"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from usm.control.models import DEFAULT_MANAGER_DELAY, DEFAULT_WARNING_FRACTION, EscalationPolicy


@transaction.atomic
def set_escalation_policy(
    provider,
    *,
    agreement=None,
    warning_fraction: float = DEFAULT_WARNING_FRACTION,
    manager_delay: timedelta = DEFAULT_MANAGER_DELAY,
    manager_profile=None,
) -> EscalationPolicy:
    """Create or replace the policy of `agreement` (None: the provider's default). The agreement
    and the manager profile must be the provider's own."""
    errors = {}
    if agreement is not None and agreement.provider_id != provider.pk:
        errors["agreement"] = "is not an agreement of this provider"
    if manager_profile is not None and manager_profile.provider_id != provider.pk:
        errors["manager_profile"] = "is not a profile of this provider"
    if errors:
        raise ValidationError(errors)
    policy = (
        EscalationPolicy.objects.select_for_update()
        .filter(provider=provider, agreement=agreement)
        .first()
    ) or EscalationPolicy(provider=provider, agreement=agreement)
    policy.warning_fraction = warning_fraction
    policy.manager_delay = manager_delay
    policy.manager_profile = manager_profile
    policy.full_clean(validate_unique=False, validate_constraints=False)
    policy.save()
    return policy
