"""The MIR as a file: CSV or JSON, with the columns of `usm.mir.importing`. An export of the whole
register imports back to the same register."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from usm.mir.formats import FORMATS
from usm.mir.importing import COLUMNS, ImportReport, RowError
from usm.mir.queries import register_state, without_version
from usm.mir.services import admin_import

# The JSON export names itself so that a reader can tell it from any other list of objects.
JSON_FORMAT = "usm-mir"
JSON_FORMAT_VERSION = 1


# A spreadsheet runs a cell starting with one of these as a formula, so a name someone typed as
# "=HYPERLINK(...)" would act when an administrator opens the export (CSV injection). The CSV
# export puts a quote in front of such a cell, which spreadsheets show as plain text, and the CSV
# import takes it off again: the round trip stays exact.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell_out(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell_in(value):
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


class ImportFileError(ValueError):
    """The file cannot be read as rows at all (as opposed to a row that is wrong)."""


def read_rows(content: bytes | str, file_format: str) -> list[Any]:
    if isinstance(content, bytes):
        try:
            # utf-8-sig: spreadsheet programs put a byte-order mark in front of a UTF-8 CSV.
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"is not UTF-8 text (byte {exc.start + 1})") from None
    content = content.removeprefix("\ufeff")
    if file_format == "json":
        return _json_rows(content)
    if file_format == "csv":
        return _csv_rows(content)
    raise ImportFileError(f"'{file_format}' is not a format; use {' or '.join(FORMATS)}")


def _json_rows(content: str) -> list[Any]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return data["items"]
    if not isinstance(data, list):
        raise ImportFileError('holds neither a list of items nor an object with an "items" list')
    return data


def _csv_rows(content: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        header = reader.fieldnames
        if not header:
            return []
        names = [name.strip() for name in header]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ImportFileError(f"the header names {', '.join(repeated)} more than once")
        if "identifier" not in names:
            raise ImportFileError("the header has no 'identifier' column")
        reader.fieldnames = names
        return [{name: _cell_in(value) for name, value in row.items()} for row in reader]
    except csv.Error as exc:
        raise ImportFileError(f"line {reader.line_num}: {exc}") from None


def import_file(
    provider,
    content: bytes | str,
    *,
    file_format: str,
    actor,
    batch: str,
    dry_run: bool = False,
) -> ImportReport:
    """Read and import a file through the administrator's door; an unreadable file is reported
    like a row, so every caller shows one kind of report."""
    try:
        rows = read_rows(content, file_format)
    except ImportFileError as exc:
        return ImportReport(batch=batch, dry_run=dry_run, errors=[RowError(None, "file", str(exc))])
    return admin_import(provider, rows, actor=actor, batch=batch, dry_run=dry_run)


def export_register(provider, file_format: str) -> str:
    """The provider's whole register as CSV or JSON text (sorted by identifier)."""
    items = [without_version(state) for _, state in sorted(register_state(provider).items())]
    if file_format == "json":
        document = {
            "format": JSON_FORMAT,
            "format_version": JSON_FORMAT_VERSION,
            "provider": provider.slug,
            "items": items,
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if file_format != "csv":
        raise ValueError(f"'{file_format}' is not a format; use {' or '.join(FORMATS)}")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for item in items:
        row = {
            **item,
            "owner": item["owner"] or "",
            "services": ";".join(item["services"]),
            # One JSON column keeps numbers, booleans and nesting exact through the round trip;
            # attr.<key> columns are for people filling in a sheet.
            "attributes": (
                json.dumps(item["attributes"], ensure_ascii=False, sort_keys=True)
                if item["attributes"]
                else ""
            ),
            "depends_on": ";".join(item["depends_on"]),
            "part_of": ";".join(item["part_of"]),
        }
        writer.writerow(
            {name: _cell_out(v) if isinstance(v, str) else v for name, v in row.items()}
        )
    return out.getvalue()
