"""Agreements over REST, /api/v1/agreements/: the service catalogue, calendars (with their
opening hours, holidays and exceptions), agreements (with their norms and the deadlines they
produce), and the priority and risk matrices.

Reads and lists go through the scoping rule, so another provider's rows are 404. Writes need
the Django model permission (add/change/delete) as well, as in the organisation API: a
customer's user can log in but must not rewrite the provider's agreements. Rows are created for
the caller's provider; all writing is done by `services`.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from ninja import Field, Query, Router, Schema, Status

from usm.agreements import matrices, queries, services
from usm.agreements.choices import (
    AgreementKind,
    AgreementStatus,
    CallType,
    MatrixKind,
    ServiceStatus,
    TargetUnit,
    TimeBasis,
)
from usm.agreements.models import Agreement, Calendar, Holiday, MatrixCell, Service
from usm.api.crud import (
    PageQuery,
    RowId,
    allow,
    caller_provider,
    get_row,
    own,
    own_all,
    page,
    page_of,
)
from usm.api.scoping import scoped, scoped_get
from usm.organisation.models import Customer, Team

router = Router(tags=["agreements"])

# Larger than any target or version a row can hold (a 32-bit column), small enough for both
# databases to compare against.
MAX_COUNT = 2**31 - 1

Level = Annotated[int, Field(ge=1, le=matrices.MAX_LEVELS)]
ClockTime = Annotated[str, Field(max_length=8, description="HH:MM in the calendar's zone")]


# -- shared ------------------------------------------------------------------------------------------
def _clock(value: time, *, closing: bool = False) -> str:
    # The database keeps the midnight ending a day as 00:00; shown as 24:00 it cannot be misread.
    if closing and value == time(0):
        return "24:00"
    return f"{value:%H:%M}"


# -- services ----------------------------------------------------------------------------------------
class ServiceOut(Schema):
    id: int
    code: str
    name: str
    facility: str
    support: str
    functionality: str
    functioning: str
    in_catalogue: bool
    status: str


class ServiceIn(Schema):
    code: str
    name: str
    facility: str
    support: str = ""
    functionality: str = ""
    functioning: str = ""
    in_catalogue: bool = True
    status: ServiceStatus = ServiceStatus.LIVE


class ServicePatch(Schema):
    code: str | None = None
    name: str | None = None
    facility: str | None = None
    support: str | None = None
    functionality: str | None = None
    functioning: str | None = None
    in_catalogue: bool | None = None
    status: ServiceStatus | None = None


class ServiceQuery(PageQuery):
    status: ServiceStatus | None = None
    in_catalogue: bool | None = None


ServicePage = page_of("ServicePage", ServiceOut)


@router.get("/services", response=ServicePage, summary="The service catalogue")
def list_services(request, query: Query[ServiceQuery]):
    rows = Service.objects.all()
    if query.status is not None:
        rows = rows.filter(status=query.status)
    if query.in_catalogue is not None:
        rows = rows.filter(in_catalogue=query.in_catalogue)
    return page(request, rows, query, ("code", "name", "facility", "functionality"))


@router.post("/services", response={201: ServiceOut})
def create_service(request, payload: ServiceIn):
    allow(request, "add", Service)
    fields = payload.model_dump()
    code, name, facility = fields.pop("code"), fields.pop("name"), fields.pop("facility")
    return Status(
        201, services.create_service(caller_provider(request), code, name, facility, **fields)
    )


@router.get("/services/{int:service_id}", response=ServiceOut)
def get_service(request, service_id: int):
    return get_row(request, Service, service_id)


@router.patch("/services/{int:service_id}", response=ServiceOut)
def update_service(request, service_id: int, payload: ServicePatch):
    allow(request, "change", Service)
    service = get_row(request, Service, service_id)
    return services.update_service(service, **payload.model_dump(exclude_unset=True))


@router.delete("/services/{int:service_id}", response={204: None})
def delete_service(request, service_id: int):
    allow(request, "delete", Service)
    services.delete_service(get_row(request, Service, service_id))
    return Status(204, None)


# -- calendars ---------------------------------------------------------------------------------------
class OpeningHoursRow(Schema):
    weekday: int = Field(ge=0, le=6, description="0 is Monday, 6 Sunday")
    opens: ClockTime
    closes: ClockTime = Field(description="HH:MM; 24:00 (or 00:00) is the midnight ending the day")


class HolidayRow(Schema):
    date: date
    name: str = Field("", max_length=200)


class ExceptionRow(Schema):
    date: date
    opens: ClockTime
    closes: ClockTime
    reason: str = Field("", max_length=200)


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    always_open: bool
    opening_hours: list[OpeningHoursRow]
    holidays: list[HolidayRow]
    exceptions: list[ExceptionRow]

    @staticmethod
    def resolve_opening_hours(calendar: Calendar) -> list[dict]:
        return [
            {
                "weekday": row.weekday,
                "opens": _clock(row.opens),
                "closes": _clock(row.closes, closing=True),
            }
            for row in calendar.opening_hours.all()
        ]

    @staticmethod
    def resolve_exceptions(calendar: Calendar) -> list[dict]:
        return [
            {
                "date": row.date,
                "opens": _clock(row.opens),
                "closes": _clock(row.closes, closing=True),
                "reason": row.reason,
            }
            for row in calendar.exceptions.all()
        ]


class CalendarIn(Schema):
    name: str
    time_zone: str = Field("UTC", description="IANA name, e.g. Europe/Amsterdam")
    always_open: bool = Field(False, description="24x7: the weekly hours are ignored")
    opening_hours: list[OpeningHoursRow] = []
    holidays: list[HolidayRow] = []
    exceptions: list[ExceptionRow] = []


class CalendarPatch(Schema):
    """Each list sent replaces that part of the calendar as a whole."""

    name: str | None = None
    time_zone: str | None = None
    always_open: bool | None = None
    opening_hours: list[OpeningHoursRow] | None = None
    holidays: list[HolidayRow] | None = None
    exceptions: list[ExceptionRow] | None = None


class CalendarQuery(PageQuery):
    always_open: bool | None = None


CalendarPage = page_of("CalendarPage", CalendarOut)
CALENDARS = Calendar.objects.prefetch_related("opening_hours", "holidays", "exceptions")
CALENDAR_ROWS = ("opening_hours", "holidays", "exceptions")


def _calendar_rows(sent: dict[str, Any]) -> dict[str, Any]:
    return {name: sent.pop(name) for name in CALENDAR_ROWS if sent.get(name) is not None}


@router.get("/calendars", response=CalendarPage, summary="Calendars: service hours")
def list_calendars(request, query: Query[CalendarQuery]):
    rows = CALENDARS.all()
    if query.always_open is not None:
        rows = rows.filter(always_open=query.always_open)
    return page(request, rows, query, ("name", "time_zone"))


@router.post("/calendars", response={201: CalendarOut})
def create_calendar(request, payload: CalendarIn):
    allow(request, "add", Calendar)
    fields = payload.model_dump()
    rows = _calendar_rows(fields)
    name = fields.pop("name")
    return Status(201, services.create_calendar(caller_provider(request), name, **fields, **rows))


@router.get("/calendars/{int:calendar_id}", response=CalendarOut)
def get_calendar(request, calendar_id: int):
    return get_row(request, CALENDARS, calendar_id)


@router.patch("/calendars/{int:calendar_id}", response=CalendarOut)
def update_calendar(request, calendar_id: int, payload: CalendarPatch):
    allow(request, "change", Calendar)
    calendar = get_row(request, CALENDARS, calendar_id)
    sent = payload.model_dump(exclude_unset=True)
    rows = _calendar_rows(sent)
    return services.update_calendar(calendar, **sent, **rows)


@router.delete("/calendars/{int:calendar_id}", response={204: None})
def delete_calendar(request, calendar_id: int):
    allow(request, "delete", Calendar)
    services.delete_calendar(get_row(request, Calendar, calendar_id))
    return Status(204, None)


@router.post(
    "/calendars/{int:calendar_id}/holidays",
    response={201: HolidayRow},
    summary="Close the service on one more date",
)
def add_holiday(request, calendar_id: int, payload: HolidayRow):
    allow(request, "change", Calendar)
    calendar = get_row(request, Calendar, calendar_id)
    return Status(201, services.add_holiday(calendar, payload.date, payload.name))


@router.delete("/calendars/{int:calendar_id}/holidays/{day}", response={204: None})
def remove_holiday(request, calendar_id: int, day: date):
    allow(request, "change", Calendar)
    calendar = get_row(request, Calendar, calendar_id)
    services.remove_holiday(scoped_get(request.user, Holiday, calendar=calendar, date=day))
    return Status(204, None)


# -- agreements --------------------------------------------------------------------------------------
class NormRow(Schema):
    call_type: CallType
    priority: Level
    response: int = Field(ge=0, le=MAX_COUNT)
    resolution: int = Field(ge=0, le=MAX_COUNT)
    unit: TargetUnit = TargetUnit.HOURS
    basis: TimeBasis = TimeBasis.BUSINESS


class NormOut(Schema):
    call_type: str
    priority: int
    response: int
    resolution: int
    unit: str
    basis: str


class AgreementOut(Schema):
    id: int
    kind: str
    code: str
    name: str
    customer_id: int | None
    team_id: int | None
    calendar_id: int
    services: list[int]
    valid_from: date
    valid_until: date | None
    status: str
    version: int
    norms: list[NormOut]

    @staticmethod
    def resolve_services(agreement: Agreement) -> list[int]:
        return [service.pk for service in agreement.services.all()]


class AgreementIn(Schema):
    kind: AgreementKind
    code: str
    name: str
    customer_id: RowId | None = Field(None, description="The customer of an SA")
    team_id: RowId | None = Field(None, description="The internal team (OLA) or supplier (UC)")
    calendar_id: RowId
    services: list[RowId] = []
    valid_from: date
    valid_until: date | None = None
    status: AgreementStatus = AgreementStatus.ACTIVE
    norms: list[NormRow] = []


class AgreementPatch(Schema):
    """`version` is the one you read; a list sent (services, norms) replaces the stored one."""

    version: int = Field(ge=1, le=MAX_COUNT)
    kind: AgreementKind | None = None
    code: str | None = None
    name: str | None = None
    customer_id: RowId | None = None
    team_id: RowId | None = None
    calendar_id: RowId | None = None
    services: list[RowId] | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    status: AgreementStatus | None = None
    norms: list[NormRow] | None = None


class AgreementQuery(PageQuery):
    kind: AgreementKind | None = None
    status: AgreementStatus | None = None
    customer: RowId | None = None
    team: RowId | None = None
    service: RowId | None = None
    calendar: RowId | None = None
    valid_at: date | None = Field(None, description="Only agreements valid on this date")


class VersionQuery(Schema):
    version: int | None = Field(None, ge=1, le=MAX_COUNT, description="Refuse if changed since")


AgreementPage = page_of("AgreementPage", AgreementOut)
AGREEMENTS = Agreement.objects.select_related("customer", "team", "calendar").prefetch_related(
    "services", "norms"
)
REFERENCES = {"customer_id": Customer, "team_id": Team, "calendar_id": Calendar}


def _in_payload_terms(exc: ValidationError) -> ValidationError:
    """The services name the agreement's fields; the caller sent `customer_id` and the like."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError(
        {
            f"{name}_id" if name in ("customer", "team", "calendar") else name: errors
            for name, errors in exc.error_dict.items()
        }
    )


