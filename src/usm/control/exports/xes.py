"""The event log as IEEE 1849 XES: one trace per workflow (named by the call that accepted it),
one event per completed step, in the order the steps were done across all the workflow's calls.

The file is written while the log is read, one workflow at a time, so a log of any size needs the
memory of one chunk of rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TextIO

from django.db.models import Q
from django.utils import timezone

from usm.control.exports.activities import activity
from usm.control.exports.selection import CHUNK_SIZE, Selection, snapshot

EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
)
CLASSIFIERS = (
    ("Activity", "concept:name"),
    ("Activity and transition", "concept:name lifecycle:transition"),
    ("Resource", "org:resource"),
)
# What an event says when no person acted (a deadline passed, a monitoring tool reported).
SYSTEM = "system"

# Characters XML 1.0 cannot carry at all, and those an attribute value must spell as references
# (a literal tab or newline in an attribute would be read back as a space).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPECIAL = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_REFERENCES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


def escape(value: str) -> str:
    """`value` as the text of a double-quoted XML attribute."""
    if not _SPECIAL.search(value):
        return value
    return _NOT_XML.sub("\ufffd", value).translate(_REFERENCES)


# Names of people, profiles, teams and activities repeat on every event: escape each once.
_escape_name = lru_cache(maxsize=4096)(escape)


def timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def _string(key: str, value: str) -> str:
    return f'<string key="{key}" value="{escape(value)}"/>'


@dataclass(frozen=True)
class XesCounts:
    traces: int
    events: int


def _header(selection: Selection) -> str:
    provider = selection.provider
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">',
    ]
    lines += [
        f'  <extension name="{name}" prefix="{prefix}" uri="{uri}"/>'
        for name, prefix, uri in EXTENSIONS
    ]
    # Globals promise an attribute on every trace or event: only those that always have one.
    lines += [
        '  <global scope="trace">',
        '    <string key="concept:name" value="__INVALID__"/>',
        "  </global>",
        '  <global scope="event">',
        '    <string key="concept:name" value="__INVALID__"/>',
        '    <string key="lifecycle:transition" value="complete"/>',
        '    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>',
        f'    <string key="org:resource" value="{SYSTEM}"/>',
        '    <string key="usm:process" value="__INVALID__"/>',
        '    <string key="usm:call" value="__INVALID__"/>',
        '    <int key="usm:attempt" value="1"/>',
        "  </global>",
    ]
    lines += [f'  <classifier name="{name}" keys="{keys}"/>' for name, keys in CLASSIFIERS]
    lines += [
        "  " + _string("concept:name", f"USM event log of {provider.name}"),
        "  " + _string("lifecycle:model", "standard"),
        "  " + _string("usm:provider", provider.slug),
        "  " + _string("usm:selection", selection.describe()),
        f'  <date key="usm:exported_at" value="{timestamp(timezone.now())}"/>',
    ]
    return "\n".join(lines) + "\n"


def _trace_start(number: str, workflow: int | None, customer: str | None, service: str | None):
    parts = ["  <trace>\n    ", _string("concept:name", number), "\n"]
    if workflow is not None:
        parts.append(f'    <int key="usm:workflow" value="{workflow}"/>\n')
    if customer is not None:
        parts += ["    ", _string("usm:customer", customer), "\n"]
    if service is not None:
        parts += ["    ", _string("usm:service", service), "\n"]
    return "".join(parts)


FIELDS = (
    "root_id",
    "root__number",
    "root__workflow",
    "root__customer__code",
    "root__service__code",
    "call__number",
    "kind",
    "process",
    "step",
    "attempt",
    "outcome",
    "status",
    "actor__username",
    "profile__name",
    "team__name",
    "at",
)


def write_xes(
    out: TextIO, selection: Selection, *, all_events: bool = False, chunk_size: int = CHUNK_SIZE
) -> XesCounts:
    """Write the selected workflows to `out` as XES. By default the events are the completed
    steps (what a discovered model should be made of); `all_events` adds every other change the
    log records (forks, resumes, status changes, repeats, holds, breaches ...), named by what
    happened and with `usm:kind` saying which."""
    kinds = Q() if all_events else Q(kind="step_completed")
    rows = (
        selection.events(kinds)
        .order_by("root_id", "at", "id")
        .values_list(*FIELDS)
        .iterator(chunk_size=chunk_size)
    )
    traces = events = 0
    current_root = None
    write = out.write
    with snapshot():
        write(_header(selection))
        for (
            root_id,
            root_number,
            workflow,
            customer,
            service,
            call_number,
            kind,
            process,
            step,
            attempt,
            outcome,
            status,
            username,
            profile,
            team,
            at,
        ) in rows:
            if root_id != current_root:
                if current_root is not None:
                    write("  </trace>\n")
                write(_trace_start(root_number, workflow, customer, service))
                current_root = root_id
                traces += 1
            parts = [
                '    <event>\n      <string key="concept:name" value="',
                _escape_name(activity(kind, process, step, status)),
                '"/>\n      <string key="lifecycle:transition" value="complete"/>\n'
                '      <date key="time:timestamp" value="',
                timestamp(at),
                '"/>\n      <string key="org:resource" value="',
                _escape_name(username) if username else SYSTEM,
                '"/>\n',
            ]
            if profile:
                parts += ['      <string key="org:role" value="', _escape_name(profile), '"/>\n']
            if team:
                parts += ['      <string key="org:group" value="', _escape_name(team), '"/>\n']
            parts += [
                '      <string key="usm:process" value="',
                _escape_name(process),
                '"/>\n      <string key="usm:call" value="',
                escape(call_number),
                '"/>\n',
            ]
            if step:
                parts += ['      <string key="usm:step" value="', escape(step), '"/>\n']
            parts += ['      <int key="usm:attempt" value="', str(attempt), '"/>\n']
            if outcome:
                parts += ['      <string key="usm:outcome" value="', escape(outcome), '"/>\n']
            if all_events:
                parts += ['      <string key="usm:kind" value="', _escape_name(kind), '"/>\n']
                if status:
                    parts += [
                        '      <string key="usm:status" value="',
                        _escape_name(status),
                        '"/>\n',
                    ]
            parts.append("    </event>\n")
            write("".join(parts))
            events += 1
        if current_root is not None:
            write("  </trace>\n")
        write("</log>\n")
    return XesCounts(traces=traces, events=events)
