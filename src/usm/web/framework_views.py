"""The practices of ITIL, COBIT and FitSM set against the USM model: a practices x steps matrix
with the steps several frameworks claim highlighted."""

from __future__ import annotations

from collections import defaultdict

from django.shortcuts import render
from django.views.decorators.http import require_GET

from usm.model import reference_model
from usm.model.frameworks import coverage, load_frameworks


@require_GET
def matrix(request):
    model = reference_model()
    frameworks = load_frameworks()
    chosen = [f for f in request.GET.getlist("framework") if f in frameworks] or ["itil4", "fitsm"]
    practices = [p for f in chosen for p in frameworks[f].practices]
    claimed_by: dict[str, set[str]] = defaultdict(set)
    for practice in practices:
        for step_id in practice.steps:
            claimed_by[step_id].add(practice.framework)
    columns = [
        {
            "process": process,
            "steps": [
                {
                    "step": step,
                    "frameworks": len(claimed_by[step.id]),
                    "shared": len(claimed_by[step.id]) > 1,
                }
                for step in process.steps
            ],
        }
        for process in model.processes.values()
    ]
    rows = [
        {
            "practice": p,
            "framework": frameworks[p.framework].name,
            "cells": [
                step.id in p.steps for process in model.processes.values() for step in process.steps
            ],
        }
        for p in practices
    ]
    shared = [step_id for step_id, names in claimed_by.items() if len(names) > 1]
    return render(
        request,
        "web/model/frameworks.html",
        {
            "frameworks": frameworks.values(),
            "chosen": chosen,
            "coverage": coverage(model, frameworks),
            "columns": columns,
            "rows": rows,
            "shared_count": len(shared),
            "step_count": sum(1 for _ in model.steps),
        },
    )