def _references(request, sent: dict[str, Any]) -> dict[str, Any]:
    """The sent fields with `*_id` swapped for the caller's rows they name."""
    changes = {}
    for key, value in sent.items():
        if key in REFERENCES:
            changes[key.removesuffix("_id")] = own(request, REFERENCES[key], value, key)
        elif key == "services" and value is not None:
            changes[key] = own_all(request, Service, value, key)
        else:
            changes[key] = value
    return changes


@router.get("/agreements", response=AgreementPage, summary="Agreements: SA, OLA and UC")
def list_agreements(request, query: Query[AgreementQuery]):
    rows = AGREEMENTS.all()
    for name in ("kind", "status"):
        if getattr(query, name) is not None:
            rows = rows.filter(**{name: getattr(query, name)})
    for name, lookup in (
        ("customer", "customer_id"),
        ("team", "team_id"),
        ("calendar", "calendar_id"),
        ("service", "services"),
    ):
        if getattr(query, name) is not None:
            rows = rows.filter(**{lookup: getattr(query, name)})
    if query.valid_at is not None:
        rows = rows.filter(valid_from__lte=query.valid_at).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=query.valid_at)
        )
    search = ("code", "name", "customer__name", "team__name")
    return page(request, rows.distinct(), query, search)


@router.post("/agreements", response={201: AgreementOut})
def create_agreement(request, payload: AgreementIn):
    allow(request, "add", Agreement)
    fields = _references(request, payload.model_dump())
    fields["norms"] = [norm.model_dump() for norm in payload.norms]
    kind, code, name = fields.pop("kind"), fields.pop("code"), fields.pop("name")
    try:
        agreement = services.create_agreement(caller_provider(request), kind, code, name, **fields)
    except ValidationError as exc:
        raise _in_payload_terms(exc) from None
    return Status(201, get_row(request, AGREEMENTS, agreement.pk))


