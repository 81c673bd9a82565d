"""Simulated days of service at the demo organisation, through the real engine.

Every change goes through `usm.calls.services` with the simulated instant as `at`: customers'
calls are registered, steps completed, calls forked, held and released, MIR changes recorded,
risks raised at evaluation, monitoring events taken in. Nothing here writes a call or an event
itself, so the register, the event log and the deadlines are exactly what the engine makes of
the same work done by hand.

The simulation is a queue of timed actions, done in time order. One `random.Random` decides
everything, consumed in that order, so the same seed and period give the same register.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef

from usm.calls import services as calls
from usm.calls.models import Call, CallEvent, CallLink
from usm.demo import arrivals, phrases
from usm.demo.arrivals import Arrival, pick
from usm.demo.catalogue import CUSTOMERS, SERVICES, public_holidays
from usm.demo.crew import Crew
from usm.demo.seed import DemoOrganisation
from usm.model import StepKind, reference_model

# What the desk and the teams decide along the way, as chances.
MISFILED = 0.04  # a requester's "incident" that is a service request: the desk reclassifies
REPRIORITISED = 0.08  # the desk corrects the impact at classification
HELD = 0.08  # the work waits on the requester (incidents and service requests)
WITHDRAWN = 0.03  # a wish the customer withdraws: the workflow is aborted
NO_DEAL = 0.2  # negotiation of a wish ends without an agreement
TEST_FAILS = 0.08  # a change fails its test and is prepared again
CAUSE_FOUND = 0.5  # root cause analysis finds the cause: a known error
RISK_AT_EVALUATION = {"INC": 0.03, "CHM": 0.04, "OPS": 0.01}
# A major incident (priority 1 or 2) always gets its cause looked into: its evaluation raises a risk.
MAJOR_INCIDENT = 2
RISK_IN_OPERATION = 0.01  # Operate's execution shows a risk
# Where a dynamic workflow goes at its fork (USM.md: known only there). Until every target of a
# fork step has been chosen once, the next unchosen one is taken, so that even a short run walks
# all eight workflows.
FORKS = {
    "INC-5": (("OPS", 0.68), ("CHM", 0.32)),  # WF4 or WF3
    "IMP-5": (("OPS", 0.45), ("CHM", 0.35), ("CTM", 0.20)),  # WF8, WF7 or WF6
}
# The MIR items monitoring watches, and the urgent incidents worked on call.
MONITORED = (
    "server",
    "virtual-server",
    "database",
    "switch",
    "network-link",
    "storage",
    "firewall",
)
ON_CALL_PRIORITY = 2
HANDOVER = timedelta(minutes=2)
FORKS_CLOSE_WAIT = timedelta(hours=1)  # a caller at its evaluation waits for its forks
SWEEP_HOUR = 23  # once a simulated day, overdue open calls have their breach recorded


@dataclass
class Simulation:
    org: DemoOrganisation
    rng: random.Random
    start: datetime
    end: datetime
    calls_per_day: float = 40.0
    on_day: Callable[[datetime], None] | None = None  # told when a simulated day has passed
    _queue: list = field(default_factory=list)
    _order: itertools.count = field(default_factory=itertools.count)
    _held_once: set[int] = field(default_factory=set)
    _forked_to: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.model = reference_model()
        self.crew = Crew(
            self.rng,
            self.org.office_hours,
            {team.pk: len(self.org.members[name]) for name, team in self.org.teams.items()},
        )
        self.members = {team.pk: self.org.members[name] for name, team in self.org.teams.items()}
        self.desk = self.org.teams["Service desk"]
        self.round_the_clock = {c.code for c in CUSTOMERS if c.level == "gold"}
        self.customer_ids = {self.org.customers[c.code].pk: c.code for c in CUSTOMERS}
        self.service_names = {spec.code: spec.name for spec in SERVICES}
        self.service_codes = {service.pk: code for code, service in self.org.services.items()}
        self.items_by_service: dict[str, list] = {}
        for identifier in sorted(self.org.mir_items):
            item = self.org.mir_items[identifier]
            for service in sorted(s.code for s in item.services.all()):
                self.items_by_service.setdefault(service, []).append(item)
        self.monitored = [
            self.org.mir_items[i]
            for i in sorted(self.org.mir_items)
            if self.org.mir_items[i].type in MONITORED
        ]
        self.analysts = self.org.members["Infrastructure"][:2]

    # -- the queue -------------------------------------------------------------------------------
    def _at(self, when: datetime, action: Callable, *args) -> None:
        heapq.heappush(self._queue, (when, next(self._order), action, args))

    def run(self) -> None:
        holidays = frozenset(
            row["date"] for row in public_holidays(range(self.start.year - 1, self.end.year + 2))
        )
        for arrival in arrivals.arrivals(
            self.rng, self.start, self.end, self.calls_per_day, holidays
        ):
            self._at(arrival.at, self._arrive, arrival)
        day = self.start.replace(hour=SWEEP_HOUR, minute=0, second=0, microsecond=0)
        while day < self.end:
            self._at(day, self._sweep)
            day += timedelta(days=1)
        while self._queue and self._queue[0][0] < self.end:
            when, _, action, args = heapq.heappop(self._queue)
            action(when, *args)
        self._assign_open_work()

    # -- arrivals --------------------------------------------------------------------------------
    def _arrive(self, at: datetime, arrival: Arrival) -> None:
        if arrival.source == "monitoring":
            self._monitoring_event(at, self.rng.choice(self.monitored), None)
        elif arrival.source == "staff" and arrival.call_type == "rfc":
            self._planned_change(at)
        elif arrival.source == "staff":
            self._staff_risk(at)
        else:
            self._customer_call(at, arrival)

    def _customer_call(self, at: datetime, arrival: Arrival) -> None:
        spec = arrival.customer
        rng = self.rng
        service_code = pick(rng, {code: arrivals.SERVICE_WEIGHT[code] for code in spec.services})
        requester = rng.choice(self.org.requesters[spec.code])
        call_type = arrival.call_type
        summary = phrases.summary(rng, call_type, service_code, self.service_names[service_code])
        if call_type == "incident" and rng.random() < MISFILED:
            # Worded as a failure by the requester, but inside the agreement: a service request.
            summary = phrases.summary(
                rng, "service_request", service_code, self.service_names[service_code]
            )
        channel = pick(rng, arrivals.CHANNELS)
        desk_agent = rng.choice(self.org.members["Service desk"]).user
        impact = pick(rng, {1: 0.06, 2: 0.3, 3: 0.64})
        urgency = pick(rng, {1: 0.15, 2: 0.45, 3: 0.4})
        if call_type in ("rfc", "wish"):
            impact, urgency = max(impact, 2), max(urgency, 2)
        call = calls.register_call(
            self.org.provider,
            requester.user if channel == "portal" and requester.user else desk_agent,
            call_type=call_type,
            summary=summary,
            description=phrases.description(rng, call_type, requester.name),
            channel=channel,
            requester=requester,
            customer=self.org.customers[spec.code],
            service=self.org.services[service_code],
            mir_items=self._items_for(service_code),
            impact=impact,
            urgency=urgency,
            at=at,
        )
        self._work(at, call)

    def _items_for(self, service_code: str) -> list:
        candidates = self.items_by_service.get(service_code, [])
        if not candidates:
            return []
        return self.rng.sample(candidates, min(len(candidates), self.rng.choice((0, 1, 1, 2))))

    def _planned_change(self, at: datetime) -> None:
        """Maintenance the operations teams plan themselves: an RFC without a customer."""
        rng = self.rng
        service = rng.choice(SERVICES)
        filer = rng.choice(self.org.members["Infrastructure"])
        call = calls.register_call(
            self.org.provider,
            filer.user,
            call_type="rfc",
            summary=phrases.summary(rng, "rfc", service.code, service.name),
            description=f"Planned maintenance, filed by {filer.name}.",
            channel="internal",
            service=self.org.services[service.code],
            mir_items=self._items_for(service.code),
            impact=3,
            urgency=rng.randint(2, 3),
            at=at,
        )
        self._work(at, call)

    def _staff_risk(self, at: datetime) -> None:
        rng = self.rng
        service = rng.choice(SERVICES)
        effect, likelihood = rng.randint(1, 5), rng.randint(1, 5)
        reporter = rng.choice(self.analysts)
        call = calls.register_call(
            self.org.provider,
            reporter.user,
            call_type="risk",
            summary=phrases.summary(rng, "risk", service.code, service.name),
            description=f"Reported by {reporter.name}.",
            channel="internal",
            service=self.org.services[service.code],
            mir_items=self._items_for(service.code),
            impact=min(3, 1 + (effect - 1) // 2),
            urgency=min(3, 1 + (likelihood - 1) // 2),
            effect=effect,
            likelihood=likelihood,
            at=at,
        )
        self._work(at, call)

    def _monitoring_event(self, at: datetime, item, check: str | None) -> None:
        """An alert about `item`; the tool repeats it a few times while it lasts, which the
        intake records on the open incident instead of registering it again."""
        rng = self.rng
        check = check or rng.choice(sorted(phrases.CHECKS))
        what, impact, urgency = phrases.CHECKS[check]
        services = sorted(item.services.all(), key=lambda s: s.code)
        incident, new = calls.monitoring_event(
            self.org.provider,
            self.org.monitoring,
            source="orvane-monitor",
            key=f"{item.identifier}/{check}",
            summary=f"{item.name}: {what}",
            description=f"Alert from the monitoring platform on {item.identifier}.",
            service=services[0] if services else None,
            mir_item=item,
            impact=impact,
            urgency=urgency,
            at=at,
        )
        if new:
            self._work(at, incident)
            for _ in range(rng.randint(0, 3)):
                self._at(
                    at + timedelta(minutes=rng.randint(5, 40)), self._monitoring_event, item, check
                )

    # -- working on calls ------------------------------------------------------------------------
    def _work(self, at: datetime, call: Call) -> None:
        """The call's current step goes into the queue of the team responsible for it. `call` is
        as a service just returned it (or freshly read)."""
        if call.status not in ("open", "in_progress", "process_fulfilled", "workflow_fulfilled"):
            return  # waiting for a fork, on hold or ended: someone else wakes it up
        step = self.model.step(call.step)
        team_id = call.assignee_team_id or self.desk.pk
        effort, lead = self.crew.durations(step, call.priority)
        booking = self.crew.book(team_id, at, effort, lead, on_call=self._on_call(call))
        person = self.members.get(team_id, self.org.members["Service desk"])[booking.person]
        self._at(booking.done, self._finish, call.pk, step.id, person.user)

    def _on_call(self, call: Call) -> bool:
        if call.channel == "monitoring":
            return True
        if call.call_type != "incident":
            return False
        urgent = (call.priority or 9) <= ON_CALL_PRIORITY
        return urgent or self.customer_ids.get(call.customer_id) in self.round_the_clock

    def _finish(self, at: datetime, pk: int, step_id: str, actor) -> None:
        call = Call.objects.get(pk=pk)
        if call.step != step_id or call.status in ("closed", "aborted", "on_hold", "waiting"):
            return  # the call moved on meanwhile (aborted with its workflow)
        step = self.model.step(step_id)
        handler = {
            StepKind.ACCEPT: self._accept,
            StepKind.CLASSIFY: self._classify,
            StepKind.CORE: self._core,
            StepKind.FORK: self._fork,
            StepKind.REVIEW: self._review,
            StepKind.EVALUATE: self._evaluate,
        }[step.kind]
        handler(at, call, step, actor)

    def _accept(self, at, call, step, actor) -> None:
        if call.call_type == "incident" and call.accepting and self._misfiled(call):
            call = calls.reclassify(
                call,
                actor,
                "service_request",
                "Inside the agreement: a request, not a failure",
                at=at,
            )
            self._work(at, call)
            return
        self._complete(at, call, step, actor)

    def _misfiled(self, call: Call) -> bool:
        service = self.service_codes.get(call.service_id, "")
        return call.summary in phrases.SERVICE_REQUESTS.get(service, ())

    def _classify(self, at, call, step, actor) -> None:
        if call.impact and self.rng.random() < REPRIORITISED:
            impact = max(1, min(3, call.impact + self.rng.choice((-1, 1))))
            call = calls.set_priority(call, actor, impact=impact, urgency=call.urgency, at=at)
        elif not call.priority:
            # A risk raised at an evaluation comes without levels: the analyst sets them.
            call = calls.set_priority(call, actor, impact=2, urgency=self.rng.randint(2, 3), at=at)
        self._complete(at, call, step, actor)

    def _core(self, at, call, step, actor) -> None:
        rng = self.rng
        first_time = not call.attempts.get(step.id)
        waits_on_requester = step.id in ("INC-3", "OPS-3") and call.requester_id
        if waits_on_requester and call.pk not in self._held_once and rng.random() < HELD:
            self._hold(at, call, actor)
            return
        if step.id == "CTM-3" and call.accepting and rng.random() < WITHDRAWN:
            calls.abort_workflow(call, actor, "The customer withdrew the wish", at=at)
            return
        if step.id == "CHM-5" and first_time and rng.random() < TEST_FAILS:
            call = calls.repeat_step(
                call, actor, "CHM-4", "The acceptance test failed; the build is corrected", at=at
            )
            self._work(at, call)
            return
        outcome = None
        if step.id == "CTM-5" and call.accepting and rng.random() < NO_DEAL:
            outcome = "no_deal"
        if step.id == "IMP-3" and rng.random() < CAUSE_FOUND:
            outcome = "cause_known"
        if step.id == "CHM-8":
            self._record_mir_changes(at, call, actor)
        risks = []
        if step.id == "OPS-4" and rng.random() < RISK_IN_OPERATION:
            risks = [f"Seen while executing {call.number}: {call.summary} may recur"]
        self._complete(at, call, step, actor, outcome=outcome, raise_risks=risks)

    def _hold(self, at, call, actor) -> None:
        self._held_once.add(call.pk)
        calls.hold_call(call, actor, self.rng.choice(phrases.HOLD_REASONS), at=at)
        back = at + timedelta(hours=self.rng.choice((2, 5, 20, 26, 48, 70)))
        self._at(back, self._release, call.pk, actor)

    def _release(self, at, pk, actor) -> None:
        call = Call.objects.get(pk=pk)
        if call.status == "on_hold":
            self._work(at, calls.release_call(call, actor, at=at))

    def _record_mir_changes(self, at, call, actor) -> None:
        """The change records what it altered, planned on the items as they stand now."""
        items = list(call.mir_items.order_by("identifier"))
        if not items:
            return
        changes = [
            {
                "action": "update",
                "identifier": item.identifier,
                "version": item.version,
                "attributes": {"last_change": call.number},
            }
            for item in items
        ]
        calls.record_mir_changes(call, actor, changes, at=at)

    def _fork(self, at, call, step, actor) -> None:
        options = FORKS.get(step.id) or tuple((target, 1.0) for target in step.fork_to)
        untried = [target for target, _ in options if (step.id, target) not in self._forked_to]
        target = untried[0] if untried else pick(self.rng, options)
        self._forked_to.add((step.id, target))
        child = calls.fork_call(call, actor, target, at=at)
        self._work(at + HANDOVER, child)

    def _review(self, at, call, step, actor) -> None:
        self._complete(at, call, step, actor)
        if call.parent_id:  # delivered: the engine resumed the caller, whose work goes on
            self._work(at + HANDOVER, Call.objects.get(pk=call.parent_id))

    def _evaluate(self, at, call, step, actor) -> None:
        if call.forks.exclude(status__in=calls.ENDED).exists():
            # The calls it forked close first; look again after they have had time to.
            self._at(at + FORKS_CLOSE_WAIT, self._finish, call.pk, step.id, actor)
            return
        risks = []
        chance = RISK_AT_EVALUATION.get(call.process, 0.0) if call.accepting else 0.0
        major = call.process == "INC" and (call.priority or 9) <= MAJOR_INCIDENT
        if self.rng.random() < chance or major:
            risks = [f"Could happen again: {call.summary}"]
        self._complete(at, call, step, actor, raise_risks=risks)

    def _complete(self, at, call, step, actor, *, outcome=None, raise_risks=()) -> None:
        done = calls.complete_step(
            call,
            actor,
            step.id,
            outcome=outcome,
            notes=phrases.note(self.rng, step.id),
            raise_risks=raise_risks,
            at=at,
        )
        if raise_risks:
            raised = CallLink.objects.filter(source=done, kind="raised").order_by("target_id")
            for link in raised.filter(target__created_at=at).select_related("target"):
                self._work(at + HANDOVER, link.target)
        if done.status not in ("closed", "aborted", "waiting"):
            self._work(at, done)

    # -- the day's end ---------------------------------------------------------------------------
    def _sweep(self, at: datetime) -> None:
        """What the SLA sweep would do each night: open calls past a due time get the breach
        recorded in the event log. Calls on hold are skipped: their clock stands still."""
        breached = CallEvent.objects.filter(
            call=OuterRef("pk"), kind="deadline_breached", outcome="resolution"
        )
        overdue = (
            Call.objects.filter(provider=self.org.provider, resolution_due__lt=at)
            .exclude(status__in=("closed", "aborted", "on_hold"))
            .exclude(Exists(breached))
            .order_by("pk")
        )
        for call in overdue:
            calls.record_breaches(call, at)
        if self.on_day:
            self.on_day(at)

    def _assign_open_work(self) -> None:
        """Half the calls still in a team's queue at the end are taken by one of its people, so
        that personal queues show something too."""
        open_calls = (
            Call.objects.filter(provider=self.org.provider, assignee_team__isnull=False)
            .exclude(status__in=("closed", "aborted", "waiting"))
            .order_by("number")
        )
        for call in open_calls:
            people = self.members.get(call.assignee_team_id)
            if people and self.rng.random() < 0.5:
                calls.assign_call(call, self.org.admin, self.rng.choice(people), at=self.end)


def simulated_period(end: datetime, days: int) -> tuple[datetime, datetime]:
    """The `days` before `end`, whole hours in UTC."""
    end = end.replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=days), end
