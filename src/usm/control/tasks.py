"""Background work of process control, run by `usm worker` through django-tasks' database
backend.

How the sweep is scheduled: each worker process runs a small clock thread beside django-tasks'
own worker loop. Every interval it enqueues a sweep, unless one is already waiting or running,
so however many workers run there is about one sweep per interval, and a sweep that crashed
(or a worker killed in the middle of one) does not stop the next: nothing has to re-enqueue
itself. The alternative, a sweep that enqueues its successor with `run_after`, loses the chain
for good when a worker dies between the two. Two sweeps that do overlap are harmless (see
`usm.control.sweep`).

The sweep also keeps the conformance checks of the workflows ended since the last one (its
last stage), so the dashboard and the API only read them.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import timedelta

from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

# A sweep still marked running after this long belongs to a worker that died.
RUNNING_FOR_AT_MOST = timedelta(minutes=15)
# Finished sweeps are kept this long for inspection, then removed.
KEEP_RESULTS = timedelta(days=1)


@task()
def sweep_deadlines() -> dict:
    """One SLA sweep (usm.control.sweep), as a background task: deadlines, then the
    conformance checks of the workflows ended since the last."""
    from usm.control.sweep import sweep

    return sweep().as_dict()


def _lock_scheduling() -> None:
    """Two workers deciding at once must not both enqueue. SQLite runs one write transaction at
    a time already; PostgreSQL takes a transaction-scoped advisory lock."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"usm.control.sweep").digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def schedule_sweep() -> bool:
    """Enqueue a sweep unless one is waiting or running; True when it enqueued one."""
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    sweeps = DBTaskResult.objects.filter(task_path=sweep_deadlines.module_path)
    with transaction.atomic():
        _lock_scheduling()
        busy = (
            sweeps.filter(status="READY").exists()
            or sweeps.filter(status="RUNNING", started_at__gte=now - RUNNING_FOR_AT_MOST).exists()
        )
        if not busy:
            sweep_deadlines.enqueue()
    sweeps.filter(status__in=("SUCCESSFUL", "FAILED"), finished_at__lt=now - KEEP_RESULTS).delete()
    return not busy


class SweepClock(threading.Thread):
    """Calls `schedule_sweep` every `interval` seconds until stopped."""

    def __init__(self, interval: float):
        super().__init__(name="usm-sweep-clock", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                schedule_sweep()
            except Exception:  # a database hiccup must not stop the clock
                logger.exception("could not schedule the SLA sweep")
            finally:
                close_old_connections()
            self.stopped.wait(self.interval)
        connection.close()

    def stop(self) -> None:
        self.stopped.set()
