"""What /api/v1/control answers, as OpenAPI schemas. The figures are built as plain data by
`kpis` and `conformance`; these describe them."""

# No `from __future__ import annotations`: django-ninja reads the annotations at import.
from datetime import datetime

from ninja import Field, Schema

from usm.api.crud import RowId


class PeriodQuery(Schema):
    period_start: str | None = Field(
        None, max_length=40, description="ISO date or date-time (UTC unless it names a zone)"
    )
    period_end: str | None = Field(
        None, max_length=40, description="Excluded; a date means up to and including that day"
    )


class KpiQuery(PeriodQuery):
    process: str | None = Field(None, max_length=5, description="CTM, CHM, INC, OPS or IMP")
    workflow: int | None = Field(None, ge=1, le=8)
    customer_id: RowId | None = None
    service_id: RowId | None = None
    team_id: RowId | None = None


class ConformanceQuery(PeriodQuery):
    limit: int = Field(100, ge=1, le=1000, description="At most this many deviations listed")


class PeriodOut(Schema):
    start: datetime
    end: datetime


class DistributionOut(Schema):
    count: int
    median_seconds: float | None
    p90_seconds: float | None
    max_seconds: float | None


class DeadlineFigures(Schema):
    met: int
    missed: int
    pending: int
    rate: float | None = Field(description="met / (met + missed)")


class BreachFigures(Schema):
    response: int
    resolution: int


class TotalsOut(Schema):
    intake: int
    throughput: int
    aborted: int
    backlog: int
    backlog_age: DistributionOut
    lead_time: DistributionOut
    workflows_closed: int
    workflow_lead_time: DistributionOut
    first_time_right: int
    first_time_right_rate: float | None
    step_completions: int
    repeats: int
    repeat_rate: float | None
    breaches: BreachFigures


class ProcessKpis(Schema):
    process: str
    name: str
    intake: int
    throughput: int
    aborted: int
    backlog: int
    backlog_age: DistributionOut
    lead_time: DistributionOut
    step_completions: int
    repeats: int
    repeat_rate: float | None


class WorkflowKpis(Schema):
    workflow: int | None = Field(description="None: dynamic workflows not yet past their fork")
    name: str
    dynamic: bool
    started: int
    closed: int
    aborted: int
    open: int
    lead_time: DistributionOut
    first_time_right: int
    first_time_right_rate: float | None


class StepKpis(Schema):
    step: str
    process: str
    name: str
    completions: int
    repeats: int
    lead_time: DistributionOut


class ForkKpis(Schema):
    workflow: int
    name: str
    process: str
    target: str
    count: int
    share: float | None


class ServiceKpis(Schema):
    service_id: int | None
    name: str
    intake: int
    backlog: int


class CustomerKpis(Schema):
    customer_id: int | None
    name: str
    intake: int
    backlog: int


class TeamKpis(Schema):
    team_id: int | None
    name: str
    backlog: int
    step_completions: int


class AgreementKpis(Schema):
    agreement_id: int
    code: str
    name: str
    kind: str
    response: DeadlineFigures
    resolution: DeadlineFigures
    breaches: BreachFigures


class RiskLevel(Schema):
    risk_level: int | None
    open: int


class RisksOut(Schema):
    open: int
    known_errors: int
    by_level: list[RiskLevel]


class KpisOut(Schema):
    period: PeriodOut
    as_of: datetime
    filters: dict
    totals: TotalsOut
    processes: list[ProcessKpis]
    workflows: list[WorkflowKpis]
    steps: list[StepKpis]
    forks: list[ForkKpis]
    services: list[ServiceKpis]
    customers: list[CustomerKpis]
    teams: list[TeamKpis]
    agreements: list[AgreementKpis]
    risks: RisksOut


class WorkflowConformance(Schema):
    workflow: int
    name: str
    checked: int
    conforming: int
    rate: float | None
    with_repeats: int
    aborted: int


class ProcessConformance(Schema):
    process: str
    name: str
    calls: int
    conforming: int
    rate: float | None


class DeviationOut(Schema):
    root: str = Field(description="The accepting call of the workflow")
    workflow: int | None
    call: str
    step: str
    code: str
    message: str


class RepeatOut(Schema):
    root: str
    call: str
    step: str
    count: int


class AbortedOut(Schema):
    root: str
    workflow: int | None
    call: str
    step: str
    reason: str


class ConformanceOut(Schema):
    period: PeriodOut
    checked: int
    conforming: int
    rate: float | None
    with_repeats: int
    aborted: int
    awaiting_check: int = Field(
        description="Closed workflows of the period whose check the background worker has not "
        "made yet; they are in none of the other figures"
    )
    workflows: list[WorkflowConformance]
    aborted_before_the_fork: int
    processes: list[ProcessConformance]
    deviations_total: int
    deviations: list[DeviationOut]
    repeats: list[RepeatOut]
    aborted_workflows: list[AbortedOut]


class NotificationOut(Schema):
    id: int
    call: str = Field(alias="call.number")
    recipient: str = Field(alias="recipient.name")
    kind: str
    deadline: str
    due: datetime
    created_at: datetime
    sent_at: datetime | None
    email: str
