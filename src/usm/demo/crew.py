"""How long the demo's people take over a step, and when they get to it.

A step costs *effort* (a person's working time, during which that person does nothing else) and
*lead time* on top (waiting for a test run, an approval, the requester's feedback) that occupies
nobody. Each team has as many people as the catalogue gives it; a step waits for the first of
them to be free. So queues build up on a busy Monday morning and some deadlines are missed, as
they are on a real desk, without anyone deciding which.

Office work happens in the office hours of the service centre; urgent incidents (priority 1 and 2,
a round-the-clock customer's, monitoring's) are worked on call, at any hour.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from usm.engine.business_time import add_business_duration
from usm.engine.service_hours import ServiceHours
from usm.model import StepKind

# Per step (or per kind of step): median effort and median lead time, in working minutes.
BY_KIND = {
    StepKind.ACCEPT: (6, 0),
    StepKind.CLASSIFY: (4, 0),
    StepKind.FORK: (5, 0),
    StepKind.REVIEW: (5, 90),
    StepKind.EVALUATE: (5, 30),
}
BY_STEP = {
    "INC-3": (35, 30),
    "INC-4": (20, 20),
    "OPS-3": (10, 60),
    "OPS-4": (40, 60),
    "CHM-3": (60, 8 * 60),
    "CHM-4": (180, 12 * 60),
    "CHM-5": (120, 8 * 60),
    "CHM-8": (15, 0),
    "CTM-3": (120, 16 * 60),
    "CTM-4": (120, 10 * 60),
    "CTM-5": (60, 16 * 60),
    "IMP-3": (120, 10 * 60),
    "IMP-4": (90, 10 * 60),
}
# A priority 1 call jumps every queue and is worked on at once; a priority 5 one can wait.
PRIORITY_PACE = {1: 0.15, 2: 0.4, 3: 1.0, 4: 1.4, 5: 2.0}
SPREAD = 0.7  # of the log-normal: most steps near the median, a few far longer
STALLED = 0.03  # the share of steps that lie forgotten for a while
STALL_FACTOR = 8


@dataclass
class Booking:
    person: int  # index in the team
    done: datetime


@dataclass
class Crew:
    """The people of every team, and when each of them is free again."""

    rng: random.Random
    office_hours: ServiceHours
    sizes: dict[int, int]  # team id -> people
    free_at: dict[int, list[datetime]] = field(default_factory=dict)

    def durations(self, step, priority: int | None) -> tuple[timedelta, timedelta]:
        effort, lead = BY_STEP.get(step.id) or BY_KIND.get(step.kind, (30, 60))
        pace = PRIORITY_PACE.get(priority or 3, 1.0)
        if self.rng.random() < STALLED:
            pace *= STALL_FACTOR
        return self._draw(effort * min(pace, 1.5)), self._draw(lead * pace)

    def _draw(self, median: float) -> timedelta:
        if median <= 0:
            return timedelta()
        minutes = self.rng.lognormvariate(math.log(median), SPREAD)
        return timedelta(minutes=max(1, round(minutes)))

    def book(
        self, team_id: int, ready: datetime, effort: timedelta, lead: timedelta, *, on_call: bool
    ) -> Booking:
        """Give the step to the team's first free person: it is done once that person has put in
        the effort and the lead time has passed."""
        people = self.free_at.setdefault(team_id, [ready] * self.sizes.get(team_id, 1))
        person = min(range(len(people)), key=lambda index: people[index])
        start = max(ready, people[person])
        if on_call:
            finished = start + effort
            done = finished + lead
        else:
            start = add_business_duration(self.office_hours, start, timedelta())
            finished = add_business_duration(self.office_hours, start, effort)
            done = add_business_duration(self.office_hours, finished, lead)
        people[person] = finished
        return Booking(person, done)
