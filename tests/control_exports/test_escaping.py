"""Text from the database is written so that every reader still parses the file."""

import json
import sqlite3
from io import StringIO

import pytest
from lxml import etree

from usm.control.exports.ocel import write_ocel_json, write_ocel_sqlite
from usm.control.exports.selection import Selection
from usm.control.exports.xes import escape, write_xes

pytestmark = pytest.mark.django_db
NASTY = "R&D <team> \"quoted\" 'single'\ttab\nline\x01\x1fend"
# XML 1.0 has no way to write \x01 or \x1f, not even as references: they become U+FFFD.
AS_READ = "R&D <team> \"quoted\" 'single'\ttab\nline\ufffd\ufffdend"


def test_escape_covers_markup_whitespace_and_control_characters():
    assert escape("plain") == "plain"
    assert escape(NASTY) == (
        "R&amp;D &lt;team&gt; &quot;quoted&quot; 'single'&#9;tab&#10;line\ufffd\ufffdend"
    )


def test_nasty_names_keep_the_xes_valid(provider, desk, walk):
    provider.name = NASTY
    provider.save()
    desk["profile"].name = NASTY
    desk["profile"].save()
    desk["team"].name = NASTY
    desk["team"].save()
    walk(5)
    out = StringIO()
    write_xes(out, Selection(provider))
    root = etree.fromstring(out.getvalue().encode("utf-8"))
    ns = {"x": "http://www.xes-standard.org/"}
    assert (
        root.find("x:string[@key='concept:name']", ns).get("value") == f"USM event log of {AS_READ}"
    )
    roles = {e.get("value") for e in root.iterfind(".//x:event/x:string[@key='org:role']", ns)}
    groups = {e.get("value") for e in root.iterfind(".//x:event/x:string[@key='org:group']", ns)}
    assert roles == groups == {AS_READ}


def test_nasty_summaries_keep_both_ocel_encodings_readable(provider, walk, tmp_path):
    walk(5, summary=NASTY + " \u00e9\u4e2d")
    out = StringIO()
    write_ocel_json(out, Selection(provider))
    document = json.loads(out.getvalue())
    summaries = {
        a["value"] for o in document["objects"] for a in o["attributes"] if a["name"] == "summary"
    }
    assert summaries == {NASTY + " \u00e9\u4e2d"}
    write_ocel_sqlite(tmp_path / "log.sqlite", Selection(provider))
    db = sqlite3.connect(tmp_path / "log.sqlite")
    try:
        assert db.execute(
            "SELECT summary FROM object_call WHERE ocel_changed_field IS NULL"
        ).fetchall() == [(NASTY + " \u00e9\u4e2d",)]
    finally:
        db.close()
