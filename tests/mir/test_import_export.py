"""The administrator's door: a file of items imported all or nothing with a per-row report, and an
export that imports back to the same register."""

import csv
import io
import json

import pytest

from usm.mir.files import export_register, import_file, read_rows
from usm.mir.models import MirChange, MirItem, MirRelation
from usm.mir.services import admin_import
from usm.organisation.models import Team

from .conftest import create, relate

pytestmark = pytest.mark.django_db

HEADER = "identifier,name,type,status,owner,services,attributes,depends_on,part_of\n"


def import_csv(provider, text, actor=None, dry_run=False):
    return import_file(
        provider, text.encode(), file_format="csv", actor=actor, batch="batch-1", dry_run=dry_run
    )


def test_a_csv_import_creates_items_and_relations_and_is_logged(provider, organisation, staff):
    report = import_csv(
        provider,
        HEADER
        + 'app-01,Shop app,application,,Hosting,webshop;email,"{""lang"": ""python""}",db-01,\n'
        + "db-01,Shop database,database,planned,,,,,\n",
        actor=staff,
    )
    assert report.ok and report.written, report.errors
    assert (report.rows, report.created, report.updated) == (2, ["app-01", "db-01"], [])
    app = MirItem.objects.get(identifier="app-01")
    assert (app.owner.name, app.status, app.attributes) == ("Hosting", "active", {"lang": "python"})
    assert sorted(s.code for s in app.services.all()) == ["email", "webshop"]
    assert MirItem.objects.get(identifier="db-01").status == "planned"
    assert MirRelation.objects.get().source == app
    changes = MirChange.objects.all()
    assert {(c.route, c.reference, c.actor) for c in changes} == {
        ("admin_import", "batch-1", staff)
    }
    assert sorted(c.identifier for c in changes) == ["app-01", "db-01"]


def test_a_bad_row_is_reported_by_row_and_column_and_nothing_is_written(provider, organisation):
    report = import_csv(
        provider,
        HEADER
        + "web-01,Web,server,,,,,,\n"
        + "db-01,Database,,,,,,,\n"
        + "app-01,App,application,broken,Their hosting,theirs,[1],nowhere,\n",
    )
    assert not report.ok and not report.written
    found = {(e.row, e.field) for e in report.errors}
    assert found == {
        (2, "type"),
        (3, "status"),
        (3, "owner"),
        (3, "services"),
        (3, "attributes"),
        (3, "depends_on"),
    }, report.errors
    assert not MirItem.objects.exists() and not MirChange.objects.exists()

    report = import_csv(provider, HEADER + "app-01,App,application,,,,,nowhere;app-01,\n")
    messages = {e.message for e in report.errors}
    assert "there is no MIR item nowhere in the register or the file" in messages
    assert "an item cannot depend on or be part of itself" in messages
    assert not MirItem.objects.exists()


@pytest.mark.parametrize(
    "text, row, column, message",
    [
        (HEADER + "Web 01,Web,server,,,,,,\n", 1, "identifier", "not an identifier"),
        (
            HEADER + "web-01,Web,server,,,,,,\nweb-01,Again,server,,,,,,\n",
            2,
            "identifier",
            "already on row 1",
        ),
        (HEADER + 'web-01,Web,server,,,,"{""a"": ",,\n', 1, "attributes", "not valid JSON"),
        (HEADER + "web-01,Web,server,,,,,,,extra\n", 1, "", "more cells"),
        ("identifier,name,type,colour\nweb-01,Web,server,red\n", 1, "colour", "not a column"),
        ("identifier,type\nweb-01,server\n", 1, "name", "required for a new item"),
        (
            HEADER + "a,A,x,,,,,,b\nb,B,x,,,,,,c\nc,C,x,,,,,,a\n",
            1,
            "part_of",
            "cycle of parts among a, b, c",
        ),
    ],
)
def test_row_problems(provider, organisation, text, row, column, message):
    report = import_csv(provider, text)
    assert any(
        e.row == row and e.field == column and message in e.message for e in report.errors
    ), report.errors
    assert not MirItem.objects.exists()


def test_unreadable_files_are_reported_for_the_file(provider):
    for content, file_format, message in [
        (b"\xff\xfe\x00", "csv", "not UTF-8"),
        (b"name,type\nx,y\n", "csv", "no 'identifier' column"),
        (b"identifier,name,name\n", "csv", "more than once"),
        (b"{not json", "json", "not valid JSON"),
        (b'{"items": 3}', "json", "neither a list"),
    ]:
        report = import_file(provider, content, file_format=file_format, actor=None, batch="b")
        assert [(e.row, e.field) for e in report.errors] == [(None, "file")], content
        assert message in report.errors[0].message


def test_a_cycle_through_the_register_is_caught(provider, organisation, record):
    record(provider, create("rack"), create("row"), relate("rack", "part_of", "row"))
    report = import_csv(provider, "identifier,part_of\nrow,rack\n")
    assert [(e.row, e.field) for e in report.errors] == [(1, "part_of")]
    assert MirRelation.objects.count() == 1


def test_a_dry_run_reports_and_writes_nothing(provider, organisation):
    report = import_csv(provider, HEADER + "web-01,Web,server,,,,,,\n", dry_run=True)
    assert report.ok and report.dry_run and not report.written
    assert report.created == ["web-01"]
    assert not MirItem.objects.exists()


