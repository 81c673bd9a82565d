"""The demo organisation's procedures: for each of the eight workflows, who is Responsible,
Accountable, Consulted and Informed on every step of its path.

The rules behind the table, so that a reader can check any cell:
- the workflow coordinator of a step's process is its one Accountable profile (USM: the workflow
  coordinator owns the output);
- the service desk accepts and classifies every call, and reviews delivery with the requester and
  closes the calls that accepted a workflow; a forked-into process is reviewed and closed by the
  team that did its work;
- the core and fork steps are done by the operator profile this workflow gives the process
  (`SOLVERS`), with that team's coordinator informed;
- the workflow manager is informed when a workflow closes.
"""

from __future__ import annotations

from usm.demo.catalogue import COORDINATORS, OPERATORS, WORKFLOW_MANAGER, team_coordinator
from usm.model import StepKind, reference_model

DESK = "Desk operator"

# Per workflow, the operator profile doing the core work of each process it enters; a step listed
# on its own (e.g. "OPS-4") overrides its process for that step.
SOLVERS: dict[int, dict[str, str]] = {
    1: {"CTM": "Service level officer", "CHM": "Application specialist", "OPS": DESK},
    2: {
        "CHM": "Infrastructure specialist",
        "OPS": "Operations centre operator",
        "OPS-4": "Datacentre engineer",
    },
    3: {
        "INC": "Application specialist",
        "CHM": "Application specialist",
        "OPS": "Infrastructure specialist",
    },
    4: {"INC": "Workplace specialist", "INC-3": DESK, "OPS": "Workplace specialist"},
    5: {"OPS": "Operations centre operator", "OPS-4": "Workplace specialist"},
    6: {
        "IMP": "Problem analyst",
        "CTM": "Service level officer",
        "CHM": "Infrastructure specialist",
        "OPS": "Operations centre operator",
    },
    7: {
        "IMP": "Problem analyst",
        "CHM": "Network specialist",
        "OPS": "Network specialist",
        "OPS-4": "Carrier engineer",
    },
    8: {"IMP": "Problem analyst", "OPS": "Operations centre operator"},
}
# Accepting and classifying a risk is the analysts' work: risks come from the provider side.
FRONT = {"IMP": "Problem analyst"}


def _team_coordinator(operator: str) -> str | None:
    team = OPERATORS[operator]
    if team in ("Ashgrove Carrier Services", "Fernhill Datacentre Services"):
        return None  # a supplier's line manager is not ours to inform
    return team_coordinator(team)


def raci(workflow_number: int) -> dict[str, dict[str, str]]:
    """The RACI of every step of the workflow's path, in the form `set_procedure` takes."""
    model = reference_model()
    workflow = model.workflow(workflow_number)
    solvers = SOLVERS[workflow_number]
    accepting = workflow.processes[0]
    table: dict[str, dict[str, str]] = {}
    for path_step in model.path(workflow):
        step = path_step.step
        coordinator = COORDINATORS[step.process]
        solver = solvers.get(step.id) or solvers.get(step.process, DESK)
        if step.kind in (StepKind.ACCEPT, StepKind.CLASSIFY):
            doer = FRONT.get(step.process, DESK)
        elif step.kind in (StepKind.REVIEW, StepKind.EVALUATE):
            doer = DESK if step.process == accepting and accepting != "IMP" else solver
        else:
            doer = solver
        row = {coordinator: "A", doer: "R"}
        if step.kind in (StepKind.CORE, StepKind.FORK) and (lead := _team_coordinator(doer)):
            row.setdefault(lead, "I")
        if step.kind is StepKind.EVALUATE and step.process == accepting:
            row.setdefault(WORKFLOW_MANAGER, "I")
        if step.kind is StepKind.CORE and doer != DESK:
            row.setdefault(DESK, "I")
        table[step.id] = row
    return table


def name_of(workflow_number: int) -> str:
    return f"Orvane {reference_model().workflow(workflow_number).name.lower()}"
