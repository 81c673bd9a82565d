"""`usm mir ...` through the real console script against a real SQLite data directory."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

USM = shutil.which("usm", path=str(Path(sys.executable).parent))

SEED = """
from datetime import date
from usm.agreements.models import Agreement, Calendar, Service
from usm.organisation.models import Customer, Provider, Team
acme = Provider.objects.create(name="Acme", slug="acme")
Team.objects.create(provider=acme, name="Hosting")
webshop = Service.objects.create(provider=acme, code="webshop", name="Web shop", facility="x")
bakery = Customer.objects.create(provider=acme, code="bakery", name="Bakery")
calendar = Calendar.objects.create(provider=acme, name="Office hours")
sa = Agreement.objects.create(provider=acme, kind="SA", code="sa-bakery", name="SA", customer=bakery,
                              calendar=calendar, valid_from=date(2020, 1, 1))
sa.services.add(webshop)
"""


def environment(data_dir: Path) -> dict:
    env = dict(os.environ, USM_DATA_DIR=str(data_dir))
    # The command must use the SQLite file in the data directory, whatever the test database is.
    env.pop("USM_DATABASE_URL", None)
    return env


def usm(data_dir, *args, stdin=None):
    return subprocess.run(
        [USM, *args],
        capture_output=True,
        text=True,
        env=environment(data_dir),
        input=stdin,
        timeout=120,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("usm-data")
    migrated = usm(path, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    seeded = usm(path, "manage", "shell", "-c", SEED)
    assert seeded.returncode == 0, seeded.stderr
    return path


def write(tmp_path, name, text):
    target = tmp_path / name
    target.write_text(text, encoding="utf-8")
    return str(target)


def exported_identifiers(data_dir):
    result = usm(data_dir, "mir", "export", "-", "--provider", "acme", "--format", "json")
    assert result.returncode == 0, result.stderr
    return [item["identifier"] for item in json.loads(result.stdout)["items"]]


def assert_one_line(result, code, message):
    assert result.returncode == code, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_import_export_and_impact(data_dir, tmp_path):
    source = write(
        tmp_path,
        "register.csv",
        "identifier,name,type,owner,services,depends_on,attr.site\n"
        "app-01,Shop app,application,Hosting,webshop,db-01,Amsterdam\n"
        "db-01,Shop database,database,,,,\n",
    )
    imported = usm(data_dir, "mir", "import", source, "--provider", "acme")
    assert imported.returncode == 0, imported.stderr
    assert "2 rows imported" in imported.stdout and "2 created" in imported.stdout

    as_csv = usm(data_dir, "mir", "export", "-", "--provider", "acme", "--format", "csv")
    assert as_csv.stdout.startswith("identifier,name,type,status,owner,services,attributes")
    assert (
        'app-01,Shop app,application,active,Hosting,webshop,"{""site"": ""Amsterdam""}",db-01,'
        in (as_csv.stdout)
    )
    target = tmp_path / "register.json"
    assert usm(data_dir, "mir", "export", str(target), "--provider", "acme").returncode == 0
    again = usm(data_dir, "mir", "import", str(target), "--provider", "acme", "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["created"], report["unchanged"], report["written"]) == (
        [],
        ["app-01", "db-01"],
        True,
    )

    impact = usm(data_dir, "mir", "impact", "db-01", "--provider", "acme", "--json")
    assert impact.returncode == 0, impact.stderr
    found = json.loads(impact.stdout)
    assert [d["identifier"] for d in found["dependents"]] == ["app-01"]
    assert [c["code"] for c in found["customers"]] == ["bakery"]
    text = usm(data_dir, "mir", "impact", "db-01", "--provider", "acme").stdout
    assert "app-01 (application) depends on db-01" in text and "bakery" in text


def test_a_bad_file_exits_2_with_a_report_and_writes_nothing(data_dir, tmp_path):
    source = write(
        tmp_path,
        "bad.csv",
        "identifier,name,type,owner\nok-01,Fine,server,\nbad-01,Broken,,Nobody\n",
    )
    result = usm(data_dir, "mir", "import", source, "--provider", "acme")
    assert result.returncode == 2
    assert "usm: row 2, type: is required" in result.stderr
    assert "usm: row 2, owner: there is no team 'Nobody' at acme" in result.stderr
    assert "nothing was written" in result.stderr and "Traceback" not in result.stderr

    as_json = usm(data_dir, "mir", "import", source, "--provider", "acme", "--json")
    assert as_json.returncode == 2
    errors = json.loads(as_json.stdout)["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(2, "type"), (2, "owner")}
    assert "ok-01" not in exported_identifiers(data_dir)


def test_a_dry_run_writes_nothing(data_dir, tmp_path):
    source = write(
        tmp_path, "new.json", '[{"identifier": "dry-01", "name": "Dry", "type": "server"}]'
    )
    result = usm(data_dir, "mir", "import", source, "--provider", "acme", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would be 1 created" in result.stdout and "nothing written" in result.stdout
    assert "dry-01" not in exported_identifiers(data_dir)
    piped = usm(
        data_dir,
        "mir",
        "import",
        "-",
        "--provider",
        "acme",
        "--dry-run",
        stdin=Path(source).read_text(),
    )
    assert piped.returncode == 0 and "would be 1 created" in piped.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("mir", "import", "/no/such.csv", "--provider", "acme"), "no such file"),
        (("mir", "export", "-", "--provider", "nobody"), "there is no provider 'nobody'"),
        (("mir", "export", "-", "--provider", "acme", "--format", "xml"), "'xml' is not a format"),
        (("mir", "impact", "nothing", "--provider", "acme"), "there is no MIR item 'nothing'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(data_dir, args, message):
    assert_one_line(usm(data_dir, *args), 2, message)


def test_a_database_not_migrated_is_a_failure_in_one_line(tmp_path):
    result = usm(tmp_path, "mir", "export", "-", "--provider", "acme")
    assert_one_line(result, 1, "has 'usm migrate' been run?")
