"""/api/v1/control/exports: the event log as a download, with the filters of `usm export`, for
the provider's staff (like the rest of process control; a customer's user gets 403).

XES and OCEL JSON are streamed as they are written, so a download of any size starts at once
and takes the server the memory of one chunk. An OCEL SQLite database cannot be streamed while
it is built: it is written to a temporary file first, which is sent and then removed.

The responses are made by `xes_download`, `ocel_json_download` and `ocel_sqlite_download`; the
dashboard's download (`usm.control.views.export`) sends its files through them as well.
"""

# No `from __future__ import annotations`: django-ninja reads the parameter annotations at import.
import os
import tempfile
from typing import Literal

from django.http import FileResponse, StreamingHttpResponse
from ninja import Query, Router

from usm.api.crud import require_staff
from usm.api.scoping import provider_id_of
from usm.control.exports.ocel import ocel_json_text, write_ocel_sqlite
from usm.control.exports.selection import Selection, selection_of
from usm.control.exports.xes import xes_text
from usm.organisation.models import Provider

router = Router(tags=["control"])


def _selection(request, start, end, process, customer) -> Selection:
    provider_id = provider_id_of(request.auth)
    require_staff(request, "export the event log")
    provider = Provider.objects.get(pk=provider_id)
    return selection_of(provider, start=start, end=end, process=process, customer=customer)


def _name(selection: Selection, suffix: str) -> str:
    return f"usm-{selection.provider.slug}.{suffix}"


def _attachment(response, name: str):
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def xes_download(selection: Selection, *, all_events: bool = False) -> StreamingHttpResponse:
    """The selection as an XES file, streamed while it is written."""
    stream = xes_text(selection, all_events=all_events)
    response = StreamingHttpResponse(stream, content_type="application/xml; charset=utf-8")
    return _attachment(response, _name(selection, "xes"))


def ocel_json_download(selection: Selection) -> StreamingHttpResponse:
    """The selection as an OCEL 2.0 JSON file, streamed while it is written."""
    stream = ocel_json_text(selection)
    response = StreamingHttpResponse(stream, content_type="application/json")
    return _attachment(response, _name(selection, "jsonocel"))


def ocel_sqlite_download(selection: Selection) -> FileResponse:
    """The selection as an OCEL 2.0 SQLite database, built in a temporary file first."""
    descriptor, name = tempfile.mkstemp(prefix="usm-ocel-", suffix=".sqlite")
    os.close(descriptor)
    try:
        write_ocel_sqlite(name, selection)
        database = open(name, "rb")  # noqa: SIM115 - FileResponse closes it once sent
    finally:
        # The open file stays readable; its name is gone, so nothing is left behind.
        os.unlink(name)
    response = FileResponse(database, content_type="application/vnd.sqlite3")
    return _attachment(response, _name(selection, "sqlite"))


FROM = Query(None, alias="from", description="Workflows registered from this ISO date/date-time")
TO = Query(None, alias="to", description="... up to this one (a date includes that whole day)")
PROCESS = Query(None, description="Only workflows entering CTM, CHM, INC, OPS or IMP")
CUSTOMER = Query(None, description="Only workflows of this customer (its code)")


@router.get(
    "/xes",
    summary="The event log as IEEE 1849 XES: one trace per workflow",
    openapi_extra={"responses": {200: {"content": {"application/xml": {}}}}},
)
def download_xes(
    request,
    start: str | None = FROM,
    end: str | None = TO,
    process: str | None = PROCESS,
    customer: str | None = CUSTOMER,
    all_events: bool = Query(False, description="Every logged change, not only the steps"),
):
    selection = _selection(request, start, end, process, customer)
    return xes_download(selection, all_events=all_events)


@router.get(
    "/ocel",
    summary="The event log as OCEL 2.0, JSON or SQLite",
    openapi_extra={
        "responses": {200: {"content": {"application/json": {}, "application/vnd.sqlite3": {}}}}
    },
)
def download_ocel(
    request,
    start: str | None = FROM,
    end: str | None = TO,
    process: str | None = PROCESS,
    customer: str | None = CUSTOMER,
    format: Literal["json", "sqlite"] = Query("json", description="json or sqlite"),
):
    selection = _selection(request, start, end, process, customer)
    if format == "json":
        return ocel_json_download(selection)
    return ocel_sqlite_download(selection)
