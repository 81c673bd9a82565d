"""The admin: its pages work, and its forms refuse what the services refuse, on the form."""

from datetime import date, time

import pytest

from usm.agreements import queries, services
from usm.agreements.models import Agreement, Calendar, MatrixCell, Norm

pytestmark = pytest.mark.django_db


def inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def calendar_form(provider, opening, holidays=(), exceptions=()) -> dict:
    return {
        "provider": provider.pk,
        "name": "Office",
        "time_zone": "Europe/Amsterdam",
        **inline("opening_hours", list(opening)),
        **inline("holidays", list(holidays)),
        **inline("exceptions", list(exceptions)),
    }


def errors_on(response) -> str:
    assert response.status_code == 200, "the form was accepted"
    return response.content.decode()


def test_every_page_opens(admin_client, sa):
    services.install_default_matrices(sa.provider)
    cell = MatrixCell.objects.first()
    for url in (
        "/admin/agreements/service/",
        "/admin/agreements/service/add/",
        f"/admin/agreements/service/{sa.services.get().pk}/change/",
        "/admin/agreements/calendar/",
        "/admin/agreements/calendar/add/",
        f"/admin/agreements/calendar/{sa.calendar_id}/change/",
        "/admin/agreements/agreement/?kind__exact=SA&q=city",
        "/admin/agreements/agreement/add/",
        f"/admin/agreements/agreement/{sa.pk}/change/",
        "/admin/agreements/matrixcell/?matrix__exact=risk",
        f"/admin/agreements/matrixcell/{cell.pk}/change/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_a_calendar_and_its_rows_are_added_together(admin_client, provider):
    response = admin_client.post(
        "/admin/agreements/calendar/add/",
        calendar_form(
            provider,
            [{"weekday": 0, "opens": "08:00", "closes": "00:00"}],
            holidays=[{"date": "2026-12-25", "name": "Christmas"}],
        ),
    )
    assert response.status_code == 302, response.content.decode()
    calendar = Calendar.objects.get()
    assert calendar.opening_hours.get().closes == time(0)
    assert calendar.holidays.get().date == date(2026, 12, 25)


def test_overlapping_hours_are_an_error_on_the_form(admin_client, provider):
    response = admin_client.post(
        "/admin/agreements/calendar/add/",
        calendar_form(
            provider,
            [
                {"weekday": 0, "opens": "08:00", "closes": "12:00"},
                {"weekday": 0, "opens": "11:00", "closes": "13:00"},
            ],
        ),
    )
    assert "monday: 08:00–12:00 and 11:00–13:00 overlap" in errors_on(response)
    assert not Calendar.objects.exists()


def test_a_date_both_holiday_and_exception_is_an_error_on_the_form(admin_client, provider):
    response = admin_client.post(
        "/admin/agreements/calendar/add/",
        calendar_form(
            provider,
            [{"weekday": 0, "opens": "08:00", "closes": "17:00"}],
            holidays=[{"date": "2026-12-24", "name": ""}],
            exceptions=[{"date": "2026-12-24", "opens": "08:00", "closes": "12:00", "reason": ""}],
        ),
    )
    assert "both a holiday and an exception" in errors_on(response)
    assert not Calendar.objects.exists()


def agreement_form(sa, **changes) -> dict:
    data = {
        "provider": sa.provider_id,
        "kind": sa.kind,
        "code": sa.code,
        "name": sa.name,
        "customer": sa.customer_id,
        "team": "",
        "calendar": sa.calendar_id,
        "services": [s.pk for s in sa.services.all()],
        "valid_from": sa.valid_from.isoformat(),
        "valid_until": "",
        "status": sa.status,
        "version": sa.version,
    }
    norms = [
        {
            "id": norm.pk,
            "agreement": sa.pk,
            "call_type": norm.call_type,
            "priority": norm.priority,
            "response": norm.response,
            "resolution": norm.resolution,
            "unit": norm.unit,
            "basis": norm.basis,
        }
        for norm in sa.norms.all()
    ]
    data.update(inline("norms", norms, initial=len(norms)))
    data.update(changes)
    return data


def test_an_agreement_is_saved_as_a_new_version(admin_client, sa):
    response = admin_client.post(
        f"/admin/agreements/agreement/{sa.pk}/change/",
        agreement_form(sa, name="City SA 2026", **{"norms-0-resolution": 6}),
    )
    assert response.status_code == 302, response.content.decode()
    saved = Agreement.objects.get(pk=sa.pk)
    assert (saved.name, saved.version) == ("City SA 2026", 2)
    assert queries.norm_for(saved, "incident", 1).resolution == 6


def test_saving_over_someone_elses_change_is_refused(admin_client, sa):
    form = agreement_form(sa, name="Mine")
    services.update_agreement(sa, 1, name="Theirs")
    response = admin_client.post(f"/admin/agreements/agreement/{sa.pk}/change/", form)
    assert "was changed by someone else" in errors_on(response)
    assert Agreement.objects.get(pk=sa.pk).name == "Theirs"


def test_an_agreement_with_the_wrong_party_is_refused_on_the_form(admin_client, sa, team):
    response = admin_client.post(
        f"/admin/agreements/agreement/{sa.pk}/change/",
        agreement_form(sa, kind="UC", customer="", team=team.pk),
    )
    assert "an underpinning contract is made with an external supplier" in errors_on(response)
    assert Agreement.objects.get(pk=sa.pk).kind == "SA"


def test_a_norm_resolving_before_its_response_is_refused_on_the_form(admin_client, sa):
    response = admin_client.post(
        f"/admin/agreements/agreement/{sa.pk}/change/",
        agreement_form(sa, **{"norms-0-response": 9}),
    )
    assert "cannot be shorter than the response target" in errors_on(response)
    assert Norm.objects.get(agreement=sa, priority=1).response == 2


def test_a_matrix_cell_changes_only_if_the_matrix_stays_usable(admin_client, provider):
    services.install_default_matrices(provider)
    corner = MatrixCell.objects.get(matrix="priority", row=3, column=3)
    url = f"/admin/agreements/matrixcell/{corner.pk}/change/"
    assert "more severe priority" in errors_on(admin_client.post(url, {"result": 1}))
    assert admin_client.post(url, {"result": 4}).status_code == 302
    assert queries.priority(provider, 3, 3) == 4
    assert MatrixCell.objects.get(pk=corner.pk).result == 4


def test_a_covered_service_cannot_be_deleted_in_the_admin(admin_client, sa):
    service = sa.services.get()
    response = admin_client.post(f"/admin/agreements/service/{service.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert sa.services.exists()
