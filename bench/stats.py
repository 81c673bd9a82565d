"""What every process of the harness shares: the raw measurement record, logging, small
statistics, and stopping cleanly."""

from __future__ import annotations

import json
import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass
class Measurement:
    """One figure as measured; the harness adds baseline, ratio, target and machine. A figure
    that could not be taken has no value and says why in `skipped` (a page that does not exist
    yet, a tool that is not installed, a scenario that failed)."""

    name: str
    database: str
    size: int | None
    value: float | None
    unit: str
    detail: dict = field(default_factory=dict)
    skipped: str | None = None

    def line(self) -> str:
        return json.dumps(asdict(self))


def emit(measurement: Measurement) -> None:
    """Send a raw measurement to the harness (stdout is the channel; logs go to stderr)."""
    print(measurement.line(), flush=True)


def skipped(name: str, database: str, size: int | None, reason: str) -> Measurement:
    return Measurement(name, database, size, None, "", {}, skipped=reason)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def percentile(samples: list[float], share: float) -> float:
    """The `share` quantile (0..1) by the nearest-rank method: always one of the samples."""
    if not samples:
        raise ValueError("no samples")
    if not 0 < share <= 1:
        raise ValueError(f"share {share} is not in (0, 1]")
    ordered = sorted(samples)
    # The tolerance keeps 0.95 * 20 at rank 19: floating point makes it 19.000000000000004.
    rank = max(1, math.ceil(share * len(ordered) - 1e-9))
    return ordered[rank - 1]


def latencies_ms(
    action: Callable[[], object], repeat: int, warmup: int = 3, budget_s: float | None = None
) -> list[float]:
    """`repeat` timings of `action` in ms, after `warmup` untimed runs. With a budget, sampling
    stops early once the budget is spent (never before 3 samples), for actions that take seconds."""
    for _ in range(warmup):
        action()
    samples = []
    begun = time.perf_counter()
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
        spent = time.perf_counter() - begun
        if budget_s is not None and len(samples) >= 3 and spent > budget_s:
            break
    return samples


def stop_cleanly_on_sigterm() -> None:
    """Make SIGTERM unwind like an exception, so that `finally` blocks still stop the processes
    and drop the databases this process started (a bare SIGTERM would skip them)."""

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
