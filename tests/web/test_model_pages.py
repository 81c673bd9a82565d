"""The model pages, through Django's test client and through the real server over HTTP."""

import urllib.error
import urllib.request
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from usm.model import reference_model


def test_overview_shows_every_process_and_workflow(client):
    page = client.get("/model/").content.decode()
    for process in reference_model().processes.values():
        assert f'id="{process.code}"' in page
        for step in process.steps:
            assert step.id in page
    for number in range(1, 9):
        assert f'href="/model/workflows/{number}/"' in page
    assert "no violations" in page
    assert "<svg" in page


def test_root_leads_to_the_model(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/model/"


def test_workflow_page_shows_its_path_and_diagram(client):
    page = client.get("/model/workflows/3/").content.decode()
    model = reference_model()
    ids = [p.step.id for p in model.path(model.workflow(3))]
    positions = [page.index(f'<span class="step-id">{step_id}</span>') for step_id in ids]
    assert positions == sorted(positions)
    assert "Incident recovered with a change" in page and "<svg" in page


def test_unknown_workflow_and_format_are_404(client):
    assert client.get("/model/workflows/9/").status_code == 404
    assert client.get("/model/export/3.docx").status_code == 404
    assert client.get("/model/export/model.bpmn").status_code == 404


@pytest.mark.parametrize(
    "fmt, content_type, root",
    [
        ("bpmn", "application/xml", "{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions"),
        ("svg", "image/svg+xml", "{http://www.w3.org/2000/svg}svg"),
    ],
)
def test_workflow_downloads(client, fmt, content_type, root):
    response = client.get(f"/model/export/4.{fmt}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == (
        f'attachment; filename="04-incident-recovered-by-operations.{fmt}"'
    )
    assert ElementTree.fromstring(response.content).tag == root


def test_wif_download_reads_back(client, tmp_path):
    from usm.model.io.wif import model_from_wif

    response = client.get("/model/export/2.json")
    assert response["Content-Type"] == "application/x-usm-workflow-template"
    target = tmp_path / "2.workflow-template.json"
    target.write_bytes(response.content)
    model = model_from_wif([target])
    assert [p.step.id for p in model.path(model.workflows[0])][:7] == [
        "CHM-1",
        "CHM-2",
        "CHM-3",
        "CHM-4",
        "CHM-5",
        "CHM-6",
        "OPS-1",
    ]


def test_validation_page_lists_all_ten_criteria(client):
    page = client.get("/model/validation/").content.decode()
    for number in range(1, 11):
        assert f'id="criterion-{number}"' in page
    assert "No violations." in page


def test_pages_are_served_over_http_with_their_stylesheet(live_server):
    with urllib.request.urlopen(f"{live_server.url}/model/workflows/6/") as response:
        page = response.read().decode()
    assert "Risk needing a new agreement" in page
    with urllib.request.urlopen(f"{live_server.url}/static/web/usm.css") as response:
        assert response.headers["Content-Type"].startswith("text/css")
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{live_server.url}/model/workflows/0/")
    assert missing.value.code == 404


@pytest.mark.django_db
def test_schema_is_migrated_and_passwords_use_argon2():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    user = get_user_model().objects.create_user("desk", password="a long passphrase 42")
    assert user.password.startswith("argon2")


def test_framework_matrix_highlights_steps_claimed_by_several_frameworks(client):
    from usm.model.frameworks import load_frameworks

    page = client.get("/model/frameworks/?framework=itil4&framework=cobit").content.decode()
    frameworks = load_frameworks()
    rows = len(frameworks["itil4"].practices) + len(frameworks["cobit"].practices)
    assert page.count('<th class="practice"') == rows == 34 + 29
    claimed = {
        name: {s for p in frameworks[name].practices for s in p.steps}
        for name in ("itil4", "cobit")
    }
    both = claimed["itil4"] & claimed["cobit"]
    assert page.count('class="step shared"') == len(both)
    assert f"{len(both)} of 37 steps are claimed" in page
    default = client.get("/model/frameworks/").content.decode()
    assert default.count('<th class="practice"') == 34 + 14


@pytest.mark.django_db
def test_login_and_logout(client, django_user_model):
    django_user_model.objects.create_user("dana", password="correct horse battery 7")
    page = client.get("/login/")
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    wrong = client.post("/login/", {"username": "dana", "password": "nope"})
    assert "did not match" in wrong.content.decode()
    right = client.post("/login/", {"username": "dana", "password": "correct horse battery 7"})
    assert right.status_code == 302
    assert "dana" in client.get("/model/").content.decode()
    assert client.post("/logout/").status_code == 302
