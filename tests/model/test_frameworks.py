"""The framework catalogues and their mapping onto the USM reference model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from usm.model import reference_model
from usm.model.frameworks import (
    CatalogueError,
    commands,
    coverage,
    framework,
    load_catalogue,
    load_catalogues,
    load_frameworks,
    overlap,
    practice_processes,
    practice_workflows,
    read_practice_selection,
    unrealised,
)
from usm.model.frameworks.commands import frameworks_app

EXPECTED = {
    "itil3": (26, {"strategy": 5, "design": 8, "transition": 7, "operation": 5, "csi": 1}),
    "itil4": (34, {"general": 14, "service": 17, "technical": 3}),
    "cobit": (29, {"APO": 13, "BAI": 10, "DSS": 6}),
    "fitsm": (14, {"process": 14}),
}


@pytest.fixture(scope="module")
def model():
    return reference_model()


@pytest.fixture(scope="module")
def frameworks():
    return load_frameworks()


def all_practices(frameworks):
    return [p for f in frameworks.values() for p in f.practices]


# --- the catalogues ----------------------------------------------------------------------------


def test_the_four_frameworks_are_shipped(frameworks):
    assert set(frameworks) == set(EXPECTED)


@pytest.mark.parametrize("framework_id", EXPECTED)
def test_practice_and_group_counts(frameworks, framework_id):
    total, groups = EXPECTED[framework_id]
    catalogue = frameworks[framework_id]
    assert len(catalogue.practices) == total
    assert Counter(p.group for p in catalogue.practices) == groups
    assert [g.id for g in catalogue.groups] == list(groups)


def test_cobit_codes_are_the_three_management_domains(frameworks):
    expected = (
        [f"APO{n:02}" for n in range(1, 14)]
        + [f"BAI{n:02}" for n in range(1, 11)]
        + [f"DSS{n:02}" for n in range(1, 7)]
    )
    assert [p.id for p in frameworks["cobit"].practices] == expected
    assert all(p.group == p.id[:3] for p in frameworks["cobit"].practices)


def test_fitsm_processes_are_in_fitsm_1_order(frameworks):
    practices = frameworks["fitsm"].practices
    assert [p.id for p in practices] == [f"PR{n}" for n in range(1, 15)]
    assert practices[8].name == "Incident and service request management"
    assert all(p.abbreviation for p in practices)


def test_itil_names_that_users_check(frameworks):
    itil3 = {p.name for p in frameworks["itil3"].practices}
    itil4 = {p.name for p in frameworks["itil4"].practices}
    assert {"Design coordination", "Change evaluation", "Seven-step improvement process"} <= itil3
    # Functions are organisation units, not processes.
    assert "Service desk" not in itil3
    assert {"Change enablement", "Service desk", "Deployment management"} <= itil4


def test_ids_and_names_are_unique(frameworks):
    for catalogue in frameworks.values():
        ids = [p.id for p in catalogue.practices]
        names = [p.name for p in catalogue.practices]
        assert len(set(ids)) == len(ids), catalogue.id
        assert len(set(names)) == len(names), catalogue.id
    keys = [p.key for p in all_practices(frameworks)]
    assert len(set(keys)) == len(keys)


def test_every_practice_is_described_and_justified(frameworks):
    for practice in all_practices(frameworks):
        assert practice.description, practice.key
        assert practice.rationale, practice.key
        assert practice.name, practice.key


def test_every_practice_maps_to_existing_steps(model, frameworks):
    known = {step.id for step in model.steps}
    for practice in all_practices(frameworks):
        assert practice.steps, practice.key
        assert set(practice.steps) <= known, practice.key


def test_model_has_no_unrealised_practice(model, frameworks):
    assert unrealised(model, frameworks) == []
    assert unrealised(model) == []


def test_lookup_is_case_insensitive_and_unknowns_are_clear(frameworks):
    assert framework("ITIL4").id == "itil4"
    assert framework("cobit").practice("apo09").name == "Manage Service Agreements"
    with pytest.raises(CatalogueError, match="unknown framework 'itil5'; known: "):
        framework("itil5")
    with pytest.raises(CatalogueError, match="has no practice 'APO14'"):
        framework("cobit").practice("APO14")


# --- coverage, workflows, overlap --------------------------------------------------------------


def test_coverage_is_complete(model, frameworks):
    report = {entry.framework.id: entry for entry in coverage(model, frameworks)}
    for framework_id, (total, _) in EXPECTED.items():
        entry = report[framework_id]
        assert (len(entry.realised), entry.total) == (total, total)
        assert entry.complete and entry.percent == 100.0
        assert not entry.unmapped and not entry.missing
        assert set(entry.per_process) == set(model.processes)
        # Every process realises at least one practice of every framework.
        assert all(count > 0 for count in entry.per_process.values()), framework_id


def test_practices_span_processes_and_derive_workflows(model, frameworks):
    itil4 = frameworks["itil4"]
    incident = itil4.practice("incident-management")
    assert practice_processes(model, incident) == ("INC",)
    assert [w.number for w in practice_workflows(model, incident)] == [3, 4]
    request = itil4.practice("service-request-management")
    # Operations is walked by every workflow.
    assert len(practice_workflows(model, request)) == len(model.workflows)
    desk = itil4.practice("service-desk")
    assert practice_processes(model, desk) == tuple(model.processes)
    continuity = frameworks["itil3"].practice("it-service-continuity-management")
    assert len(practice_processes(model, continuity)) > 1


def test_overlap_of_itil4_and_fitsm_lists_shared_incident_steps(model, frameworks):
    chosen = [*frameworks["itil4"].practices, *frameworks["fitsm"].practices]
    result = overlap(model, chosen)
    shared = {claim.step.id: claim for claim in result.shared}
    for step_id in ("INC-1", "INC-3", "INC-7"):
        keys = {p.key for p in shared[step_id].practices}
        assert {"itil4:incident-management", "fitsm:PR9"} <= keys
        assert shared[step_id].frameworks == ("itil4", "fitsm")
    assert result.redundant_claims == result.claim_count - len(result.claims) > 0


def test_overlap_of_disjoint_practices_shares_nothing(model, frameworks):
    chosen = [
        frameworks["itil4"].practice("incident-management"),
        frameworks["itil4"].practice("change-enablement"),
    ]
    result = overlap(model, chosen)
    assert result.shared == ()
    assert result.redundant_claims == 0
    assert len(result.claims) == 15


# --- a broken catalogue ------------------------------------------------------------------------

BROKEN = """
id = "broken"
name = "Broken"
edition = "test"

