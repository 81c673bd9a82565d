"""A call's response and resolution due times, from the agreement that applies to it. Called by
`services` whenever what they depend on changes (registration, priority, a pause ending)."""

from __future__ import annotations

from usm.agreements import queries
from usm.calls.models import Call


def applicable_agreement(call: Call):
    """For the call that accepted the workflow, the customer's SA for the service. A forked-into
    call is work the provider does for itself: the OLA of the internal team (or the UC of the
    supplier) doing it applies when it sets a norm for that call type, otherwise the SA still
    does."""
    if not call.accepting and call.assignee_team_id:
        for agreement in queries.team_agreements(
            call.provider_id, call.assignee_team_id, call.created_at
        ):
            if call.priority and queries.norm_for(agreement, call.call_type, call.priority):
                return agreement
    if call.service_id is None:
        return None
    if call.customer_id is None:
        if call.priority is None:
            return None
        return queries.strictest_service_agreement(
            call.provider_id, call.service, call.call_type, call.priority, call.created_at
        )
    return queries.applicable_agreement(call.customer, call.service, call.created_at)


def missed(call: Call, at) -> list[str]:
    """Which deadlines the call has missed by `at`: a response or resolution that came late, or
    one still owed after its due time."""
    found = []
    for which, done in (("response", call.responded_at), ("resolution", call.resolved_at)):
        due = getattr(call, f"{which}_due")
        if due is not None and (done or at) > due and call.status != "aborted":
            found.append(which)
    return found


def apply(call: Call) -> None:
    if call.agreement_id is None:
        call.agreement = applicable_agreement(call)
    if call.agreement is None or call.priority is None:
        call.response_due = call.resolution_due = None
        return
    pauses = [(p.started_at, p.ended_at) for p in call.pauses.all()] if call.pk else []
    due = queries.deadlines(call.agreement, call.call_type, call.priority, call.created_at, pauses)
    call.response_due, call.resolution_due = due if due else (None, None)
