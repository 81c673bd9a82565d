"""The process-control pages: the dashboard, the download of the event log and the monthly
service report. Staff only (a customer's user gets 403); every row read goes through the scoping
rule."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.http import Http404
from django.shortcuts import render

from usm.api.scoping import scoped
from usm.control import charts, sources
from usm.control.conformance import conformance
from usm.control.exports.api import ocel_json_download, ocel_sqlite_download, xes_download
from usm.control.forms import ExportForm, PeriodForm
from usm.control.kpis import kpis
from usm.control.reports import Month, service_report
from usm.control.side_by_side import side_by_side
from usm.model import reference_model
from usm.web.access import staff_required

# Deviations listed on the dashboard; the command line lists them all.
DEVIATIONS_SHOWN = 20


@staff_required
def dashboard(request):
    return _dashboard(request, PeriodForm(request.GET or None))


@staff_required
def export(request):
    """The event log as a file, as the export form of the dashboard asks for it: the API's
    download for a signed-in user. Filters that cannot be used show the dashboard again, with
    the reasons beside them, as a 400."""
    form = ExportForm(request.GET, user=request.user)
    if not form.is_valid():
        return _dashboard(request, PeriodForm(), export_form=form, status=400)
    chosen = form.cleaned_data
    if chosen["format"] == "xes":
        return xes_download(chosen["selection"], all_events=chosen["all_events"])
    if chosen["format"] == "ocel-json":
        return ocel_json_download(chosen["selection"])
    return ocel_sqlite_download(chosen["selection"])


def _dashboard(request, form: PeriodForm, *, export_form: ExportForm | None = None, status=200):
    period = form.period()
    calls, events = sources.visible(request.user)
    figures, checked = side_by_side(
        lambda: kpis(calls, events, period, kept_for=sources.whole_log_of(request.user)),
        lambda: conformance(calls, events, period, limit=DEVIATIONS_SHOWN),
    )
    shown_end = period.end - timedelta(microseconds=1)
    if export_form is None:
        # The download offers the period shown, as dates: workflows registered in it.
        days = {"from": period.start.date().isoformat(), "to": shown_end.date().isoformat()}
        export_form = ExportForm(user=request.user, initial=days)
    return render(
        request,
        "control/dashboard.html",
        {
            "form": form,
            "period": period,
            "shown_end": shown_end,
            "figures": figures,
            "totals": figures["totals"],
            "conformance": checked,
            "processes": _with_conformance(figures["processes"], checked["processes"], "process"),
            "workflows": _with_conformance(figures["workflows"], checked["workflows"], "workflow"),
            "charts": _charts(figures, checked),
            "breaches": _recent_breaches(events, period),
            "reports": _report_links(request.user, period),
            "export_form": export_form,
        },
        status=status,
    )


def _with_conformance(rows: list[dict], checked: list[dict], key: str) -> list[dict]:
    rates = {row[key]: row for row in checked}
    return [{**row, "conformance": rates.get(row[key])} for row in rows]


def _charts(figures: dict, checked: dict) -> dict:
    agreements = figures["agreements"]
    # The verb is short enough for a chart label: "CTM Agree".
    verbs = {code: process.verb for code, process in reference_model().processes.items()}
    return {
        "conformance": charts.bar_chart(
            [
                charts.Bar(
                    f"{p['process']} {verbs[p['process']]}", p["rate"], charts.rate_tone(p["rate"])
                )
                for p in checked["processes"]
            ],
            title="Conformance rate per process",
            scale=1.0,
            shown=charts.percent,
        ),
        "intake": charts.bar_chart(
            [
                charts.Bar(f"{p['process']} {verbs[p['process']]}", p["intake"])
                for p in figures["processes"]
            ],
            title="Intake per process",
        ),
        "resolution": charts.bar_chart(
            [
                charts.Bar(
                    f"{a['kind']} {a['name']}",
                    a["resolution"]["rate"],
                    charts.rate_tone(a["resolution"]["rate"]),
                )
                for a in agreements
            ],
            title="Resolution in time per agreement",
            scale=1.0,
            shown=charts.percent,
        )
        if agreements
        else "",
    }


def _recent_breaches(events, period, shown: int = 15) -> list:
    return list(
        events.filter(kind="deadline_breached", at__gte=period.start, at__lt=period.end)
        .select_related("call", "call__customer", "call__agreement")
        .order_by("-at", "-pk")[:shown]
    )


def _report_links(user, period) -> list[dict]:
    """A report per customer with a service agreement, for the month the period ends in and
    the month before it."""
    from usm.agreements.models import Agreement

    last = (period.end - timedelta(microseconds=1)).astimezone(UTC)
    earlier = last.replace(day=1) - timedelta(days=1)
    months = [
        {"slug": str(month), "label": month.label()}
        for month in (Month(last.year, last.month), Month(earlier.year, earlier.month))
    ]
    customers = {}
    for agreement in scoped(user, Agreement.objects.filter(kind="SA")).select_related("customer"):
        customers.setdefault(agreement.customer.code, agreement.customer)
    return [
        {"customer": customer, "months": months}
        for _, customer in sorted(customers.items(), key=lambda item: item[1].name)
    ]


@staff_required
def report(request, customer: str, month: str):
    from django.core.exceptions import ValidationError

    from usm.organisation.models import Customer

    found = scoped(request.user, Customer.objects.filter(code=customer)).first()
    if found is None:
        raise Http404("no such customer")
    try:
        chosen = Month.parse(month)
        content = service_report(found, chosen, agreement=request.GET.get("agreement") or None)
    except ValidationError as error:
        raise Http404("; ".join(error.messages)) from None
    return render(request, "control/report.html", content)
