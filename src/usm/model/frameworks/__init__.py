"""Practices of other frameworks (ITIL v3, ITIL 4, COBIT, FitSM) and the USM steps that realise
them: the catalogues are data, the analysis shows coverage, overlap and unrealised practices."""

from usm.model.frameworks.analysis import (
    FrameworkCoverage,
    Overlap,
    StepClaim,
    coverage,
    is_realised,
    missing_steps,
    overlap,
    practice_processes,
    practice_workflows,
    read_practice_selection,
    unrealised,
)
from usm.model.frameworks.catalogue import (
    CatalogueError,
    Framework,
    Group,
    Practice,
    framework,
    load_catalogue,
    load_catalogues,
    load_frameworks,
)

__all__ = [
    "CatalogueError",
    "Framework",
    "FrameworkCoverage",
    "Group",
    "Overlap",
    "Practice",
    "StepClaim",
    "coverage",
    "framework",
    "is_realised",
    "load_catalogue",
    "load_catalogues",
    "load_frameworks",
    "missing_steps",
    "overlap",
    "practice_processes",
    "practice_workflows",
    "read_practice_selection",
    "unrealised",
]
