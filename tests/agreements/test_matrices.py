"""The priority and risk matrices: the defaults, what a provider may set, and classification."""

import pytest
from django.core.exceptions import ValidationError

from usm.agreements import queries, services
from usm.agreements.models import MatrixCell

pytestmark = pytest.mark.django_db

# The tables as USM.md and the docs give them, written out so that a change to the defaults
# has to be made twice.
PRIORITY = {
    (1, 1): 1, (1, 2): 2, (1, 3): 3,
    (2, 1): 2, (2, 2): 3, (2, 3): 4,
    (3, 1): 3, (3, 2): 4, (3, 3): 5,
}  # fmt: skip
RISK = [
    [1, 1, 1, 2, 3],
    [1, 1, 2, 2, 3],
    [1, 2, 2, 3, 4],
    [2, 2, 3, 3, 4],
    [3, 3, 4, 4, 4],
]


def refusal(kind, cells, provider) -> str:
    with pytest.raises(ValidationError) as refused:
        services.set_matrix(provider, kind, cells)
    return " | ".join(refused.value.message_dict["cells"])


def test_a_provider_without_matrices_classifies_with_the_defaults(provider):
    assert not MatrixCell.objects.exists()
    assert {key: queries.priority(provider, *key) for key in PRIORITY} == PRIORITY
    assert queries.risk_level(provider, 1, 1) == 1
    assert queries.risk_level(provider, 5, 5) == 4
    assert queries.matrix(provider, "priority")[1] is False


def test_installing_the_defaults_writes_them_as_rows(provider):
    services.install_default_matrices(provider)
    stored = {(c.row, c.column): c.result for c in MatrixCell.objects.filter(matrix="priority")}
    assert stored == PRIORITY
    risk = MatrixCell.objects.filter(provider=provider, matrix="risk")
    assert [[c.result for c in risk if c.row == row] for row in range(1, 6)] == RISK
    assert queries.risk_level(provider, 3, 2) == 2
    assert queries.matrix(provider, "risk")[1] is True
    # Installing again replaces, it does not add.
    services.install_default_matrices(provider)
    assert MatrixCell.objects.count() == 9 + 25


def test_a_provider_sets_its_own_matrix(provider, other_provider):
    services.set_matrix(provider, "priority", [(1, 1, 1), (1, 2, 2), (2, 1, 2), (2, 2, 2)])
    assert queries.priority(provider, 2, 2) == 2
    assert queries.priority(other_provider, 2, 2) == 3  # still the default
    with pytest.raises(ValidationError) as refused:
        queries.priority(provider, 3, 1)
    assert refused.value.message_dict == {
        "impact": ["must be a level from 1 (highest) to 2 on the priority matrix"]
    }
    with pytest.raises(ValidationError) as refused:
        queries.risk_level(provider, 1, 6)
    assert list(refused.value.message_dict) == ["likelihood"]


def test_an_incomplete_matrix_is_refused(provider):
    cells = dict(PRIORITY)
    del cells[2, 3]
    assert refusal("priority", cells, provider) == (
        "every impact x urgency cell needs a priority; missing impact 2 x urgency 3"
    )
    assert not MatrixCell.objects.exists()


def test_levels_must_run_from_one_without_gaps(provider):
    cells = {key: (value + 1 if value > 2 else value) for key, value in PRIORITY.items()}
    assert refusal("priority", cells, provider) == (
        "priority levels run from 1 without gaps; no cell gives 3"
    )
    assert "no cell gives 1" in refusal("risk", {(1, 1): 2}, provider)


def test_a_less_severe_row_never_gives_a_more_severe_result(provider):
    cells = dict(PRIORITY)
    cells[3, 3] = 2
    assert "impact 3 x urgency 3 gives a more severe priority (2)" in refusal(
        "priority", cells, provider
    )


def test_malformed_cells_are_refused(provider):
    assert "given twice" in refusal("risk", [(1, 1, 1), (1, 1, 1)], provider)
    assert "whole numbers from 1" in refusal("risk", [(0, 1, 1)], provider)
    assert "at least one cell" in refusal("risk", [], provider)
    assert "at most 9 effect levels" in refusal(
        "risk", [(row, 1, 1) for row in range(1, 11)], provider
    )
    with pytest.raises(ValidationError) as refused:
        services.set_matrix(provider, "colour", PRIORITY)
    assert "matrix" in refused.value.message_dict


def test_one_cell_is_changed_only_if_the_matrix_stays_usable(provider):
    services.set_matrix_cell(provider, "priority", 3, 3, 4)
    assert queries.priority(provider, 3, 3) == 4
    assert MatrixCell.objects.filter(matrix="priority").count() == 9
    with pytest.raises(ValidationError):
        services.set_matrix_cell(provider, "priority", 1, 1, 5)
    assert queries.priority(provider, 1, 1) == 1
