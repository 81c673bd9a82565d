"""The process model over the API: read-only, the same for every provider."""

from django.http import Http404
from ninja import Router

from usm.model import reference_model
from usm.model.frameworks import coverage, framework, load_frameworks, overlap
from usm.model.frameworks.analysis import practice_processes, practice_workflows
from usm.model.frameworks.catalogue import CatalogueError
from usm.model.io.plain import model_as_json, process_as_json, workflow_as_json
from usm.model.validator import validate

router = Router(tags=["model"])


@router.get("/", summary="The whole process model")
def whole_model(request):
    return model_as_json(reference_model())


@router.get("/processes/{code}", summary="One process and its steps")
def one_process(request, code: str):
    process = reference_model().processes.get(code.upper())
    if process is None:
        raise Http404(f"There is no process {code}.")
    return process_as_json(process)


@router.get("/workflows/{number}", summary="One workflow template and its path")
def one_workflow(request, number: int):
    model = reference_model()
    try:
        return workflow_as_json(model, model.workflow(number))
    except KeyError:
        raise Http404(f"There is no workflow {number}.") from None


@router.get("/validation", summary="The model checked against the ten design criteria")
def validation(request):
    return validate(reference_model(), frameworks=load_frameworks()).as_json()


@router.get("/frameworks", summary="Framework catalogues and how each practice is realised")
def framework_list(request, framework_id: str | None = None):
    model = reference_model()
    chosen = load_frameworks().values()
    if framework_id:
        try:
            chosen = [framework(framework_id)]
        except (CatalogueError, KeyError) as exc:
            raise Http404(str(exc)) from None
    return [
        {
            "id": f.id,
            "name": f.name,
            "edition": f.edition,
            "practices": [
                {
                    "id": p.id,
                    "name": p.name,
                    "group": p.group,
                    "description": p.description,
                    "steps": list(p.steps),
                    "processes": list(practice_processes(model, p)),
                    "workflows": [w.number for w in practice_workflows(model, p)],
                    "who_how": p.who_how,
                    "rationale": p.rationale,
                }
                for p in f.practices
            ],
        }
        for f in chosen
    ]


@router.get("/frameworks/coverage", summary="Practices realised per framework")
def framework_coverage(request):
    return [c.as_json() for c in coverage(reference_model(), load_frameworks())]


@router.get("/frameworks/overlap", summary="Steps claimed by several practices")
def framework_overlap(request, frameworks: str):
    """`frameworks` is a comma-separated list of framework ids, e.g. `itil4,fitsm`."""
    try:
        chosen = [framework(f) for f in frameworks.split(",") if f.strip()]
    except (CatalogueError, KeyError) as exc:
        raise Http404(str(exc)) from None
    practices = [p for f in chosen for p in f.practices]
    return overlap(reference_model(), practices).as_json()
