"""The dashboard's two computations run side by side on connections of their own, outside a
transaction; inside one (or when one fails) they behave as if run one after the other."""

import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction

from tests.control.conftest import MONDAY, register
from usm.calls.models import Call
from usm.control.services import record_workflow_checks
from usm.control.side_by_side import side_by_side

DAY = {"start": "2024-03-04", "end": "2024-03-04"}


def _where_and_with_what() -> tuple[int, object]:
    return threading.get_ident(), Call.objects.count()


@pytest.mark.django_db(transaction=True)
def test_beside_runs_in_a_thread_of_its_own_that_closes_its_connection(desk, staff):
    register(desk, staff, "incident", MONDAY)
    seen = {}

    def beside():
        seen["connection"] = connections["default"]  # this thread's own
        seen["connection"].ensure_connection()
        return _where_and_with_what()

    (here_thread, here_count), (beside_thread, beside_count) = side_by_side(
        _where_and_with_what, beside
    )
    assert here_thread == threading.get_ident() != beside_thread
    assert here_count == beside_count == 1  # both read the committed row
    assert seen["connection"] is not connections["default"]
    assert seen["connection"].connection is None  # closed with its thread


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_both_run_here(desk, staff):
    with transaction.atomic():
        register(desk, staff, "incident", MONDAY)
        here, beside = side_by_side(_where_and_with_what, _where_and_with_what)
    assert here == beside == (threading.get_ident(), 1)  # the uncommitted row, seen by both


@pytest.mark.django_db(transaction=True)
def test_a_failure_beside_reaches_the_caller(desk):
    def failing():
        raise ValueError("no figures")

    with pytest.raises(ValueError, match="no figures"):
        side_by_side(_where_and_with_what, failing)


def _unstamped(figures):
    # The moment each computation was made differs by the time between the two pages.
    return (
        {k: v for k, v in figures.items() if k != "as_of"} if isinstance(figures, dict) else figures
    )


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_side_by_side_shows_what_it_shows_in_a_transaction(desk_client, walk):
    walk(4)
    walk(3, every=timedelta(minutes=20))
    walk(5, start=MONDAY - timedelta(days=3))
    record_workflow_checks()
    apart = desk_client.get("/control/", DAY).context
    with transaction.atomic():
        together = desk_client.get("/control/", DAY).context
    for key in ("figures", "conformance", "processes", "workflows"):
        assert _unstamped(apart[key]) == _unstamped(together[key]), key
    assert apart["conformance"]["checked"] == 2 and apart["totals"]["intake"] == 5
