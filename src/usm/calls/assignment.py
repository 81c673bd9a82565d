"""Who works on a call's current step: the profile the procedure makes Responsible for that step
of the workflow, its team, and the Accountable profile. Called by `services` after each move."""

from __future__ import annotations

from usm.agreements import configuration
from usm.calls.models import Call
from usm.engine.call_flow import workflows_for
from usm.model import reference_model
from usm.organisation import queries


def apply(call: Call, stamp=configuration.UNREAD) -> None:
    """`stamp`: the configuration stamp read with the call, when it was."""
    if not call.step:
        return
    numbers = (
        [call.workflow] if call.workflow else workflows_for(reference_model(), call.process_chain())
    )
    # Before a dynamic workflow's fork its number is open; the steps up to the fork are the same in
    # every candidate, so the first candidate's procedure speaks for them.
    roles = configuration.of(call.provider_id, stamp).step_roles(queries.step_roles)
    holders = queries.step_holders(call.provider_id, numbers, call.step, roles)
    if holders is None:
        return
    call.responsible_profile_id = holders.responsible_id
    call.accountable_profile_id = holders.accountable_id
    if holders.team_id:
        call.assignee_team_id = holders.team_id
