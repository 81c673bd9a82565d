"""Reading agreements for the call register: the service hours of a calendar, priority and risk
level from the provider's matrices, the agreement that applies to a call, and its deadlines.

Deadlines are always computed from the rows as they are now: what is kept in memory
(`configuration`) is dropped as soon as any of those rows changes, so a holiday added after a call
was opened moves the call's deadline the next time it is computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from usm.agreements import configuration, matrices
from usm.agreements.choices import AgreementKind, MatrixKind, TimeBasis
from usm.agreements.models import Agreement, Calendar, MatrixCell, Norm
from usm.engine.business_time import Clock, Pause, SlaClock, Target, Unit
from usm.engine.service_hours import ServiceHours
from usm.organisation.models import Customer, Provider

# A business-time target needing more weeks of the calendar than this (a calendar open a few
# minutes a week) is refused rather than walked week by week towards the year 9999.
MAX_WEEKS = 10 * 53


class Deadlines(NamedTuple):
    """When a call must have had a response and a resolution. None while an open pause (waiting
    on the requester) holds the clock."""

    response_due: datetime | None
    resolution_due: datetime | None


def service_hours(calendar: Calendar) -> ServiceHours:
    """The engine's view of a calendar, built from its rows as stored now. A 24x7 calendar
    ignores its weekly hours but keeps its holidays and exceptions."""
    if calendar.pk is None:
        return _build_service_hours(calendar)
    return configuration.of(calendar.provider_id).service_hours(
        calendar.pk, lambda: _build_service_hours(calendar)
    )


def _build_service_hours(calendar: Calendar) -> ServiceHours:
    holidays = [holiday.date for holiday in calendar.holidays.all()]
    exceptions: dict = {}
    for row in calendar.exceptions.all():
        exceptions.setdefault(row.date, []).append((row.opens, row.closes))
    try:
        if calendar.always_open:
            return ServiceHours.always(calendar.time_zone, holidays, exceptions)
        weekly: dict = {}
        for row in calendar.opening_hours.all():
            weekly.setdefault(row.weekday, []).append((row.opens, row.closes))
        return ServiceHours(calendar.time_zone, weekly, holidays, exceptions)
    except ValueError as exc:
        # Only rows written around the services get here; say which calendar to repair.
        raise ValidationError({"calendar": f"calendar '{calendar.name}': {exc}"}) from None


# -- matrices ----------------------------------------------------------------------------------------
def matrix(provider: Provider | int, kind: MatrixKind | str) -> tuple[matrices.Cells, bool]:
    """The provider's cells of one matrix and whether it set them (else: the default)."""
    provider_id = provider if isinstance(provider, int) else provider.pk
    kind = matrices.matrix_kind(kind)
    cells = configuration.of(provider_id).matrix_cells(kind)
    if cells:
        return dict(cells), True
    return matrices.default_cells(kind), False


def cells_of(rows: QuerySet[MatrixCell], kind: MatrixKind | str) -> tuple[matrices.Cells, bool]:
    """The cells of one matrix among `rows` (one provider's, or what a user may see), or the
    default when there are none, and whether they were found."""
    kind = matrices.matrix_kind(kind)
    cells = {(cell.row, cell.column): cell.result for cell in rows.filter(matrix=kind)}
    if cells:
        return cells, True
    return matrices.default_cells(kind), False


