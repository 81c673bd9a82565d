"""What the calls API reads and writes."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from usm.api.crud import RowId
from usm.api.scoping import is_staff


class CallIn(Schema):
    call_type: str = Field(description="wish, rfc, incident, service_request or risk")
    summary: str = Field(min_length=1, max_length=300)
    description: str = ""
    channel: str = "api"
    requester_id: RowId | None = None
    customer_id: RowId | None = None
    service_id: RowId | None = None
    mir_item_ids: list[RowId] = Field([], max_length=100)
    category: str = ""
    impact: int | None = Field(None, ge=1, le=9)
    urgency: int | None = Field(None, ge=1, le=9)
    effect: int | None = Field(None, ge=1, le=9)
    likelihood: int | None = Field(None, ge=1, le=9)


class CallOut(Schema):
    id: int
    number: str
    call_type: str
    process: str
    channel: str
    summary: str
    description: str
    category: str
    status: str
    step: str | None
    waiting_for: str
    marks: list[str]
    workflow: int | None
    priority: int | None
    impact: int | None
    urgency: int | None
    risk_level: int | None
    requester_id: int | None
    customer_id: int | None
    service_id: int | None
    agreement_id: int | None
    parent_id: int | None
    root_id: int | None
    assignee_team_id: int | None
    assignee_id: int | None
    responsible_profile_id: int | None
    accountable_profile_id: int | None
    response_due: datetime | None
    resolution_due: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    # Who holds the work under which profile is the provider's own organisation (profiles are
    # staff only, usm.api.scoping): a customer's user is shown the call without them.
    @staticmethod
    def resolve_responsible_profile_id(call, context) -> int | None:
        return _for_staff(context, call.responsible_profile_id)

    @staticmethod
    def resolve_accountable_profile_id(call, context) -> int | None:
        return _for_staff(context, call.accountable_profile_id)


def _for_staff(context: dict | None, value):
    """`value` when the API is answering the provider's staff (or no request at all: the command
    line); None for a customer's user. Asked once per request, not once per call listed."""
    request = (context or {}).get("request")
    if request is None:
        return value
    staff = getattr(request, "usm_staff", None)
    if staff is None:
        staff = request.usm_staff = is_staff(request.auth)
    return value if staff else None


class StepIn(Schema):
    outcome: str | None = None
    notes: str = ""
    version: int | None = Field(None, description="The version you read; a stale one gets 409")
    raise_risks: list[str] = Field([], description="Risks to raise at evaluate & close")
    raise_incidents: list[str] = Field(
        [], description="Incidents to raise where the step says so (Operate's execution, OPS-4)"
    )


class ForkIn(Schema):
    target: str = Field(description="Process to hand over to, e.g. CHM or OPS")
    summary: str = ""
    version: int | None = None


class ReasonIn(Schema):
    reason: str = Field(min_length=1)


class RepeatIn(Schema):
    step: str
    reason: str = Field(min_length=1)


class ReclassifyIn(Schema):
    call_type: str
    reason: str = Field(min_length=1)


class PriorityIn(Schema):
    impact: int = Field(ge=1, le=9)
    urgency: int = Field(ge=1, le=9)
    version: int | None = None


class LinkIn(Schema):
    target: str = Field(description="Tracking number of the other call")
    kind: str = "related"


class AssignIn(Schema):
    person_id: RowId | None = Field(
        description="The person to work on it; null hands it back to the team"
    )


class NoteIn(Schema):
    # The portal's limit too: a note is a message on a call, not a place for logs (attach those).
    text: str = Field(min_length=1, max_length=10_000)
    internal: bool = False


class MirChangesIn(Schema):
    changes: list[dict]


class EventOut(Schema):
    id: int
    call_id: int
    process: str
    step: str
    attempt: int
    workflow: int | None
    kind: str
    outcome: str
    status: str
    detail: str
    actor_id: int | None
    profile_id: int | None
    team_id: int | None
    at: datetime


class MonitoringIn(Schema):
    source: str = Field(min_length=1, max_length=80)
    key: str = Field(min_length=1, max_length=110)
    summary: str = Field(min_length=1, max_length=300)
    description: str = ""
    service_id: RowId | None = None
    mir_item_id: RowId | None = None
    impact: int | None = Field(None, ge=1, le=9)
    urgency: int | None = Field(None, ge=1, le=9)


class FactsIn(Schema):
    failure: bool = False
    within_agreement: bool = True
    permanent_mir_effect: bool = False
    provider_side: bool = False
