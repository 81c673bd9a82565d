"""The only code that writes agreements data: the service catalogue, calendars (service hours),
agreements with their norms, and the priority and risk matrices.

Every function validates before it writes and runs in one transaction; a problem the caller can
fix is a `ValidationError({field: message})`. Rows only ever point at rows of their own provider.
An agreement carries a version: an update names the version its caller read and is refused with
`StaleUpdate` when someone else has changed the agreement since.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError

from usm.agreements import matrices, queries
from usm.agreements.choices import AgreementStatus, MatrixKind, ServiceStatus, TargetUnit
from usm.agreements.models import (
    Agreement,
    Calendar,
    CalendarException,
    Holiday,
    MatrixCell,
    Norm,
    OpeningHours,
    Service,
)
from usm.conflicts import StaleUpdate
from usm.engine.service_hours import ServiceHours
from usm.organisation.models import Customer, Provider, Team
from usm.row_checks import apply_changes, refuse_nul, unique_per_provider

# The call register classifies with levels 1-9, so a norm for priority 10 could never apply.
MAX_PRIORITY = matrices.MAX_LEVELS
# A target longer than a year is no service level, and bounding it bounds the work of
# computing a deadline.
MAX_TARGET = {TargetUnit.MINUTES: 366 * 24 * 60, TargetUnit.HOURS: 366 * 24, TargetUnit.DAYS: 366}


# -- shared checks -----------------------------------------------------------------------------------
def _merge(errors: dict[str, list[str]], exc: ValidationError) -> None:
    for field_name, messages in exc.message_dict.items():
        errors.setdefault(field_name, []).extend(messages)


def _forget_prefetched(instance: models.Model, *names: str) -> None:
    # A caller that read the rows with prefetch_related would otherwise see the ones replaced.
    cache = getattr(instance, "_prefetched_objects_cache", {})
    for name in names:
        cache.pop(name, None)


# -- services (the catalogue) ------------------------------------------------------------------------
SERVICE_FIELDS = {
    "code",
    "name",
    "facility",
    "support",
    "functionality",
    "functioning",
    "in_catalogue",
    "status",
}


def check_service(service: Service) -> None:
    refuse_nul(service)
    unique_per_provider(service, "code", "service")
    service.full_clean()


@transaction.atomic
def save_service(service: Service) -> Service:
    """Validate and save a service filled in elsewhere (the admin's form)."""
    check_service(service)
    service.save()
    return service


def create_service(
    provider: Provider,
    code: str,
    name: str,
    facility: str,
    *,
    support: str = "",
    functionality: str = "",
    functioning: str = "",
    in_catalogue: bool = True,
    status: str = ServiceStatus.LIVE,
) -> Service:
    return save_service(
        Service(
            provider=provider,
            code=code,
            name=name,
            facility=facility,
            support=support,
            functionality=functionality,
            functioning=functioning,
            in_catalogue=in_catalogue,
            status=status,
        )
    )


def update_service(service: Service, **changes) -> Service:
    apply_changes(service, changes, SERVICE_FIELDS)
    return save_service(service)


@transaction.atomic
def delete_service(service: Service) -> None:
    """Remove a service no agreement covers. A covered one is retired instead (status
    `retired`): the agreements, and the calls registered under them, still name it."""
    covering = list(service.agreements.values_list("code", flat=True)[:5])
    if covering:
        raise ProtectedError(
            f"service '{service.code}' is covered by agreement(s) {', '.join(covering)}; "
            "retire it instead",
            set(service.agreements.all()),
        )
    service.delete()


# -- calendars (service hours) -----------------------------------------------------------------------
CALENDAR_FIELDS = {"name", "time_zone", "always_open"}

# The rows of a calendar as callers give them: mappings with these keys.
OPENING_FIELDS = ("weekday", "opens", "closes")
HOLIDAY_FIELDS = ("date", "name")
EXCEPTION_FIELDS = ("date", "opens", "closes", "reason")

Rows = Iterable[Mapping[str, Any]]


def _row_instances(
    model: type[models.Model], calendar: Calendar, rows: Rows, fields: tuple[str, ...], label: str
) -> list:
    """The rows as unsaved, field-validated instances; errors name the row and its field."""
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
        raise ValidationError({label: "expected a list of rows"})
    built = []
    for index, row in enumerate(rows, start=1):
        where = f"row {index}: "
        if not isinstance(row, Mapping):
            raise ValidationError({label: f"{where}expected an object with {', '.join(fields)}"})
        unknown = sorted(set(row) - set(fields))
        if unknown:
            raise ValidationError(
                {label: f"{where}unknown field(s) {', '.join(map(str, unknown))}"}
            )
        values = dict(row)
        # A time column cannot hold 24:00; 00:00 as a closing time means the same midnight.
        if isinstance(values.get("closes"), str) and values["closes"].strip() == "24:00":
            values["closes"] = time(0)
        instance = model(calendar=calendar, **values)
        try:
            refuse_nul(instance)
            instance.full_clean(
                exclude=["calendar"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            messages = [
                f"{where}{field_name}: {message}"
                for field_name, field_messages in exc.message_dict.items()
                for message in field_messages
            ]
            raise ValidationError({label: messages}) from None
        built.append(instance)
    return built


def _check_hours(
    calendar: Calendar,
    opening: list[OpeningHours],
    holidays: list[Holiday],
    exceptions: list[CalendarException],
) -> None:
    """The rows together must make service hours the engine can compute deadlines with; its
    explanations (overlaps, a week without hours, a date both holiday and exception) become the
    error of the part at fault."""
    try:
        ServiceHours.always(calendar.time_zone)
    except ValueError as exc:
        raise ValidationError({"time_zone": str(exc)}) from None
    weekly: dict[int, list[tuple[time, time]]] = {}
    for row in opening:
        weekly.setdefault(row.weekday, []).append((row.opens, row.closes))
    # A 24x7 calendar ignores its weekly hours, so it needs none.
    if weekly or not calendar.always_open:
        try:
            ServiceHours(calendar.time_zone, weekly)
        except ValueError as exc:
            raise ValidationError({"opening_hours": str(exc)}) from None
    seen: set[date] = set()
    for holiday in holidays:
        if holiday.date in seen:
            raise ValidationError({"holidays": f"{holiday.date} is given twice"})
        seen.add(holiday.date)
    by_date: dict[date, list[tuple[time, time]]] = {}
    for row in exceptions:
        by_date.setdefault(row.date, []).append((row.opens, row.closes))
    try:
        ServiceHours.always(calendar.time_zone, seen, by_date)
    except ValueError as exc:
        raise ValidationError({"exceptions": str(exc)}) from None


def check_calendar(calendar: Calendar) -> None:
    """The calendar's own fields (its rows are checked by `check_calendar_rows`)."""
    refuse_nul(calendar)
    unique_per_provider(calendar, "name", "calendar")
    calendar.full_clean()
    try:
        ServiceHours.always(calendar.time_zone)
    except ValueError as exc:
        raise ValidationError({"time_zone": str(exc)}) from None


def check_calendar_rows(
    calendar: Calendar,
    *,
    opening_hours: Rows | None = None,
    holidays: Rows | None = None,
    exceptions: Rows | None = None,
) -> tuple[list[OpeningHours], list[Holiday], list[CalendarException]]:
    """Check `calendar` with the rows given (the stored ones for a list left out) as the service
    hours they make together; the rows given come back as unsaved instances. The calendar's own
    fields are `check_calendar`'s."""
    parts = []
    for given, model, fields, name in (
        (opening_hours, OpeningHours, OPENING_FIELDS, "opening_hours"),
        (holidays, Holiday, HOLIDAY_FIELDS, "holidays"),
        (exceptions, CalendarException, EXCEPTION_FIELDS, "exceptions"),
    ):
        if given is None and calendar.pk is not None:
            parts.append(list(getattr(calendar, name).all()))
        else:
            parts.append(_row_instances(model, calendar, given or (), fields, name))
    _check_hours(calendar, *parts)
    return parts[0], parts[1], parts[2]


@transaction.atomic
def save_calendar(
    calendar: Calendar,
    *,
    opening_hours: Rows | None = None,
    holidays: Rows | None = None,
    exceptions: Rows | None = None,
) -> Calendar:
    """Validate and save `calendar`. Each list of rows given replaces the calendar's rows of that
    kind as a whole; a list left out (None) keeps what is stored. The result is checked as one
    set of service hours."""
    stored = calendar.pk is not None
    given = {"opening_hours": opening_hours, "holidays": holidays, "exceptions": exceptions}
    check_calendar(calendar)
    parts = check_calendar_rows(calendar, **given)
    calendar.save()
    for (name, rows), instances, manager in zip(
        given.items(),
        parts,
        (OpeningHours.objects, Holiday.objects, CalendarException.objects),
        strict=True,
    ):
        if rows is None and stored:
            continue
        manager.filter(calendar=calendar).delete()
        for instance in instances:
            instance.calendar = calendar
        manager.bulk_create(instances)
        _forget_prefetched(calendar, name)
    return calendar


def create_calendar(
    provider: Provider,
    name: str,
    *,
    time_zone: str = "UTC",
    always_open: bool = False,
    opening_hours: Rows = (),
    holidays: Rows = (),
    exceptions: Rows = (),
) -> Calendar:
    """A calendar with its weekly opening hours ({weekday 0-6 from Monday, opens, closes}, "HH:MM"
    wall-clock times in `time_zone`, closes 24:00 or 00:00 for midnight), holidays ({date, name})
    and exceptions ({date, opens, closes, reason}: hours replacing the week's on that date)."""
    return save_calendar(
        Calendar(provider=provider, name=name, time_zone=time_zone, always_open=always_open),
        opening_hours=opening_hours,
        holidays=holidays,
        exceptions=exceptions,
    )


def update_calendar(
    calendar: Calendar,
    *,
    opening_hours: Rows | None = None,
    holidays: Rows | None = None,
    exceptions: Rows | None = None,
    **changes,
) -> Calendar:
    apply_changes(calendar, changes, CALENDAR_FIELDS)
    return save_calendar(
        calendar, opening_hours=opening_hours, holidays=holidays, exceptions=exceptions
    )


@transaction.atomic
def add_holiday(calendar: Calendar, day: date | str, name: str = "") -> Holiday:
    """Close the service on `day`. Deadlines are computed from the rows as they are now, so a
    call's deadline recomputed after this moves past the holiday."""
    holiday = Holiday(calendar=calendar, date=day, name=name)
    refuse_nul(holiday)
    holiday.full_clean(exclude=["calendar"], validate_unique=False, validate_constraints=False)
    if calendar.holidays.filter(date=holiday.date).exists():
        raise ValidationError({"date": f"{holiday.date} is already a holiday"})
    try:
        _check_hours(
            calendar,
            list(calendar.opening_hours.all()),
            [*calendar.holidays.all(), holiday],
            list(calendar.exceptions.all()),
        )
    except ValidationError as exc:
        # Only the new date can be at fault: the stored rows passed this check when saved.
        raise ValidationError({"date": exc.messages}) from None
    holiday.save()
    _forget_prefetched(calendar, "holidays")
    return holiday


@transaction.atomic
def remove_holiday(holiday: Holiday) -> None:
    holiday.delete()
    _forget_prefetched(holiday.calendar, "holidays")


@transaction.atomic
def delete_calendar(calendar: Calendar) -> None:
    """Agreements keep their calendar (PROTECT): one still in use is refused."""
    calendar.delete()


# -- agreements and their norms ----------------------------------------------------------------------
AGREEMENT_FIELDS = {
    "kind",
    "code",
    "name",
    "customer",
    "team",
    "calendar",
    "valid_from",
    "valid_until",
    "status",
}
NORM_FIELDS = ("call_type", "priority", "response", "resolution", "unit", "basis")


def check_agreement(agreement: Agreement, services: Iterable[Service] | None = None) -> None:
    """Everything an agreement must satisfy, all errors at once: the party fits the kind (a
    customer for an SA, an internal team for an OLA, a supplier for a UC), the period does not
    end before it starts, and the party, calendar and services are the provider's own."""
    refuse_nul(agreement)
    errors: dict[str, list[str]] = {}
    try:
        unique_per_provider(agreement, "code", "agreement")
    except ValidationError as exc:
        _merge(errors, exc)
    for field_name in ("customer", "team", "calendar"):
        if getattr(agreement, f"{field_name}_id") is None:
            continue
        if getattr(agreement, field_name).provider_id != agreement.provider_id:
            errors.setdefault(field_name, []).append("belongs to another provider")
    foreign = [str(s) for s in services or () if s.provider_id != agreement.provider_id]
    if foreign:
        errors.setdefault("services", []).append(
            f"belong to another provider: {', '.join(foreign)}"
        )
    try:
        agreement.full_clean(exclude=[name for name in errors if name != "services"])
    except ValidationError as exc:
        _merge(errors, exc)
    if errors:
        raise ValidationError(errors)


def check_norm(norm: Norm) -> None:
    """A norm's own rules: a priority the call register can give, targets of at most a year, and
    a resolution no sooner than the response."""
    errors: dict[str, list[str]] = {}
    try:
        norm.full_clean(exclude=["agreement"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        _merge(errors, exc)
    if "priority" not in errors and not 1 <= norm.priority <= MAX_PRIORITY:
        errors["priority"] = [f"must be a priority from 1 (highest) to {MAX_PRIORITY}"]
    if not errors.keys() & {"response", "resolution", "unit"}:
        limit = MAX_TARGET[TargetUnit(norm.unit)]
        for field_name in ("response", "resolution"):
            if getattr(norm, field_name) > limit:
                errors[field_name] = [f"at most {limit} {norm.unit} (a year)"]
        if "response" not in errors and norm.resolution < norm.response:
            errors["resolution"] = ["cannot be shorter than the response target"]
    if errors:
        raise ValidationError(errors)


def _norm_instances(agreement: Agreement, norms: Rows) -> list[Norm]:
    if isinstance(norms, str | bytes | Mapping) or not isinstance(norms, Iterable):
        raise ValidationError({"norms": "expected a list of norms"})
    built, seen = [], set()
    for index, row in enumerate(norms, start=1):
        where = f"norm {index}: "
        if not isinstance(row, Mapping):
            raise ValidationError(
                {"norms": f"{where}expected an object with {', '.join(NORM_FIELDS)}"}
            )
        unknown = sorted(set(row) - set(NORM_FIELDS))
        if unknown:
            raise ValidationError(
                {"norms": f"{where}unknown field(s) {', '.join(map(str, unknown))}"}
            )
        norm = Norm(agreement=agreement, **row)
        try:
            check_norm(norm)
        except ValidationError as exc:
            messages = [
                f"{where}{field_name}: {message}"
                for field_name, field_messages in exc.message_dict.items()
                for message in field_messages
            ]
            raise ValidationError({"norms": messages}) from None
        key = (norm.call_type, norm.priority)
        if key in seen:
            raise ValidationError(
                {"norms": f"{where}{norm.call_type} priority {norm.priority} is given twice"}
            )
        seen.add(key)
        built.append(norm)
    return built


def _snapshot(agreement: Agreement) -> dict[str, Any]:
    return {
        "id": agreement.pk,
        "kind": agreement.kind,
        "code": agreement.code,
        "name": agreement.name,
        "status": agreement.status,
        "customer_id": agreement.customer_id,
        "team_id": agreement.team_id,
        "calendar_id": agreement.calendar_id,
        "valid_from": agreement.valid_from.isoformat(),
        "valid_until": agreement.valid_until.isoformat() if agreement.valid_until else None,
        "version": agreement.version,
    }


def _current(agreement: Agreement, read_version: int) -> Agreement:
    current = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if current.version != read_version:
        raise StaleUpdate(f"agreement '{current.code}'", current.version, _snapshot(current))
    return current


@transaction.atomic
def save_agreement(
    agreement: Agreement,
    read_version: int | None = None,
    *,
    services: Iterable[Service] | None = None,
    norms: Rows | None = None,
) -> Agreement:
    """Validate and save `agreement` (new, or changed in memory by the caller, who read it at
    `read_version`). `services` and `norms`, when given, replace the covered services and the
    norms ({call_type, priority, response, resolution, unit, basis}); a norm for the same call
    type and priority keeps its row."""
    if agreement.pk is not None:
        if read_version is None:
            raise ValidationError({"version": "name the version you read"})
        _current(agreement, read_version)
    covered = None if services is None else list(dict.fromkeys(services))
    check_agreement(agreement, covered)
    new_norms = None if norms is None else _norm_instances(agreement, norms)
    if agreement.pk is None:
        agreement.version = 1
    else:
        # The conditional update is the guard where SELECT ... FOR UPDATE locks nothing (SQLite).
        claimed = Agreement.objects.filter(pk=agreement.pk, version=read_version).update(
            version=read_version + 1
        )
        if not claimed:
            _current(agreement, read_version)
        agreement.version = read_version + 1
    agreement.save()
    if covered is not None:
        agreement.services.set(covered)
        _forget_prefetched(agreement, "services")
    if new_norms is not None:
        _replace_norms(agreement, new_norms)
    return agreement


def _replace_norms(agreement: Agreement, new_norms: list[Norm]) -> None:
    stored = {(n.call_type, n.priority): n for n in Norm.objects.filter(agreement=agreement)}
    kept = []
    for norm in new_norms:
        existing = stored.pop((norm.call_type, norm.priority), None)
        if existing is not None:
            norm.pk = existing.pk
        norm.agreement = agreement
        norm.save()
        kept.append(norm.pk)
    Norm.objects.filter(agreement=agreement).exclude(pk__in=kept).delete()
    _forget_prefetched(agreement, "norms")


def create_agreement(
    provider: Provider,
    kind: str,
    code: str,
    name: str,
    *,
    calendar: Calendar,
    valid_from: date,
    valid_until: date | None = None,
    customer: Customer | None = None,
    team: Team | None = None,
    status: str = AgreementStatus.ACTIVE,
    services: Iterable[Service] = (),
    norms: Rows = (),
) -> Agreement:
    agreement = Agreement(
        provider=provider,
        kind=kind,
        code=code,
        name=name,
        calendar=calendar,
        valid_from=valid_from,
        valid_until=valid_until,
        customer=customer,
        team=team,
        status=status,
    )
    return save_agreement(agreement, services=services, norms=norms)


def update_agreement(
    agreement: Agreement,
    version: int,
    *,
    services: Iterable[Service] | None = None,
    norms: Rows | None = None,
    **changes,
) -> Agreement:
    """Change the agreement read at `version`; `StaleUpdate` when it has moved on since. Every
    successful update, norms and services included, increments the version."""
    apply_changes(agreement, changes, AGREEMENT_FIELDS)
    return save_agreement(agreement, version, services=services, norms=norms)


@transaction.atomic
def delete_agreement(agreement: Agreement, version: int | None = None) -> None:
    """Remove an agreement (and its norms). One that calls were registered under is refused: it
    set their deadlines. `version`, when given, must still be current."""
    if version is not None:
        _current(agreement, version)
    agreement.delete()


# -- matrices ----------------------------------------------------------------------------------------
@transaction.atomic
def set_matrix(
    provider: Provider,
    kind: MatrixKind | str,
    cells: Mapping[tuple[int, int], int] | Iterable[object],
) -> dict[tuple[int, int], int]:
    """Replace the provider's priority or risk matrix. `cells` maps (row, column) to the result,
    or lists (row, column, result) triples or {row, column, result} objects; see
    `matrices.checked_cells` for what makes a matrix usable."""
    kind = matrices.matrix_kind(kind)
    checked = matrices.checked_cells(kind, cells)
    MatrixCell.objects.filter(provider=provider, matrix=kind).delete()
    MatrixCell.objects.bulk_create(
        MatrixCell(provider=provider, matrix=kind, row=row, column=column, result=result)
        for (row, column), result in sorted(checked.items())
    )
    return checked


@transaction.atomic
def set_matrix_cell(
    provider: Provider, kind: MatrixKind | str, row: int, column: int, result: int
) -> MatrixCell:
    """Change the result of one cell, if the matrix stays usable with it. A provider still on
    the default gets the default with this change as its own matrix."""
    kind = matrices.matrix_kind(kind)
    cells, configured = queries.matrix(provider, kind)
    cells[row, column] = result
    checked = matrices.checked_cells(kind, cells)
    if not configured:
        set_matrix(provider, kind, checked)
    cell = MatrixCell.objects.get(provider=provider, matrix=kind, row=row, column=column)
    cell.result = result
    cell.save(update_fields=["result"])
    return cell


@transaction.atomic
def install_default_matrices(provider: Provider) -> None:
    """Write the default priority and risk matrices (see `matrices`) for the provider, replacing
    any it had, so they can be read and edited as its own."""
    for kind in MatrixKind:
        set_matrix(provider, kind, matrices.default_cells(kind))
