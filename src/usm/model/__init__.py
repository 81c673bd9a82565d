"""The USM process model (the WHAT) as data: pure Python, no Django.

`reference_model()` gives the five processes and eight workflows shipped with the package;
`validate()` checks any model against USM's ten design criteria.
"""

from usm.model.errors import ModelError
from usm.model.loader import load_model, reference_model
from usm.model.process import (
    Activity,
    CallType,
    Outcome,
    Process,
    Responsibility,
    Step,
    StepKind,
)
from usm.model.process_model import ProcessModel, Profile
from usm.model.workflow import Dynamicity, PathStep, Workflow, WorkflowKind

__all__ = [
    "Activity",
    "CallType",
    "Dynamicity",
    "ModelError",
    "Outcome",
    "PathStep",
    "Process",
    "ProcessModel",
    "Profile",
    "Responsibility",
    "Step",
    "StepKind",
    "Workflow",
    "WorkflowKind",
    "load_model",
    "reference_model",
]
