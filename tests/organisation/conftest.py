"""Profiles and RACI tables the organisation tests share."""

import pytest

from usm.model import reference_model
from usm.organisation import services


def path_of(workflow: int) -> list[str]:
    model = reference_model()
    return [p.step.id for p in model.path(model.workflow(workflow))]


def full_raci(workflow: int, accountable, responsible) -> dict:
    """Every step of the workflow's path: one Accountable, one Responsible."""
    return {step: {accountable: "A", responsible: "R"} for step in path_of(workflow)}


@pytest.fixture
def coordinator(provider):
    return services.create_profile(provider, "Workflow coordinator")


@pytest.fixture
def operator(provider):
    return services.create_profile(provider, "Operations specialist")


@pytest.fixture
def procedure(provider, coordinator, operator):
    """The provider's procedure for WF5 (operations), in force."""
    return services.set_procedure(
        provider, 5, "Operations", full_raci(5, coordinator.name, operator.pk)
    )
