"""The event log as IEEE 1849 XES: one trace per workflow (named by the call that accepted it),
one event per completed step, in the order the steps were done across all the workflow's calls.

The file is written while the log is read, one workflow at a time, so a log of any size needs the
memory of one chunk of rows.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from django.db.models import Q
from django.utils import timezone

from usm.control.exports.activities import activity
from usm.control.exports.files import write_all
from usm.control.exports.rows import chunks, timestamp_text, utc_millis
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
    "at_text",
)
# Fragments repeat across events (the same activity, person and attempt again and again); each is
# built once and looked up after. A cache is emptied when it grows this large, so that a log with
# unusually many distinct values still takes bounded memory.
FRAGMENTS_KEPT = 20_000


class _Fragments:
    """The text of an event, apart from its time and call, in three pieces keyed by the values
    each depends on."""

    def __init__(self, all_events: bool):
        self.all_events = all_events
        self.heads: dict[tuple, str] = {}
        self.middles: dict[tuple, str] = {}
        self.tails: dict[tuple, str] = {}

    def head(self, kind: str, process: str, step: str, status: str) -> str:
        text = (
            '    <event>\n      <string key="concept:name" value="'
            + escape(activity(kind, process, step, status))
            + '"/>\n      <string key="lifecycle:transition" value="complete"/>\n'
            '      <date key="time:timestamp" value="'
        )
        return _kept(self.heads, (kind, process, step, status), text)

    def middle(self, username: str | None, profile: str | None, team: str | None, process: str):
        parts = ['+00:00"/>\n      <string key="org:resource" value="']
        parts += [escape(username) if username else SYSTEM, '"/>\n']
        if profile:
            parts += ['      <string key="org:role" value="', escape(profile), '"/>\n']
        if team:
            parts += ['      <string key="org:group" value="', escape(team), '"/>\n']
        parts += ['      <string key="usm:process" value="', escape(process), '"/>\n']
        parts.append('      <string key="usm:call" value="')
        return _kept(self.middles, (username, profile, team, process), "".join(parts))

    def tail(self, step: str, attempt: int, outcome: str, kind: str, status: str) -> str:
        parts = ['"/>\n']
        if step:
            parts += ['      <string key="usm:step" value="', escape(step), '"/>\n']
        parts += ['      <int key="usm:attempt" value="', str(attempt), '"/>\n']
        if outcome:
            parts += ['      <string key="usm:outcome" value="', escape(outcome), '"/>\n']
        if self.all_events:
            parts += ['      <string key="usm:kind" value="', escape(kind), '"/>\n']
            if status:
                parts += ['      <string key="usm:status" value="', escape(status), '"/>\n']
        parts.append("    </event>\n")
        return _kept(self.tails, (step, attempt, outcome, kind, status), "".join(parts))


def _kept(cache: dict, key: tuple, text: str) -> str:
    if len(cache) >= FRAGMENTS_KEPT:
        cache.clear()
    cache[key] = text
    return text


def write_xes(
    out: TextIO, selection: Selection, *, all_events: bool = False, chunk_size: int = CHUNK_SIZE
) -> XesCounts:
    """Write the selected workflows to `out` as XES. By default the events are the completed
    steps (what a discovered model should be made of); `all_events` adds every other change the
    log records (forks, resumes, status changes, repeats, holds, breaches ...), named by what
    happened and with `usm:kind` saying which."""
    return write_all(out, xes_text(selection, all_events=all_events, chunk_size=chunk_size))


def xes_text(
    selection: Selection, *, all_events: bool = False, chunk_size: int = CHUNK_SIZE
) -> Generator[str, None, XesCounts]:
    """The XES document (see `write_xes`) in pieces of a chunk of events each, to be written
    or streamed as they come; returns the counts once done."""
    kinds = Q() if all_events else Q(kind="step_completed")
    events = (
        selection.events(kinds)
        .annotate(at_text=timestamp_text("at"))
        .order_by("root_id", "at", "id")
    )
    fragments = _Fragments(all_events)
    heads, middles, tails = fragments.heads, fragments.middles, fragments.tails
    traces = written = 0
    current_root = None
    with snapshot():
        yield _header(selection)
        for chunk in chunks(events, FIELDS, chunk_size):
            # One piece per chunk: the text of 2,000 events is small, a write per event is not.
            parts = []
            add = parts.append
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
            ) in chunk:
                if root_id != current_root:
                    if current_root is not None:
                        add("  </trace>\n")
                    add(_trace_start(root_number, workflow, customer, service))
                    current_root = root_id
                    traces += 1
                add(
                    heads.get((kind, process, step, status))
                    or fragments.head(kind, process, step, status)
                )
                add(utc_millis(at))
                add(
                    middles.get((username, profile, team, process))
                    or fragments.middle(username, profile, team, process)
                )
                add(escape(call_number))
                add(
                    tails.get((step, attempt, outcome, kind, status))
                    or fragments.tail(step, attempt, outcome, kind, status)
                )
            written += len(chunk)
            yield "".join(parts)
        yield ("  </trace>\n" if current_root is not None else "") + "</log>\n"
    return XesCounts(traces=traces, events=written)
