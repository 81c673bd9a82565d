"""/api/v1/control: KPIs, conformance and the notifications of the SLA sweep, for the provider's
staff (a customer's user gets 403), over the calls the scoping rule lets them see."""

# No `from __future__ import annotations`: django-ninja reads the parameter annotations at import.
from django.core.exceptions import ValidationError
from ninja import Query, Router

from usm.api.crud import require_staff
from usm.api.scoping import scoped
from usm.control import sources
from usm.control.conformance import conformance
from usm.control.exports.api import router as exports_router
from usm.control.kpis import Slice, kpis
from usm.control.models import Notification
from usm.control.periods import period_of
from usm.control.schemas import (
    ConformanceOut,
    ConformanceQuery,
    KpiQuery,
    KpisOut,
    NotificationOut,
)
from usm.model import reference_model

router = Router(tags=["control"])
router.add_router("/exports/", exports_router)


def _staff_only(request) -> None:
    """Process control reads the work of every customer: not for customers' users."""
    require_staff(request, "read process control")


def _slice(query: KpiQuery) -> Slice:
    process = query.process.upper() if query.process else None
    if process is not None and process not in reference_model().processes:
        known = ", ".join(reference_model().processes)
        raise ValidationError({"process": f"'{query.process}' is not a process ({known})"})
    return Slice(
        process=process,
        workflow=query.workflow,
        customer_id=query.customer_id,
        service_id=query.service_id,
        team_id=query.team_id,
    )


@router.get("/kpis", response=KpisOut, summary="Key figures per process, workflow, team, ...")
def read_kpis(request, query: Query[KpiQuery]):
    _staff_only(request)
    period = period_of(query.period_start, query.period_end)
    calls, events = sources.visible(request.auth)
    return kpis(calls, events, period, _slice(query), kept_for=sources.whole_log_of(request.auth))


@router.get("/conformance", response=ConformanceOut, summary="Closed workflows vs. templates")
def read_conformance(request, query: Query[ConformanceQuery]):
    _staff_only(request)
    period = period_of(query.period_start, query.period_end)
    calls, events = sources.visible(request.auth)
    return conformance(calls, events, period, limit=query.limit)


@router.get(
    "/notifications",
    response=list[NotificationOut],
    summary="What the SLA sweep sent, newest first",
)
def list_notifications(request, limit: int = Query(50, ge=1, le=500)):
    _staff_only(request)
    rows = scoped(request.auth, Notification.objects.all())
    return rows.select_related("call", "recipient").order_by("-created_at", "-id")[:limit]