@router.get("/agreements/{int:agreement_id}", response=AgreementOut)
def get_agreement(request, agreement_id: int):
    return get_row(request, AGREEMENTS, agreement_id)


@router.patch(
    "/agreements/{int:agreement_id}",
    response=AgreementOut,
    summary="Change an agreement; 409 when it changed since the version you read",
)
def update_agreement(request, agreement_id: int, payload: AgreementPatch):
    allow(request, "change", Agreement)
    agreement = get_row(request, Agreement, agreement_id)
    sent = payload.model_dump(exclude_unset=True)
    version = sent.pop("version")
    if sent.get("norms") is not None:
        sent["norms"] = [norm.model_dump() for norm in payload.norms]
    else:
        sent.pop("norms", None)
    changes = _references(request, sent)
    if changes.get("services") is None:
        changes.pop("services", None)
    try:
        services.update_agreement(agreement, version, **changes)
    except ValidationError as exc:
        raise _in_payload_terms(exc) from None
    return get_row(request, AGREEMENTS, agreement.pk)


@router.delete("/agreements/{int:agreement_id}", response={204: None})
def delete_agreement(request, agreement_id: int, query: Query[VersionQuery]):
    allow(request, "delete", Agreement)
    services.delete_agreement(get_row(request, Agreement, agreement_id), query.version)
    return Status(204, None)


