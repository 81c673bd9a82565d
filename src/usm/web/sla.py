"""How a due time reads at a glance: met, late, running, near or breached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# A deadline is "near" in the last quarter of the time the agreement gave, and never later than
# the last quarter of an hour: a 15-minute response target turns amber once, not at once.
NEAR_SHARE = 0.25
NEAR_AT_LEAST = timedelta(minutes=15)


@dataclass(frozen=True)
class DeadlineState:
    key: str  # none, met, late, paused, running, near, breached
    label: str

    @property
    def alarming(self) -> bool:
        return self.key in ("near", "breached", "late")


def deadline_state(
    due: datetime | None,
    done_at: datetime | None,
    started_at: datetime,
    now: datetime,
    *,
    paused: bool = False,
) -> DeadlineState:
    if due is None:
        return DeadlineState("none", "no deadline")
    if done_at is not None:
        return DeadlineState("met", "met") if done_at <= due else DeadlineState("late", "missed")
    if now > due:
        return DeadlineState("breached", "breached")
    if paused:
        # The clock stands still on hold; releasing the call moves the due time on.
        return DeadlineState("paused", "on hold")
    window = max(due - started_at, timedelta(0))
    if due - now <= max(window * NEAR_SHARE, NEAR_AT_LEAST):
        return DeadlineState("near", "due soon")
    return DeadlineState("running", "on time")


def call_deadlines(call, now: datetime) -> dict[str, DeadlineState]:
    if call.status == "aborted":
        aborted = DeadlineState("none", "aborted")
        return {"response": aborted, "resolution": aborted}
    paused = call.status == "on_hold"
    # A wish without a deal skips review and so is never "resolved"; closing it ends the clock.
    resolved = call.resolved_at or call.closed_at
    return {
        "response": deadline_state(
            call.response_due, call.responded_at, call.created_at, now, paused=paused
        ),
        "resolution": deadline_state(
            call.resolution_due, resolved, call.created_at, now, paused=paused
        ),
    }
