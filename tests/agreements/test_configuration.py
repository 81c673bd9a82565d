"""The configuration the engine keeps in memory is dropped the moment a row it was read from
changes, whoever changes it: the services, a queryset update (no signals), raw SQL, or a change
that is rolled back. Each test first makes the engine read (and keep) the configuration, then
changes the rows behind its back and checks the next answer follows the rows."""

from datetime import date

import pytest
from django.db import connection, transaction

from usm.agreements import configuration, queries, services
from usm.agreements.models import Holiday, MatrixCell, Norm
from usm.organisation import queries as organisation_queries
from usm.organisation.models import Procedure, Profile, StepResponsibility

from .conftest import local

pytestmark = pytest.mark.django_db(transaction=True)

OPENED = local("2026-04-03 15:00")  # Friday; P1 resolution 8 business hours later
BEFORE_EASTER = local("2026-04-06 15:00")
AFTER_EASTER = local("2026-04-07 15:00")


def resolution(sa):
    return queries.deadlines(sa, "incident", 1, OPENED).resolution_due


def test_a_holiday_written_by_raw_sql_moves_the_next_deadline(sa, office):
    assert resolution(sa) == BEFORE_EASTER
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Holiday._meta.db_table} (calendar_id, date, name) VALUES (%s, %s, %s)",
            [office.pk, date(2026, 4, 6), "Easter Monday"],
        )
    assert resolution(sa) == AFTER_EASTER


def test_a_norm_changed_by_a_queryset_update_is_read_again(sa):
    assert resolution(sa) == BEFORE_EASTER
    Norm.objects.filter(agreement=sa, priority=1).update(resolution=10)
    # Fri 15-17 (2) + Mon 08-12 (4) + 13-17 (4) = Mon 17:00.
    assert resolution(sa) == local("2026-04-06 17:00")


def test_a_rolled_back_change_leaves_what_is_kept_as_the_rows_are(sa, office):
    assert resolution(sa) == BEFORE_EASTER
    with pytest.raises(RuntimeError), transaction.atomic():
        services.add_holiday(office, date(2026, 4, 6), "Easter Monday")
        assert resolution(sa) == AFTER_EASTER  # seen inside the transaction that made it
        raise RuntimeError("undo")
    assert resolution(sa) == BEFORE_EASTER
    services.add_holiday(office, date(2026, 4, 7), "A later day off")
    # Fri 15-17 (2) + Mon 6 April 08-12 (4) + 13-15 (2): Tuesday's holiday is after the deadline.
    assert resolution(sa) == BEFORE_EASTER


def test_a_deleted_agreement_no_longer_applies(sa, customer, mail):
    assert queries.applicable_agreement(customer, mail, OPENED) == sa
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Norm._meta.db_table} WHERE agreement_id = %s", [sa.pk])
        cursor.execute(f"DELETE FROM {sa.services.through._meta.db_table}")
    assert queries.applicable_agreement(customer, mail, OPENED) is None


def test_a_matrix_cell_changed_behind_the_services_changes_the_priority(provider):
    assert queries.priority(provider, 1, 1) == 1  # the default matrix
    MatrixCell.objects.create(provider=provider, matrix="priority", row=1, column=1, result=4)
    assert queries.priority(provider, 1, 1) == 4
    MatrixCell.objects.filter(provider=provider).update(result=3)
    assert queries.priority(provider, 1, 1) == 3


def test_a_new_responsible_profile_takes_the_step_at_once(provider):
    procedure = Procedure.objects.create(provider=provider, workflow=5, name="WF5", active=True)
    desk = Profile.objects.create(provider=provider, name="B desk")
    StepResponsibility.objects.create(procedure=procedure, step="OPS-1", role="R", profile=desk)
    roles = configuration.of(provider.pk).step_roles(organisation_queries.step_roles)
    assert organisation_queries.step_holders(provider.pk, [5], "OPS-1", roles).responsible_id == (
        desk.pk
    )
    earlier = Profile.objects.create(provider=provider, name="A desk")  # first by name
    StepResponsibility.objects.filter(profile=desk).update(profile=earlier)
    roles = configuration.of(provider.pk).step_roles(organisation_queries.step_roles)
    assert organisation_queries.step_holders(provider.pk, [5], "OPS-1", roles).responsible_id == (
        earlier.pk
    )


def test_one_read_serves_until_a_row_changes(sa, django_assert_num_queries):
    resolution(sa)
    # Kept: only the stamp is read (one statement per question asked of the configuration).
    with django_assert_num_queries(2):
        assert resolution(sa) == BEFORE_EASTER
