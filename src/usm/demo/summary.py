"""What a simulation left in the register, read back from the database: the figures `usm demo`
prints and its tests check. Read-only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import F

from usm.calls.models import Call, CallEvent, CallLink

ENDED = ("closed", "aborted")


@dataclass
class Summary:
    calls: Counter = field(default_factory=Counter)  # call type -> calls
    workflows: Counter = field(default_factory=Counter)  # workflow number -> workflows (roots)
    forks: Counter = field(default_factory=Counter)  # "INC>OPS" -> forks
    open_calls: int = 0
    on_hold: int = 0
    holds: int = 0
    breaches: int = 0
    risks_raised_at_evaluation: int = 0
    monitoring_incidents: int = 0
    monitoring_repeats: int = 0
    reclassified: int = 0
    aborted_workflows: int = 0
    repeated_steps: int = 0
    steps: int = 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def lines(self) -> list[str]:
        types = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(self.calls.items()))
        workflows = ", ".join(f"WF{n}: {count}" for n, count in sorted(self.workflows.items()))
        forks = ", ".join(f"{pair}: {n}" for pair, n in sorted(self.forks.items()))
        return [
            f"{self.total} calls ({types}); {self.open_calls} still open, {self.on_hold} on hold",
            f"workflows by template: {workflows}",
            f"forks: {forks}",
            f"{self.steps} steps done; {self.breaches} deadlines breached; {self.holds} holds on "
            f"requesters; {self.repeated_steps} steps repeated; {self.aborted_workflows} "
            f"workflows aborted; {self.reclassified} calls reclassified by the desk",
            f"{self.monitoring_incidents} monitoring incidents ({self.monitoring_repeats} repeated "
            f"alerts folded into them); {self.risks_raised_at_evaluation} risks raised at "
            "evaluation",
        ]


def summarise(provider) -> Summary:
    calls = Call.objects.filter(provider=provider)
    events = CallEvent.objects.filter(provider=provider)
    found = Summary()
    found.calls.update(dict(Counter(calls.values_list("call_type", flat=True))))
    roots = calls.filter(parent__isnull=True, workflow__isnull=False)
    found.workflows.update(Counter(roots.values_list("workflow", flat=True)))
    forked = CallLink.objects.filter(source__provider=provider, kind="forked_into")
    found.forks.update(
        f"{source}>{target}"
        for source, target in forked.values_list("source__process", "target__process")
    )
    found.open_calls = calls.exclude(status__in=ENDED).count()
    found.on_hold = calls.filter(status="on_hold").count()
    kinds = Counter(events.values_list("kind", flat=True))
    found.holds = kinds["held"]
    found.breaches = kinds["deadline_breached"]
    found.monitoring_repeats = kinds["monitoring_repeat"]
    found.reclassified = kinds["reclassified"]
    found.repeated_steps = kinds["repeated"]
    found.steps = kinds["step_completed"]
    found.aborted_workflows = calls.filter(status="aborted", parent__isnull=True).count()
    found.monitoring_incidents = calls.filter(channel="monitoring").count()
    # A risk raised at an evaluation is registered in the same instant its source closes.
    found.risks_raised_at_evaluation = (
        CallLink.objects.filter(source__provider=provider, kind="raised", target__call_type="risk")
        .filter(source__closed_at=F("target__created_at"))
        .count()
    )
    return found