def test_reimport_updates_only_what_changed_and_leaves_missing_columns_alone(
    provider, organisation, record
):
    record(
        provider,
        create("web-01", owner="Hosting", services=["webshop"], attributes={"ram_gb": 16}),
        create("db-01", attributes={"engine": "postgres"}),
        relate("web-01", "depends_on", "db-01"),
    )
    report = import_csv(
        provider,
        "identifier,name,attr.ram_gb,attr.rack,depends_on\nweb-01,Web 01,32,,\ndb-01,Db 01,,B2,\n",
    )
    assert report.ok and report.written, report.errors
    assert (report.updated, report.unchanged) == (["web-01", "db-01"], [])
    web = MirItem.objects.get(identifier="web-01")
    # attr.<key> cells are text; the owner and services columns were not in the file.
    assert web.attributes == {"ram_gb": "32"} and web.owner.name == "Hosting"
    assert [s.code for s in web.services.all()] == ["webshop"]
    assert web.version == 2 and not MirRelation.objects.exists()
    db = MirItem.objects.get(identifier="db-01")
    assert db.attributes == {"engine": "postgres", "rack": "B2"} and db.version == 2
    history = MirChange.objects.filter(identifier="web-01", route="admin_import").get()
    assert history.before["depends_on"] == ["db-01"] and history.after["depends_on"] == []
    assert history.before["version"] == 1 and history.after["version"] == 2


def test_admin_import_takes_rows_from_code_too(provider, organisation):
    report = admin_import(
        provider,
        [
            {"identifier": "web-01", "name": "Web", "type": "server", "services": ["webshop"]},
            {"identifier": "db-01", "name": "DB", "type": "database", "part_of": ["web-01"]},
            "not a row",
        ],
        actor=None,
        batch="code",
    )
    assert [(e.row, e.field) for e in report.errors] == [(3, "")]
    assert not MirItem.objects.exists()


@pytest.fixture
def varied_register(provider, organisation, record):
    record(
        provider,
        create(
            "web-01",
            name="Web server, rack 1",
            owner="Hosting",
            services=["webshop", "email"],
            attributes={"ram_gb": 16, "virtual": True, "disks": [{"size": 100}], "site": "Zürich"},
        ),
        create("db-01", type="database", status="planned", attributes={"note": 'say "hi"; ok'}),
        create("old-01", status="retired"),
        create("rack-1", type="rack"),
        relate("web-01", "depends_on", "db-01"),
        relate("web-01", "part_of", "rack-1"),
        relate("db-01", "part_of", "rack-1"),
        relate("db-01", "depends_on", "web-01"),
    )


@pytest.mark.parametrize("file_format", ["csv", "json"])
def test_an_export_imports_back_unchanged(provider, other_provider, varied_register, file_format):
    exported = export_register(provider, file_format)
    again = import_file(provider, exported, file_format=file_format, actor=None, batch="again")
    assert again.ok and again.unchanged == ["db-01", "old-01", "rack-1", "web-01"], again.errors
    assert MirChange.objects.filter(reference="again").count() == 0

    Team.objects.create(provider=other_provider, name="Hosting")
    for code in ("webshop", "email"):
        other_provider_service(other_provider, code)
    copied = import_file(
        other_provider, exported, file_format=file_format, actor=None, batch="copy"
    )
    assert copied.ok and len(copied.created) == 4, copied.errors
    assert export_register(other_provider, file_format).replace('"other"', '"acme"') == exported


def test_a_cell_a_spreadsheet_would_run_is_exported_as_text_and_imported_back(
    provider, organisation, record
):
    record(
        provider,
        create("web-9", name='=HYPERLINK("http://evil.test","x")'),
        create("-rack", name="-rack", attributes={"site": "@home"}),
    )
    exported = export_register(provider, "csv")
    rows = {r["identifier"]: r for r in csv.DictReader(io.StringIO(exported))}
    assert rows["web-9"]["name"] == '\'=HYPERLINK("http://evil.test","x")'
    assert rows["'-rack"]["name"] == "'-rack"  # the identifier's own cell too
    again = import_file(provider, exported, file_format="csv", actor=None, batch="again")
    assert again.ok and again.unchanged == ["-rack", "web-9"], again.errors


def other_provider_service(provider, code):
    from usm.agreements.models import Service

    Service.objects.create(provider=provider, code=code, name=code, facility="x")


def test_the_csv_export_has_the_documented_columns(provider, varied_register):
    rows = list(csv.DictReader(io.StringIO(export_register(provider, "csv"))))
    web = next(r for r in rows if r["identifier"] == "web-01")
    assert list(web) == [
        "identifier",
        "name",
        "type",
        "status",
        "owner",
        "services",
        "attributes",
        "depends_on",
        "part_of",
    ]
    assert (web["services"], web["depends_on"], web["part_of"]) == (
        "email;webshop",
        "db-01",
        "rack-1",
    )
    assert json.loads(web["attributes"])["site"] == "Zürich"
    document = json.loads(export_register(provider, "json"))
    assert (document["format"], document["provider"], len(document["items"])) == (
        "usm-mir",
        "acme",
        4,
    )
    assert read_rows(export_register(provider, "json"), "json") == document["items"]