def _classify(provider: Provider, kind: MatrixKind, row: int, column: int) -> int:
    cells, _ = matrix(provider, kind)
    axes = matrices.AXES[kind]
    rows, columns = matrices.size(cells)
    for field_name, value, count in ((axes.row, row, rows), (axes.column, column, columns)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= count:
            raise ValidationError(
                {field_name: f"must be a level from 1 (highest) to {count} on the {kind} matrix"}
            )
    return cells[row, column]


def priority(provider: Provider, impact: int, urgency: int) -> int:
    """The priority (1 = highest) of impact x urgency on the provider's priority matrix."""
    return _classify(provider, MatrixKind.PRIORITY, impact, urgency)


def risk_level(provider: Provider, effect: int, likelihood: int) -> int:
    """The risk level (1 = highest) of effect x likelihood on the provider's risk matrix."""
    return _classify(provider, MatrixKind.RISK, effect, likelihood)


# -- the agreement that applies ----------------------------------------------------------------------
def _aware(instant: datetime, what: str) -> datetime:
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, not {instant!r}")
    return instant


def applicable_agreement(customer: Customer, service, at: datetime) -> Agreement | None:
    """The active SA between the provider and `customer` that covers `service` and is valid at
    `at`, or None.

    Validity dates are read in the agreement's own calendar zone: an SA valid from 1 January
    applies from midnight in Amsterdam when its service hours are Amsterdam's. When several
    apply, the one that started latest wins (it is the one that replaced the others), and of
    those starting the same day the one registered last.
    """
    found = _valid_service_agreements(customer.provider_id, service, at, customer.pk)
    return next(found, None)


def strictest_service_agreement(
    provider_id: int, service, call_type: str, priority: int, at: datetime
) -> Agreement | None:
    """For a call no customer raised (a failure seen by monitoring), the SA of whichever customer
    of `service` is promised the earliest resolution: the provider works to the most demanding
    promise it made for that service. None when no SA covers the service with a norm."""
    seen_customers, best, best_due = set(), None, None
    for agreement in _valid_service_agreements(provider_id, service, at):
        if agreement.customer_id in seen_customers:
            continue  # an older SA of a customer already counted has been replaced
        seen_customers.add(agreement.customer_id)
        due = deadlines(agreement, call_type, priority, at)
        if due is not None and (best_due is None or due.resolution_due < best_due):
            best, best_due = agreement, due.resolution_due
    return best


def _valid_service_agreements(
    provider_id: int, service, at: datetime, customer_id: int | None = None
) -> Iterator[Agreement]:
    """Active SAs of the provider (with `customer_id`, of that customer only) that cover
    `service` and are valid at `at`, latest first."""
    _aware(at, "at")
    for agreement in configuration.of(provider_id).agreements():
        if agreement.kind != AgreementKind.SA or service.pk not in agreement.service_ids:
            continue
        if customer_id is not None and agreement.customer_id != customer_id:
            continue
        if _valid_on(agreement, at.astimezone(ZoneInfo(agreement.calendar.time_zone)).date()):
            yield agreement


def team_agreements(provider_id: int, team_id: int, at: datetime) -> Iterator[Agreement]:
    """The active OLAs and UCs of an internal team or supplier valid on `at`'s day, latest
    first."""
    day = at.date()
    for agreement in configuration.of(provider_id).agreements():
        internal = agreement.kind in (AgreementKind.OLA, AgreementKind.UC)
        if internal and agreement.team_id == team_id and _valid_on(agreement, day):
            yield agreement


def _valid_on(agreement: Agreement, day: date) -> bool:
    return agreement.valid_from <= day and (
        agreement.valid_until is None or day <= agreement.valid_until
    )


def norm_for(agreement: Agreement, call_type: str, priority: int) -> Norm | None:
    """The agreement's norm for this call type and priority; None when it sets none."""
    return configuration.of(agreement.provider_id).norm(agreement.pk, call_type, priority)


# -- deadlines ---------------------------------------------------------------------------------------
def target(norm: Norm, which: str) -> Target:
    """The engine's target for the norm's `response` or `resolution`."""
    clock = Clock.CALENDAR if norm.basis == TimeBasis.CALENDAR else Clock.BUSINESS
    return Target(getattr(norm, which), Unit(norm.unit), clock)


def sla_clocks(
    agreement: Agreement,
    norm: Norm,
    opened_at: datetime,
    pauses: Iterable[Pause] = (),
) -> tuple[SlaClock, SlaClock]:
    """The response and resolution clocks of a call opened at `opened_at` under `norm`, held
    during `pauses` ((from, until) pairs, until None while still paused)."""
    _aware(opened_at, "opened_at")
    hours = service_hours(agreement.calendar)
    response = SlaClock(hours, opened_at, target(norm, "response"), tuple(pauses))
    resolution = response.with_target(target(norm, "resolution"))
    for clock in (response, resolution):
        _check_reachable(hours, clock.target)
    return response, resolution


def _check_reachable(hours: ServiceHours, wanted: Target) -> None:
    if wanted.clock is Clock.CALENDAR or wanted.unit is Unit.DAYS:
        return
    minutes = wanted.amount * (60 if wanted.unit is Unit.HOURS else 1)
    if timedelta(minutes=minutes) > hours.weekly_total * MAX_WEEKS:
        raise ValidationError(
            {"calendar": f"{wanted} would take more than {MAX_WEEKS} weeks of these service hours"}
        )


def deadlines(
    agreement: Agreement,
    call_type: str,
    priority: int,
    opened_at: datetime,
    pauses: Iterable[Pause] = (),
) -> Deadlines | None:
    """The response and resolution due times (UTC) of a call of `call_type` and `priority`
    opened at `opened_at` under `agreement`, the clock held during `pauses`; None when the
    agreement sets no norm for that call type and priority."""
    norm = norm_for(agreement, call_type, priority)
    if norm is None:
        return None
    try:
        response, resolution = sla_clocks(agreement, norm, opened_at, pauses)
        return Deadlines(response.deadline, resolution.deadline)
    except OverflowError:
        raise ValidationError(
            {"opened_at": "too close to the end (or start) of the calendar for a deadline"}
        ) from None