class DeadlineQuery(Schema):
    call_type: CallType
    priority: Level
    opened_at: datetime = Field(
        description="When the call was registered, with its zone: 2026-03-10T09:00:00Z"
    )


class DeadlinesOut(Schema):
    agreement_id: int
    call_type: str
    priority: int
    opened_at: datetime
    time_zone: str = Field(description="The calendar's zone, in which the due times are given")
    norm: NormOut | None = Field(description="None when the agreement sets no norm for this")
    response_due: datetime | None
    resolution_due: datetime | None


@router.get(
    "/agreements/{int:agreement_id}/deadlines",
    response=DeadlinesOut,
    summary="The response and resolution due times the agreement sets for a call",
)
def agreement_deadlines(request, agreement_id: int, query: Query[DeadlineQuery]):
    agreement = get_row(request, Agreement.objects.select_related("calendar"), agreement_id)
    if query.opened_at.utcoffset() is None:
        raise ValidationError({"opened_at": "give the zone too, e.g. 2026-03-10T09:00:00Z"})
    norm = queries.norm_for(agreement, query.call_type, query.priority)
    due = queries.deadlines(agreement, query.call_type, query.priority, query.opened_at)
    zone = queries.service_hours(agreement.calendar).zone

    def local(instant: datetime | None) -> datetime | None:
        return None if instant is None else instant.astimezone(zone)

    return {
        "agreement_id": agreement.pk,
        "call_type": query.call_type,
        "priority": query.priority,
        "opened_at": query.opened_at,
        "time_zone": agreement.calendar.time_zone,
        "norm": norm,
        "response_due": local(due.response_due) if due else None,
        "resolution_due": local(due.resolution_due) if due else None,
    }


# -- matrices ----------------------------------------------------------------------------------------
class Cell(Schema):
    row: Level
    column: Level
    result: int = Field(ge=1, le=matrices.MAX_LEVELS**2)


class MatrixOut(Schema):
    kind: str
    row_label: str
    column_label: str
    result_label: str
    configured: bool = Field(description="False while the provider uses the default")
    grid: list[list[int]] = Field(description="grid[row - 1][column - 1] is the result")
    cells: list[Cell]


class MatrixIn(Schema):
    cells: list[Cell]


def _matrix_out(kind: MatrixKind, cells: matrices.Cells, configured: bool) -> dict:
    axes = matrices.AXES[kind]
    return {
        "kind": kind.value,
        "row_label": axes.row,
        "column_label": axes.column,
        "result_label": axes.result,
        "configured": configured,
        "grid": matrices.grid(cells),
        "cells": [
            {"row": row, "column": column, "result": result}
            for (row, column), result in sorted(cells.items())
        ],
    }


def _matrix_kind(kind: str) -> MatrixKind:
    try:
        return MatrixKind(kind)
    except ValueError:
        raise Http404(f"There is no matrix {kind}.") from None


def _read_matrix(request, kind: MatrixKind) -> dict:
    cells, configured = queries.cells_of(scoped(request.user, MatrixCell.objects.all()), kind)
    return _matrix_out(kind, cells, configured)


@router.get("/matrices", response=list[MatrixOut], summary="The priority and risk matrices")
def list_matrices(request):
    return [_read_matrix(request, kind) for kind in MatrixKind]


@router.get("/matrices/{kind}", response=MatrixOut)
def get_matrix(request, kind: str):
    return _read_matrix(request, _matrix_kind(kind))


@router.put("/matrices/{kind}", response=MatrixOut, summary="Replace a matrix as a whole")
def set_matrix(request, kind: str, payload: MatrixIn):
    chosen = _matrix_kind(kind)
    allow(request, "change", MatrixCell)
    cells = services.set_matrix(
        caller_provider(request), chosen, [c.model_dump() for c in payload.cells]
    )
    return _matrix_out(chosen, cells, True)
