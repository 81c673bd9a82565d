"""The MIR in the admin: searchable and read-only; the logged import is the one door it has."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from usm.mir.models import MirChange, MirItem

from .conftest import create

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/mir/miritem/import/"
HEADER = "identifier,name,type,status,owner,services,attributes,depends_on,part_of\n"


@pytest.fixture
def register(provider, organisation, record):
    record(
        provider,
        create("web-01", owner="Hosting", attributes={"site": "Amsterdam"}),
        create("db-01", type="database", status="planned"),
    )


def upload(text, name="items.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_items_are_listed_searched_and_filtered(admin_client, register, organisation):
    page = admin_client.get("/admin/mir/miritem/", {"q": "amsterdam"})
    assert page.status_code == 200
    assert "web-01" in page.content.decode() and "db-01" not in page.content.decode()
    page = admin_client.get("/admin/mir/miritem/", {"status__exact": "planned"})
    assert "db-01" in page.content.decode() and "web-01" not in page.content.decode()
    page = admin_client.get("/admin/mir/miritem/", {"owner__id__exact": organisation["hosting"].pk})
    assert "web-01" in page.content.decode() and "db-01" not in page.content.decode()
    assert "Import / export" in page.content.decode()


def test_nothing_can_be_added_changed_or_deleted(admin_client, register):
    web = MirItem.objects.get(identifier="web-01")
    assert admin_client.get("/admin/mir/miritem/add/").status_code == 403
    assert admin_client.get(f"/admin/mir/miritem/{web.pk}/change/").status_code == 200
    changed = admin_client.post(f"/admin/mir/miritem/{web.pk}/change/", {"name": "Renamed"})
    assert changed.status_code == 403
    assert (
        admin_client.post(f"/admin/mir/miritem/{web.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    history = MirChange.objects.first()
    assert (
        admin_client.post(f"/admin/mir/mirchange/{history.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert admin_client.get("/admin/mir/mirrelation/add/").status_code == 403
    assert MirItem.objects.get(pk=web.pk).name == "Web 01" and MirChange.objects.count() == 2


def test_the_import_page_checks_reports_and_imports(
    admin_client, provider, organisation, django_user_model
):
    bad = admin_client.post(
        IMPORT_URL,
        {
            "import-provider": provider.pk,
            "import-file": upload(HEADER + "web-01,Web,,,Nobody,,,,\n"),
        },
    )
    page = bad.content.decode()
    assert "Rejected: nothing written" in page
    assert "<td>1</td><td>type</td>" in page and "<td>1</td><td>owner</td>" in page
    checked = admin_client.post(
        IMPORT_URL,
        {
            "import-provider": provider.pk,
            "import-file": upload(HEADER + "web-01,Web,server,,Hosting,,,,\n"),
            "import-dry_run": "on",
        },
    )
    assert "Checked: nothing written" in checked.content.decode()
    assert not MirItem.objects.exists()
    imported = admin_client.post(
        IMPORT_URL,
        {
            "import-provider": provider.pk,
            "import-file": upload(HEADER + "web-01,Web,server,,Hosting,,,,\n"),
        },
    )
    assert "Imported" in imported.content.decode()
    change = MirChange.objects.get()
    assert (change.route, change.reference, change.actor.username) == (
        "admin_import",
        "admin items.csv",
        "admin",
    )


def test_the_export_downloads_what_the_import_reads(admin_client, provider, register):
    response = admin_client.post(
        IMPORT_URL, {"export-provider": provider.pk, "export-file_format": "json"}
    )
    assert response["Content-Disposition"] == 'attachment; filename="mir-acme.json"'
    again = admin_client.post(
        IMPORT_URL,
        {
            "import-provider": provider.pk,
            "import-file": SimpleUploadedFile("mir.json", response.content),
        },
    )
    assert "2 unchanged" in again.content.decode()


def test_the_import_needs_its_own_permission(client, provider, django_user_model):
    clerk = django_user_model.objects.create_user(
        "clerk", password="pw-for-tests-only", is_staff=True
    )
    clerk.user_permissions.add(Permission.objects.get(codename="view_miritem"))
    client.force_login(clerk)
    assert client.get("/admin/mir/miritem/").status_code == 200
    assert client.get(IMPORT_URL).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="import_miritems"))
    assert client.get(IMPORT_URL).status_code == 200