[[group]]
id = "g"
name = "Group"

[[practice]]
id = "nothing"
name = "Maps to nothing"
group = "g"
description = "A practice nobody mapped."
steps = []
rationale = "Left empty on purpose."

[[practice]]
id = "typo"
name = "Maps to a missing step"
group = "g"
description = "A practice with a step the model lacks."
steps = ["INC-3", "INC-99"]
rationale = "Mis-mapped on purpose."

[[practice]]
id = "fine"
name = "Mapped well"
group = "g"
description = "A realised practice."
steps = ["OPS-4"]
rationale = "Operations executes it."
"""


@pytest.fixture
def broken_dir(tmp_path) -> Path:
    (tmp_path / "broken.toml").write_text(BROKEN, encoding="utf-8")
    return tmp_path


def test_unrealised_reports_unmapped_and_mismapped_practices(model, broken_dir):
    catalogues = load_catalogues(broken_dir)
    findings = unrealised(model, catalogues)
    assert findings == [
        ("broken:nothing", "Maps to nothing (Broken) is realised by no step"),
        ("broken:typo", "Maps to a missing step (Broken) maps to INC-99, which the model lacks"),
    ]
    (entry,) = coverage(model, catalogues)
    assert (len(entry.realised), entry.total, entry.complete) == (1, 3, False)
    assert [p.id for p in entry.unmapped] == ["nothing"]
    assert entry.missing == {"typo": ("INC-99",)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("steps = []", "step = []"), r"unknown key 'step'"),
        (('rationale = "Left empty on purpose."', 'rationale = ""'), r"'rationale' must be a non"),
        (('id = "typo"', 'id = "fine"'), r"practice 'fine' is declared twice"),
        (
            ('group = "g"\ndescription = "A realised', 'group = "x"\ndescription = "A realised'),
            r"group 'x' is not declared",
        ),
        (('steps = ["OPS-4"]', 'steps = ["OPS-4", "OPS-4"]'), r"lists OPS-4 more than once"),
        (('id = "nothing"', 'id = "no thing"'), r"use letters, digits"),
        (('edition = "test"', "edition = "), r"not valid TOML"),
    ],
)
def test_malformed_catalogues_are_clear_errors(tmp_path, change, message):
    old, new = change
    assert old in BROKEN
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogueError, match=message) as raised:
        load_catalogue(path)
    assert str(path) in str(raised.value)


def test_two_catalogues_with_one_id_are_refused(broken_dir):
    (broken_dir / "again.toml").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(CatalogueError, match="already used"):
        load_catalogues(broken_dir)


# --- adopt and adapt: selection files ----------------------------------------------------------


def test_selection_from_text_and_json(tmp_path, frameworks):
    text = tmp_path / "ours.txt"
    text.write_text(
        "# what we adopted\nitil4:incident-management\n\nfitsm:pr9  # combined desk\n"
        "ITIL4:incident-management\n",
        encoding="utf-8",
    )
    assert [p.key for p in read_practice_selection(text)] == [
        "itil4:incident-management",
        "fitsm:PR9",
    ]
    as_json = tmp_path / "ours.json"
    as_json.write_text(json.dumps(["cobit:DSS02", "itil3:problem-management"]), encoding="utf-8")
    assert [p.key for p in read_practice_selection(as_json, frameworks)] == [
        "cobit:DSS02",
        "itil3:problem-management",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("itil4:incident-management\nitil4:nope\n", r"line 2: ITIL 4 has no practice 'nope'"),
        ("itil5:incident-management\n", r"line 1: unknown framework 'itil5'"),
        ("incident-management\n", r"line 1: 'incident-management' is not of the form"),
        ("# nothing\n\n", r"lists no practices"),
        ('["itil4:incident-management", 3]', r"expected a JSON list"),
        ('["itil4:incident-management"', r"not valid JSON"),
    ],
)
def test_bad_selections_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "selection.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogueError, match=message):
        read_practice_selection(path)


def test_missing_selection_file(tmp_path):
    with pytest.raises(CatalogueError, match="no such file"):
        read_practice_selection(tmp_path / "absent.txt")


# --- the command line --------------------------------------------------------------------------

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(frameworks_app, list(args))


def test_cli_list_table_and_json():
    result = invoke("list", "--framework", "fitsm")
    assert result.exit_code == 0, result.output
    assert "PR9" in result.stdout and "Incident and service request management" in result.stdout
    result = invoke("list", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert [f["id"] for f in payload["frameworks"]] == list(load_frameworks())
    practice = payload["frameworks"][0]["practices"][0]
    assert set(practice) >= {
        "key",
        "id",
        "name",
        "group",
        "description",
        "steps",
        "processes",
        "workflows",
        "who_how",
        "rationale",
    }
    assert all(isinstance(n, int) for n in practice["workflows"])


def test_cli_coverage_table_and_json():
    result = invoke("coverage")
    assert result.exit_code == 0, result.output
    for line in ("26/26", "34/34", "29/29", "14/14"):
        assert line in result.stdout
    result = invoke("coverage", "--framework", "cobit", "--json")
    payload = json.loads(result.stdout)
    assert payload["complete"] is True
    (entry,) = payload["frameworks"]
    assert (entry["framework"], entry["realised"], entry["total"]) == ("cobit", 29, 29)
    assert set(entry["per_process"]) == {"CTM", "CHM", "INC", "OPS", "IMP"}


def test_cli_coverage_fails_on_an_unrealised_practice(monkeypatch, broken_dir):
    monkeypatch.setattr(commands, "load_frameworks", lambda: load_catalogues(broken_dir))
    result = invoke("coverage")
    assert result.exit_code == 1
    assert "broken:nothing: realised by no step" in result.stdout
    assert "broken:typo: maps to missing step INC-99" in result.stdout
    assert json.loads(invoke("coverage", "--json").stdout)["complete"] is False


def test_cli_overlap_table_and_json():
    result = invoke("overlap", "itil4", "fitsm")
    assert result.exit_code == 0, result.output
    assert "INC-1" in result.stdout and "fitsm:PR9" in result.stdout
    payload = json.loads(invoke("overlap", "itil4", "fitsm", "--json").stdout)
    assert payload["frameworks"] == ["itil4", "fitsm"]
    assert len(payload["practices"]) == 48
    assert payload["redundant_claims"] == payload["claims"] - payload["distinct_steps"]
    incident = next(s for s in payload["shared"] if s["step"] == "INC-1")
    assert {"itil4:incident-management", "fitsm:PR9"} <= {p["key"] for p in incident["practices"]}


def test_cli_overlap_with_a_selection_file(tmp_path):
    selection = tmp_path / "ours.txt"
    selection.write_text("itil4:incident-management\nfitsm:PR9\ncobit:APO12\n", encoding="utf-8")
    payload = json.loads(invoke("overlap", "--practices", str(selection), "--json").stdout)
    assert payload["practices"] == ["itil4:incident-management", "fitsm:PR9", "cobit:APO12"]
    assert [s["step"] for s in payload["shared"]] == [f"INC-{n}" for n in range(1, 8)]
    # Named frameworks narrow the file to their practices.
    payload = json.loads(
        invoke("overlap", "itil4", "cobit", "--practices", str(selection), "--json").stdout
    )
    assert payload["practices"] == ["itil4:incident-management", "cobit:APO12"]
    assert payload["shared"] == []


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--framework", "itil5"),
        ("coverage", "-f", "prince2"),
        ("overlap", "itil4", "itil5"),
        ("overlap",),
        ("overlap", "--practices", "/nonexistent/selection.txt"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args):
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("usm: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_cli_overlap_bad_selection_names_the_line(tmp_path):
    selection = tmp_path / "ours.txt"
    selection.write_text("itil4:incident-management\nitil4:incident-mgmt\n", encoding="utf-8")
    result = invoke("overlap", "--practices", str(selection))
    assert result.exit_code == 2
    assert f"{selection}: line 2: ITIL 4 has no practice 'incident-mgmt'" in result.stderr


def test_docs_coverage_table_matches_the_code(model, frameworks):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "frameworks.md").read_text("utf-8")
    for entry in coverage(model, frameworks):
        counts = " | ".join(str(entry.per_process[code]) for code in model.processes)
        row = (
            f"| {entry.framework.name} ({entry.framework.edition}) | "
            f"{len(entry.realised)}/{entry.total} ({entry.percent:g}%) | {counts} |"
        )
        assert row in docs, f"docs/frameworks.md is stale; regenerate the row: {row}"
