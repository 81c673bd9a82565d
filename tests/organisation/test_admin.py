"""The admin: every page opens, searches and filters; a RACI with zero or two Accountables is a
form error naming the step; saving a procedure makes a new version; inlines stay in one
provider."""

import pytest

from usm.organisation import services
from usm.organisation.models import Procedure, Requester

from .conftest import path_of

pytestmark = pytest.mark.django_db
ADMIN = "/admin/organisation"
MODELS = [
    "provider",
    "organisationunit",
    "customer",
    "requester",
    "person",
    "team",
    "profile",
    "procedure",
    "workinstruction",
]


def inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def raci_rows(accountable, responsible, steps) -> list[dict]:
    return [
        row
        for step in steps
        for row in (
            {"step": step, "profile": accountable.pk, "role": "A"},
            {"step": step, "profile": responsible.pk, "role": "R"},
        )
    ]


def add_procedure(admin_client, provider, rows):
    data = {"provider": provider.pk, "workflow": "5", "name": "Operations"}
    data.update(inline("responsibilities", rows))
    return admin_client.post(f"{ADMIN}/procedure/add/", data)


@pytest.mark.parametrize("model", MODELS)
def test_every_page_opens_searches_and_filters(admin_client, procedure, provider, model):
    assert admin_client.get(f"{ADMIN}/{model}/").status_code == 200
    assert admin_client.get(f"{ADMIN}/{model}/?q=acme").status_code == 200
    assert admin_client.get(f"{ADMIN}/{model}/add/").status_code == 200
    if model != "provider":
        assert (
            admin_client.get(f"{ADMIN}/{model}/?provider__id__exact={provider.pk}").status_code
            == 200
        )


def test_a_procedure_page_shows_its_responsibilities(admin_client, procedure):
    page = admin_client.get(f"{ADMIN}/procedure/{procedure.pk}/change/").content.decode()
    assert "Workflow coordinator" in page and "OPS-6" in page


def test_two_accountables_are_a_form_error_naming_the_step(
    admin_client, provider, coordinator, operator
):
    rows = raci_rows(coordinator, operator, path_of(5))
    rows[7]["role"] = "A"  # OPS-4: the operator is made Accountable as well
    response = add_procedure(admin_client, provider, rows)
    assert response.status_code == 200
    assert (
        "OPS-4 has 2 Accountable profiles (Operations specialist, Workflow coordinator); "
        "it needs exactly one" in response.content.decode()
    )
    assert not Procedure.objects.exists()


def test_no_accountable_is_a_form_error_naming_the_step(
    admin_client, provider, coordinator, operator
):
    rows = raci_rows(coordinator, operator, path_of(5))
    del rows[2]  # OPS-2 keeps only its Responsible
    response = add_procedure(admin_client, provider, rows)
    assert response.status_code == 200
    assert "OPS-2 has no Accountable profile; it needs exactly one" in response.content.decode()
    assert not Procedure.objects.exists()


def test_saving_a_procedure_makes_a_new_version(admin_client, provider, coordinator, operator):
    response = add_procedure(admin_client, provider, raci_rows(coordinator, operator, path_of(5)))
    assert response.status_code == 302, response.content.decode()[:2000]
    first = Procedure.objects.get()
    assert (first.version, first.active, first.responsibilities.count()) == (1, True, 12)

    rows = [
        {"id": r.pk, "procedure": first.pk, "step": r.step, "profile": r.profile_id, "role": r.role}
        for r in first.responsibilities.all()
    ]
    for row in rows:
        if row["step"] == "OPS-4":
            row["profile"] = operator.pk if row["role"] == "A" else coordinator.pk
    data = {"name": "Operations, revised"}
    data.update(inline("responsibilities", rows, initial=len(rows)))
    response = admin_client.post(f"{ADMIN}/procedure/{first.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]

    first.refresh_from_db()
    second = Procedure.objects.get(active=True)
    assert (first.active, second.version, second.name) == (False, 2, "Operations, revised")
    assert services.procedure_raci(second)["OPS-4"] == {operator: ("A",), coordinator: ("R",)}
    assert services.procedure_raci(first)["OPS-4"] == {coordinator: ("A",), operator: ("R",)}
    # The version replaced is history: it can be read, not changed.
    assert admin_client.post(f"{ADMIN}/procedure/{first.pk}/change/", data).status_code == 403


def test_holders_are_reassigned_through_the_inline(admin_client, provider, coordinator, procedure):
    alice = services.create_person(provider, "Alice")
    bob = services.create_person(provider, "Bob")
    services.assign_holders(coordinator, [alice])
    link = coordinator.holders.through.objects.get()
    data = {"name": coordinator.name, "description": "", "provider": provider.pk}
    data.update(
        inline(
            "Profile_holders",
            [
                {"id": link.pk, "profile": coordinator.pk, "person": alice.pk, "DELETE": "on"},
                {"profile": coordinator.pk, "person": bob.pk},
            ],
            initial=1,
        )
    )
    response = admin_client.post(f"{ADMIN}/profile/{coordinator.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(coordinator.holders.all()) == [bob]
    procedure.refresh_from_db()
    assert (procedure.version, procedure.active) == (1, True)


def test_a_requester_inline_keeps_to_the_customers_provider(admin_client, provider, other_provider):
    customer = services.create_customer(provider, "town", "Town Hall")
    stranger = services.create_person(other_provider, "Stranger")
    data = {"provider": provider.pk, "code": "town", "name": "Town Hall", "kind": "external"}
    data["active"] = "on"
    data.update(inline("requesters", [{"person": stranger.pk, "active": "on"}]))
    response = admin_client.post(f"{ADMIN}/customer/{customer.pk}/change/", data)
    assert response.status_code == 200
    assert "belongs to another provider" in response.content.decode()
    assert not Requester.objects.exists()
