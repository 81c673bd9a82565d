"""Checks a process model against USM's ten design criteria.

Each check reports violations with the criterion number, where it was found and what is wrong.
What a machine cannot judge is listed as unchecked, with the reason, so a clean report never
claims more than was proven.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from usm.model.frameworks.analysis import unrealised
from usm.model.frameworks.catalogue import Framework
from usm.model.loader import criteria
from usm.model.process import Responsibility, Step, StepKind
from usm.model.process_model import ProcessModel
from usm.model.wording import Wording, is_verb, normal_text
from usm.model.workflow import Dynamicity, Workflow


@dataclass(frozen=True)
class Violation:
    criterion: int
    where: str
    message: str


@dataclass(frozen=True)
class Unchecked:
    criterion: int
    reason: str


@dataclass
class Report:
    model: str
    processes: int
    workflows: int
    violations: list[Violation] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.violations

    def as_json(self) -> dict:
        return {
            "model": self.model,
            "processes": self.processes,
            "workflows": self.workflows,
            "violations": [asdict(v) for v in self.violations],
            "unchecked": [asdict(u) for u in self.unchecked],
        }


class _Validation:
    def __init__(self, model: ProcessModel, frameworks, names: Iterable[str]):
        self.model = model
        self.frameworks = frameworks
        self.report = Report(model.name, len(model.processes), len(model.workflows))
        terms = {p.code for p in model.processes.values()} | {
            word for p in model.processes.values() for word in re.findall(r"\w+", p.name)
        }
        profile_names = {p.name for p in model.profiles.values()}
        self.wording = Wording(allowed_terms=terms, names=set(names) | profile_names)

    def violation(self, criterion: int, where: str, message: str) -> None:
        found = Violation(criterion, where, message)
        # A step's name and description may say the same wrong thing; report it once.
        if found not in self.report.violations:
            self.report.violations.append(found)

    def unchecked(self, criterion: int, reason: str) -> None:
        self.report.unchecked.append(Unchecked(criterion, reason))

    def run(self) -> Report:
        for criterion, where, message in self.model.reading_violations:
            self.violation(criterion, where, message)
        self.texts_name_no_one()  # 1 and 4
        self.processes_are_verbs()  # 2
        self.triggers_are_countable()  # 3
        self.purposes_are_unique()  # 5
        self.workflows_organise_processes()  # 7
        self.model_is_integral()  # 8
        self.activities_occur_once()  # 9
        self.activities_are_steered()  # 10
        for criterion in criteria():
            # 8 and 10 are unchecked only when their input is missing; their checks say so.
            if criterion.get("unchecked") and criterion["number"] not in (8, 10):
                self.unchecked(criterion["number"], criterion["unchecked"])
        self.report.violations.sort(key=lambda v: (v.criterion, v.where))
        self.report.unchecked.sort(key=lambda u: u.criterion)
        return self.report

    # -- criteria 1 and 4: the WHO and the HOW stay out of the process ------------------------------
    def texts_name_no_one(self) -> None:
        for step in self.model.steps:
            for where, text in step.texts:
                for naming in self.wording.namings(text):
                    self.violation(naming.criterion, where, f"'{naming.word}' {naming.reason}")

    # -- criterion 2 --------------------------------------------------------------------------------
    def processes_are_verbs(self) -> None:
        for process in self.model.processes.values():
            verb = process.verb
            if not re.fullmatch(r"[A-Za-z]+", verb) or not is_verb(verb):
                self.violation(
                    2, process.code, f"'{verb}' is not a verb, so the process is not an activity"
                )

    # -- criterion 3 --------------------------------------------------------------------------------
    def triggers_are_countable(self) -> None:
        by_trigger = defaultdict(list)
        for process in self.model.processes.values():
            by_trigger[process.trigger].append(process.code)
            if process.trigger not in self.model.call_types:
                self.violation(
                    3,
                    process.code,
                    f"trigger '{process.trigger}' is not a declared call type, so its executions "
                    "cannot be counted as calls",
                )
        for trigger, codes in by_trigger.items():
            if len(codes) > 1:
                self.violation(
                    3,
                    ", ".join(codes),
                    f"processes share the trigger '{trigger}'; a call of that type cannot be "
                    "counted against one process",
                )

    # -- criterion 5 --------------------------------------------------------------------------------
    def purposes_are_unique(self) -> None:
        seen: dict[str, str] = {}
        for process in self.model.processes.values():
            if not process.purpose.strip():
                self.violation(5, process.code, "states no purpose")
                continue
            if not process.output.strip():
                self.violation(5, process.code, "states no output")
            key = normal_text(process.purpose)
            if key in seen:
                self.violation(5, process.code, f"has the same purpose as {seen[key]}")
            seen.setdefault(key, process.code)

    # -- criterion 7 --------------------------------------------------------------------------------
    def workflows_organise_processes(self) -> None:
        entered: set[str] = set()
        by_trigger = defaultdict(list)
        for workflow in self.model.workflows:
            by_trigger[workflow.trigger].append(workflow)
            entered.update(workflow.processes)
            self.check_workflow(workflow)
        for code, process in self.model.processes.items():
            if code not in entered:
                self.violation(7, code, "is entered by no workflow")
            for step in process.steps:
                for outcome in step.outcomes:
                    target = next((s for s in process.steps if s.id == outcome.next), None)
                    if outcome.next and (target is None or target.position <= step.position):
                        self.violation(
                            7,
                            step.where,
                            f"outcome '{outcome.code}' continues at {outcome.next}, which is not "
                            f"a later step of {code}",
                        )
        for trigger, flows in by_trigger.items():
            if len(flows) > 1:
                for workflow in flows:
                    if workflow.dynamicity is Dynamicity.STATIC:
                        self.violation(
                            7,
                            workflow.label,
                            f"is static but shares the trigger '{trigger}' with another workflow; "
                            "which one applies is only known at the fork, so it must be dynamic",
                        )

    def check_workflow(self, workflow: Workflow) -> None:
        where = workflow.label
        if not workflow.processes:
            self.violation(7, where, "enters no known process")
            return
        unknown = [code for code in workflow.processes if code not in self.model.processes]
        for code in unknown:
            self.violation(7, where, f"enters the unknown process '{code}'")
        if unknown:
            return
        start = self.model.processes[workflow.start]
        if start.trigger != workflow.trigger:
            self.violation(
                7,
                where,
                f"is triggered by '{workflow.trigger}' but starts in {start.code}, which "
                f"'{start.trigger}' triggers",
            )
        for caller, callee in zip(workflow.processes, workflow.processes[1:], strict=False):
            if callee not in self.model.processes[caller].fork_targets:
                self.violation(
                    7, where, f"forks from {caller} to {callee}, which USM does not allow"
                )
        if workflow.step_ids is not None:
            missing = [s for s in workflow.step_ids if not self._has_step(s)]
            for step_id in missing:
                self.violation(7, where, f"walks the unknown step '{step_id}'")
        path = [p.step for p in self.model.path(workflow)]
        if not path:
            self.violation(7, where, "walks no steps")
            return
        partial = workflow.step_ids is not None and len(workflow.processes) == 1
        if partial and start.fork_step is not None:
            self.unchecked(
                7,
                f"{where} holds only the steps of {start.code}; the processes it forks into are "
                "not in the file, so its fork was not checked",
            )
        self.check_path(where, path, start.code, partial=partial)

    def _has_step(self, step_id: str) -> bool:
        return any(s.id == step_id for s in self.model.steps)

    def check_path(self, where: str, path: list[Step], start: str, *, partial: bool) -> None:
        first, last = path[0], path[-1]
        if first.process != start or first.kind is not StepKind.ACCEPT:
            self.violation(7, where, f"starts at {first.id}, not at the accept step of {start}")
        if last.process != start or last.kind is not StepKind.EVALUATE:
            self.violation(
                7,
                where,
                f"ends at {last.id}, not at the evaluate-and-close step of {start}: a workflow is "
                "closed by the process that accepted it",
            )
        # Walk the path with a stack of open process visits: (process, last step done there).
        visits: list[tuple[str, Step]] = [(first.process, first)]
        for step in path[1:]:
            current, done = visits[-1]
            if step.process == current:
                if step.position <= done.position:
                    self.violation(7, where, f"walks {step.id} after {done.id}, out of order")
                visits[-1] = (current, step)
            elif done.kind is StepKind.FORK and step.process in done.fork_to:
                if step.kind is not StepKind.ACCEPT:
                    self.violation(7, where, f"enters {step.process} at {step.id}, not its accept")
                visits.append((step.process, step))
            elif len(visits) > 1 and step.process == visits[-2][0]:
                if done.kind is not StepKind.EVALUATE:
                    self.violation(
                        7,
                        where,
                        f"resumes {step.process} at {step.id} before {current} finished "
                        f"(left at {done.id})",
                    )
                visits.pop()
                caller, fork = visits[-1]
                if step.position <= fork.position:
                    self.violation(7, where, f"resumes {caller} at {step.id}, not after {fork.id}")
                visits[-1] = (caller, step)
            else:
                self.violation(
                    7,
                    where,
                    f"goes from {done.id} ({current}) to {step.id} ({step.process}) without a fork "
                    "that allows it",
                )
                visits.append((step.process, step))
        for step in path:
            if step.kind is StepKind.FORK and not partial:
                following = path[path.index(step) + 1] if step is not last else None
                if following is None or following.process == step.process:
                    self.violation(7, where, f"fork {step.id} hands over to no process")

    # -- criterion 8 --------------------------------------------------------------------------------
    def model_is_integral(self) -> None:
        if self.model.partial:
            present = ", ".join(self.model.processes) or "no process"
            self.unchecked(
                8,
                f"the files hold only part of a model ({present}); whether a model is integral "
                "is judged on the whole of it",
            )
            return
        for code, call_type in self.model.call_types.items():
            if self.model.process_for(code) is None:
                self.violation(8, code, f"no process handles the call type '{call_type.name}'")
        if not self.frameworks:
            self.unchecked(
                8,
                "no framework catalogue is loaded, so there is no list of "
                "service-management activities to compare the model with",
            )
            return
        mapped = {step for f in self.frameworks.values() for p in f.practices for step in p.steps}
        if not mapped & {step.id for step in self.model.steps}:
            # Files from another tool carry their own step ids; the catalogues map onto USM's.
            self.unchecked(
                8,
                "the model's steps carry none of the step ids the framework catalogues map to, "
                "so practices cannot be traced to its steps",
            )
            return
        for where, message in unrealised(self.model, self.frameworks):
            self.violation(8, where, message)

    # -- criterion 9 --------------------------------------------------------------------------------
    def activities_occur_once(self) -> None:
        owners: dict[str, list[str]] = defaultdict(list)
        texts: dict[str, list[str]] = defaultdict(list)
        for step in self.model.steps:
            owners[step.id].append(step.process)
            # Accept, classify, review and evaluate recur in every process by USM's design; only
            # the process-specific steps can hold an activity that another process repeats.
            if step.kind not in (StepKind.CORE, StepKind.FORK):
                for activity in step.activities:
                    owners[activity.id].append(step.process)
            elif step.activities:
                for activity in step.activities:
                    owners[activity.id].append(step.process)
                    if activity.description:
                        texts[normal_text(activity.description)].append(
                            step.activity_where(activity)
                        )
            elif step.description:
                texts[normal_text(step.description)].append(step.where)
        for identifier, processes in owners.items():
            if len(processes) > 1:
                self.violation(
                    9,
                    identifier,
                    f"occurs {len(processes)} times (in {', '.join(sorted(set(processes)))})",
                )
        for places in texts.values():
            if len(places) > 1:
                self.violation(
                    9, places[0], f"the same activity is also described at {', '.join(places[1:])}"
                )
        for workflow in self.model.workflows:
            seen: set[str] = set()
            for path_step in self.model.path(workflow):
                if path_step.step.id in seen:
                    self.violation(9, workflow.label, f"walks {path_step.step.id} twice")
                seen.add(path_step.step.id)

    # -- criterion 10 -------------------------------------------------------------------------------
    def activities_are_steered(self) -> None:
        activities = [(s.activity_where(a), a) for s in self.model.steps for a in s.activities]
        if not self.model.profiles and not any(a.responsibilities for _, a in activities):
            self.unchecked(
                10,
                "no procedure is supplied, so nobody is named accountable; supply "
                "a USM-WIF workflow with profiles and responsibilities to check it",
            )
            return
        steps_without = [s for s in self.model.steps if not s.activities]
        for step in steps_without:
            self.violation(10, step.where, "has no activity carrying responsibilities")
        letters = {r.value for r in Responsibility}
        for where, activity in activities:
            accountable = [p for p, rs in activity.responsibilities.items() if "A" in rs]
            if len(accountable) != 1:
                named = f" ({', '.join(accountable)})" if accountable else ""
                self.violation(
                    10,
                    where,
                    f"has {len(accountable)} Accountable profiles{named}, needs exactly one",
                )
            for profile, given in activity.responsibilities.items():
                if self.model.profiles and profile not in self.model.profiles:
                    self.violation(10, where, f"names the undeclared profile '{profile}'")
                for letter in set(given) - letters:
                    self.violation(
                        10,
                        where,
                        f"gives '{profile}' the unknown responsibility "
                        f"'{letter}' (use R, A, C or I)",
                    )


def validate(
    model: ProcessModel,
    frameworks: Mapping[str, Framework] | None = None,
    names: Iterable[str] = (),
) -> Report:
    """Check `model` against the design criteria. `frameworks` are practice catalogues for
    criterion 8 (`load_frameworks()` gives the shipped ones); `names` are an organisation's profile,
    team and tool names for criterion 1."""
    return _Validation(model, frameworks, names).run()
