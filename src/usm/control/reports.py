"""The monthly service report: what a customer got under each of its service agreements in one
calendar month, with the SLA figures the agreement promises.

The month is the one of the agreement's own calendar (its service hours' time zone): a customer
in Amsterdam reads "October" as October in Amsterdam. Like every figure of process control, the
report is read from the register and the event log each time it is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from usm.agreements.choices import CallType
from usm.calls.models import Call, CallEvent
from usm.control import charts
from usm.control.kpis import DEADLINES, DONE_FIELD, open_at, sla_compliance
from usm.control.measures import distribution, seconds_between
from usm.control.periods import Period

# The calls listed by name as late; the counts above them cover every one.
LATE_LISTED = 50


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-10` (what the user typed) as a month; anything else is a clear error."""
        try:
            year, month = (int(part) for part in text.strip().split("-"))
        except ValueError:
            raise ValidationError({"month": f"'{text}' is not a month like 2026-10"}) from None
        if not 1 <= month <= 12 or not 1970 <= year <= 8999:
            raise ValidationError({"month": f"'{text}' is not a month like 2026-10"})
        return cls(year, month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def label(self) -> str:
        return self.first_day.strftime("%B %Y")

    def period(self, zone: str) -> Period:
        return Period.month(self.year, self.month, zone)


def agreements_of(customer, month: Month, code: str | None = None) -> list:
    """The customer's service agreements in force at some time in `month` (or the one named by
    `code`, which must be the customer's SA)."""
    from usm.agreements.models import Agreement

    found = Agreement.objects.filter(provider_id=customer.provider_id, customer=customer, kind="SA")
    if code is not None:
        # A code no agreement can have (PostgreSQL would refuse the NUL in the query) is unknown.
        named = None if "\x00" in code else found.filter(code=code).first()
        if named is None:
            raise ValidationError(
                {"agreement": f"'{code}' is not a service agreement of {customer.name}"}
            )
        return [named]
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return list(
        found.filter(valid_from__lt=following)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=month.first_day))
        .select_related("calendar")
        .prefetch_related("services")
        .order_by("name")
    )


def _in(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


def _by_call_type(calls: QuerySet[Call]) -> dict[str, int]:
    return dict(calls.order_by().values_list("call_type").annotate(n=Count("pk")))


def _late(calls: QuerySet[Call], period: Period, as_of: datetime) -> list[dict]:
    """The calls whose deadline fell in the period and was missed, earliest deadline first."""
    rows = []
    for which in DEADLINES:
        due, done = f"{which}_due", DONE_FIELD[which]
        missed = (
            calls.exclude(status="aborted")
            .filter(_in(period, due))
            .filter(
                Q(**{f"{done}__gt": F(due)}) | Q(**{f"{done}__isnull": True, f"{due}__lt": as_of})
            )
        )
        for call in missed.order_by(due, "pk")[:LATE_LISTED]:
            rows.append(
                {
                    "number": call.number,
                    "summary": call.summary,
                    "priority": call.priority,
                    "deadline": which,
                    "due": getattr(call, due),
                    "done": getattr(call, done),
                }
            )
    rows.sort(key=lambda row: (row["due"], row["number"]))
    return rows[:LATE_LISTED]


def _agreement_section(agreement, month: Month, as_of: datetime) -> dict:
    period = month.period(agreement.calendar.time_zone)
    calls = Call.objects.filter(agreement=agreement)
    registered = calls.filter(_in(period, "created_at"))
    closed = calls.filter(_in(period, "closed_at"), status="closed")
    backlog = open_at(calls, min(period.end, as_of))
    overall = sla_compliance(calls, period, as_of, ("agreement_id",)).get(agreement.pk)
    per_priority = sla_compliance(calls, period, as_of, ("priority",))
    breaches = dict(
        CallEvent.objects.filter(
            _in(period, "at"), call__agreement=agreement, kind="deadline_breached"
        )
        .order_by()
        .values_list("outcome")
        .annotate(n=Count("pk"))
    )
    empty = {"met": 0, "missed": 0, "pending": 0, "rate": None}
    overall = overall or {which: dict(empty) for which in DEADLINES}
    priorities = [
        {"priority": priority, **per_priority[priority]}
        for priority in sorted(per_priority, key=lambda p: (p is None, p or 0))
    ]
    intake = _by_call_type(registered)
    lead = distribution(closed, seconds_between("created_at", "closed_at"))
    return {
        "agreement": agreement,
        "services": [service.name for service in agreement.services.all()],
        "period": period,
        "zone": agreement.calendar.time_zone,
        "intake": registered.count(),
        "closed": closed.count(),
        "backlog": backlog.count(),
        "intake_by_type": [
            {"call_type": label, "count": intake.get(value, 0)} for value, label in CallType.choices
        ],
        "lead_time": lead.as_dict(),
        "response": overall["response"],
        "resolution": overall["resolution"],
        "priorities": priorities,
        "breaches": {which: breaches.get(which, 0) for which in DEADLINES},
        "late": _late(calls, period, as_of),
        "charts": _charts(overall, priorities, intake),
    }


def _charts(overall: dict, priorities: list[dict], intake: dict) -> dict:
    compliance = []
    for which in DEADLINES:
        for row in priorities:
            rate = row[which]["rate"]
            compliance.append(
                charts.Bar(
                    f"{which.capitalize()}, priority {row['priority'] or '-'}",
                    rate,
                    charts.rate_tone(rate),
                )
            )
        if not priorities:
            rate = overall[which]["rate"]
            compliance.append(charts.Bar(which.capitalize(), rate, charts.rate_tone(rate)))
    types = [charts.Bar(label, intake.get(value, 0)) for value, label in CallType.choices]
    return {
        "compliance": charts.bar_chart(
            compliance, title="SLA compliance per priority", scale=1.0, shown=charts.percent
        ),
        "intake": charts.bar_chart(types, title="Calls registered per call type"),
    }


def service_report(customer, month: Month, *, agreement: str | None = None, as_of=None) -> dict:
    """Everything the monthly report of `customer` shows, one section per service agreement."""
    as_of = as_of or timezone.now()
    sections = [
        _agreement_section(a, month, as_of) for a in agreements_of(customer, month, agreement)
    ]
    return {
        "customer": customer,
        "month": month,
        "as_of": as_of,
        "sections": sections,
    }
