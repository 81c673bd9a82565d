"""The exports stream: ten times the events must not take more memory to write. (For the OCEL
SQLite writer this is the memory of Python's side; SQLite's own page cache has a fixed size.)"""

import gc
import tracemalloc
from datetime import timedelta

import pytest

from tests.control_exports.conftest import MONDAY, bulk_log
from usm.calls.models import CallEvent
from usm.control.exports.ocel import write_ocel_json, write_ocel_sqlite
from usm.control.exports.selection import Selection
from usm.control.exports.xes import write_xes

pytestmark = pytest.mark.django_db
# Small chunks, so that both logs (their calls as well as their events) span several of them:
# what is compared is then many chunks against more chunks, not part of one against a whole.
CHUNK = 50


class Sink:
    """A stream that only counts what it is given: holding the text would be the growth."""

    def __init__(self):
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def peaks(provider, directory) -> dict[str, tuple[int, int]]:
    """(peak traced bytes, what was written: characters, or rows for SQLite) of each writer over
    the whole log."""

    def database() -> int:
        counts = write_ocel_sqlite(directory / "log.sqlite", Selection(provider), chunk_size=CHUNK)
        sink.size = counts.events + counts.objects + counts.event_object + counts.object_object
        return counts

    writers = {
        "xes": lambda: write_xes(sink, Selection(provider), chunk_size=CHUNK),
        "ocel-json": lambda: write_ocel_json(sink, Selection(provider), chunk_size=CHUNK),
        "ocel-sqlite": database,
    }
    found = {}
    for name, write in writers.items():
        # A first run after new rows fills caches (statements, converters) that stay: it is
        # not what is measured.
        sink = Sink()
        write()
        gc.collect()
        sink = Sink()
        tracemalloc.start()
        try:
            write()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        found[name] = (peak, sink.size)
    return found


def test_memory_stays_flat_from_2k_to_20k_events(provider, desk, tmp_path):
    # Beyond a thousand calls the per-object overheads have settled; what is left to grow is
    # the log, tenfold.
    bulk_log(provider, desk, 1000, 2)
    small = peaks(provider, tmp_path)
    assert CallEvent.objects.filter(provider=provider).count() == 2_000
    bulk_log(provider, desk, 2000, 9, start=MONDAY + timedelta(days=7), first=1000)
    assert CallEvent.objects.filter(provider=provider).count() == 20_000
    large = peaks(provider, tmp_path)
    for name, (peak, size) in large.items():
        small_peak, small_size = small[name]
        assert size > 5 * small_size, name  # the 20k log really was written
        # Holding the log (or any part growing with it) would cost megabytes here; what varies
        # between runs is where the last chunk ends and what the allocator keeps around.
        assert peak < small_peak * 1.5 + 100_000, (name, small_peak, peak)
