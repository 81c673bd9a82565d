"""`usm provider ...` and `usm procedure ...` in real processes against a fresh SQLite database:
output, exit codes (0 done, 1 failure, 2 bad input) and one-line errors."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from usm.model import reference_model
from usm.model.io.wif import workflow_to_wif

USM = shutil.which("usm", path=str(Path(sys.executable).parent))
# The organisation's groups sit at the top level of the real `usm` script.
ORGANISATION = [USM]


def environment(data_dir: Path) -> dict:
    env = {**os.environ, "USM_DATA_DIR": str(data_dir)}
    # A database URL in the environment (the PostgreSQL test run) must not reach these processes:
    # they work on their own SQLite file in the data dir.
    env.pop("USM_DATABASE_URL", None)
    return env


def run(command: list[str], data_dir: Path, stdin: str | None = None):
    return subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(data_dir),
        timeout=180,
    )


def organisation(data_dir: Path, *args: str, stdin: str | None = None):
    return run([*ORGANISATION, *args], data_dir, stdin)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A migrated installation with the provider 'acme'."""
    folder = tmp_path_factory.mktemp("usm-data")
    migrated = run([USM, "migrate"], folder)
    assert migrated.returncode == 0, migrated.stderr
    created = organisation(
        folder,
        "provider", "create", "Acme Services", "--slug", "acme", "--admin", "boss",
        "--password-stdin",
        stdin="a long passphrase 42\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return folder


@pytest.fixture
def workflow_document(tmp_path) -> Path:
    """A USM-WIF workflow for WF5 from another tool: its own profile ids, names we know."""
    model = reference_model()
    document = workflow_to_wif(model, model.workflow(5))
    document["type"] = "workflow"
    document["name"] = "Operations as agreed"
    document["profiles"] = [
        {"id": "desk", "name": "Desk coordinator"},
        {"id": "ops", "name": "Operations specialist"},
    ]
    for step in document["steps"]:
        for activity in step["activities"]:
            activity["responsibilities"] = {"desk": ["A"], "ops": ["R"]}
    target = tmp_path / "5-operations.workflow.json"
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


def test_provider_create_and_list(data_dir):
    listed = organisation(data_dir, "provider", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [p["slug"] for p in json.loads(listed.stdout)] == ["acme"]
    again = organisation(
        data_dir,
        "provider", "create", "Acme Again", "--slug", "acme", "--admin", "boss2",
        "--password-stdin",
        stdin="a long passphrase 42\n",
    )  # fmt: skip
    assert again.returncode == 2
    assert again.stderr == "usm: slug: there is already a provider 'acme'\n"


def test_import_refuses_unknown_profiles_then_creates_them(data_dir, workflow_document):
    refused = organisation(data_dir, "procedure", "import", str(workflow_document), "-p", "acme")
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "has no profile 'Desk coordinator' (id desk)" in refused.stderr

    imported = organisation(
        data_dir,
        "procedure", "import", str(workflow_document), "--provider", "acme",
        "--create-profiles", "--json",
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    body = json.loads(imported.stdout)
    assert (body["workflow"], body["active"], body["name"]) == (5, True, "Operations as agreed")
    accountable = {r["step"]: r["profile"] for r in body["responsibilities"] if r["role"] == "A"}
    assert accountable == dict.fromkeys(
        ["OPS-1", "OPS-2", "OPS-3", "OPS-4", "OPS-5", "OPS-6"], "Desk coordinator"
    )


def test_an_export_passes_criterion_10(data_dir, workflow_document, tmp_path):
    organisation(
        data_dir,
        "procedure", "import", str(workflow_document), "-p", "acme", "--create-profiles",
    )  # fmt: skip
    target = tmp_path / "exported.workflow.json"
    exported = organisation(
        data_dir, "procedure", "export", "--provider", "acme", "--workflow", "5", str(target)
    )
    assert exported.returncode == 0, exported.stderr
    assert json.loads(target.read_text())["type"] == "workflow"

    checked = run([USM, "model", "validate", "--json", str(target)], data_dir)
    report = json.loads(checked.stdout)
    assert [v for v in report["violations"] if v["criterion"] == 10] == []
    assert 10 not in {u["criterion"] for u in report["unchecked"]}

    to_stdout = organisation(data_dir, "procedure", "export", "-p", "acme", "-w", "5")
    assert to_stdout.returncode == 0
    assert json.loads(to_stdout.stdout)["steps"][0]["id"] == "OPS-1"


@pytest.mark.parametrize(
    "args, message",
    [
        (("export", "-p", "nobody", "-w", "5"), "usm: there is no provider 'nobody' (known: acme)"),
        (("export", "-p", "acme", "-w", "3"), "has no procedure for workflow 3 in force"),
        (("import", "/no/such.workflow.json", "-p", "acme"), "no such file"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(data_dir, args, message):
    result = organisation(data_dir, "procedure", *args)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_broken_file_is_exit_2(data_dir, tmp_path, workflow_document):
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    result = organisation(data_dir, "procedure", "import", str(broken), "-p", "acme")
    assert result.returncode == 2 and "not valid JSON" in result.stderr

    document = json.loads(workflow_document.read_text())
    document["steps"][1]["activities"][0]["responsibilities"] = {"desk": ["A"], "ops": ["A"]}
    two = tmp_path / "two.workflow.json"
    two.write_text(json.dumps(document), encoding="utf-8")
    result = organisation(
        data_dir, "procedure", "import", str(two), "-p", "acme", "--create-profiles"
    )
    assert result.returncode == 2
    assert "OPS-2 has 2 Accountable profiles" in result.stderr


def test_a_database_that_was_never_migrated_is_exit_1(tmp_path):
    result = organisation(tmp_path, "provider", "list")
    assert result.returncode == 1
    assert "has 'usm migrate' been run?" in result.stderr and "Traceback" not in result.stderr
