"""`usm model ...` through the real console script: output, JSON shape and exit codes."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

USM = shutil.which("usm", path=str(Path(sys.executable).parent))


def usm(*args, cwd=None):
    return subprocess.run([USM, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_validate_reports_the_reference_model_clean():
    result = usm("model", "validate", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["processes"], report["workflows"], report["violations"]) == (5, 8, [])
    assert {u["criterion"] for u in report["unchecked"]} >= {6}
    assert set(report["violations"][0] if report["violations"] else {}) <= {
        "criterion",
        "where",
        "message",
    }


def test_validate_exits_1_on_violations(shared_fixtures):
    result = usm("model", "validate", str(shared_fixtures / "usmtools-wif"))
    assert result.returncode == 1
    assert "criterion  1" in result.stdout and "coordinators" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("model", "validate", "/no/such/file.json"), "no such file"),
        (("model", "show", "--workflow", "9"), "there is no workflow 9"),
        (("model", "validate", str(Path(__file__).parents[2] / "pyproject.toml")), "give USM-WIF"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = usm(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unreadable_wif_is_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    result = usm("model", "validate", str(bad))
    assert result.returncode == 2 and "not valid JSON" in result.stderr


def test_show_lists_processes_and_a_workflow_path():
    text = usm("model", "show").stdout
    assert "CHM  Change (Change management)" in text
    assert "6  Risk needing a new agreement" in text
    path = json.loads(usm("model", "show", "--workflow", "4", "--json").stdout)
    assert [p["step"] for p in path["path"]][4:7] == ["INC-5", "OPS-1", "OPS-2"]


def test_export_wif_then_validate_the_export(tmp_path):
    result = usm("model", "export", "--format", "wif", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    files = sorted(tmp_path.glob("*.workflow-template.json"))
    assert len(files) == 8 and result.stdout.count("\n") == 8
    check = usm("model", "validate", "--json", *map(str, files))
    assert check.returncode == 0, check.stdout
    assert json.loads(check.stdout)["workflows"] == 8


def test_export_one_workflow(tmp_path):
    usm("model", "export", "-f", "wif", "-w", "2", "-o", str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == [
        "2-changes-to-managed-resources.workflow-template.json"
    ]


def test_export_diagrams_and_bpmn(tmp_path):
    for fmt, suffix in (("svg", ".svg"), ("mermaid", ".mmd"), ("bpmn", ".bpmn")):
        result = usm("model", "export", "--format", fmt, "--out", str(tmp_path / fmt))
        assert result.returncode == 0, result.stderr
        written = sorted(p.name for p in (tmp_path / fmt).iterdir())
        assert all(name.endswith(suffix) for name in written)
        assert len(written) == (8 if fmt == "bpmn" else 9)  # diagrams add the whole model


def test_export_refuses_an_unknown_format(tmp_path):
    result = usm("model", "export", "--format", "pdf", "--out", str(tmp_path))
    assert result.returncode == 2 and "pdf" in result.stderr
