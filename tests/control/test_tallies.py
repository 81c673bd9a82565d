"""The kept day tallies: a period's KPIs read through them are the KPIs read from the log, whatever
part of the log has been tallied, and an event is tallied once."""

from datetime import timedelta

import pytest

from tests.control.conftest import MONDAY
from usm.calls.models import CallEvent
from usm.control import services, tallies
from usm.control.kpis import Slice, kpis
from usm.control.models import DayTally, EventTallyMark
from usm.control.periods import Period
from usm.control.sources import of_provider

pytestmark = pytest.mark.django_db
MIDNIGHT = MONDAY.replace(hour=0)
WEEK = Period(MIDNIGHT, MIDNIGHT + timedelta(days=7))
AS_OF = MIDNIGHT + timedelta(days=30)


def both(provider, period, where=None):
    """The figures read from the log alone, and read through the tallies."""
    calls, events = of_provider(provider.pk)
    raw = kpis(calls, events, period, where, as_of=AS_OF)
    kept = kpis(calls, events, period, where, as_of=AS_OF, kept_for=provider.pk)
    return raw, kept


@pytest.fixture
def busy_week(walk):
    """Workflows over four days, some crossing midnight (one action every 2 or 3 hours), one with
    a repeat, one left open."""
    walk(4, start=MONDAY, every=timedelta(minutes=10))
    walk(4, start=MONDAY + timedelta(hours=10), every=timedelta(hours=2), repeat=("INC-4", "INC-3"))
    walk(3, start=MONDAY + timedelta(days=1, hours=3), every=timedelta(hours=3))
    walk(5, start=MONDAY + timedelta(days=2, hours=22), every=timedelta(minutes=50))
    walk(8, start=MONDAY + timedelta(days=3), every=timedelta(hours=1), stop_before="OPS-4")


PERIODS = {
    "the week": WEEK,
    "whole days": Period(MIDNIGHT + timedelta(days=1), MIDNIGHT + timedelta(days=3)),
    "ragged ends": Period(MONDAY + timedelta(hours=5), MONDAY + timedelta(days=2, hours=23)),
    "within a day": Period(MONDAY + timedelta(hours=1), MONDAY + timedelta(hours=20)),
}


def test_a_tallied_log_gives_the_figures_of_the_log(provider, busy_week):
    report = services.keep_event_tallies()
    assert report.through == CallEvent.objects.order_by("-pk").first().pk
    assert DayTally.objects.filter(provider=provider).count() >= 4
    for name, period in PERIODS.items():
        raw, kept = both(provider, period)
        assert kept == raw, name
        assert raw["totals"]["step_completions"] > 0 or name == "within a day"
    # The tallies are in use: the whole-day period's events are all below the mark.
    _calls, events = of_provider(provider.pk)
    read = tallies.kept_period(provider.pk, events, PERIODS["whole days"])
    assert read is not None and read.counts
    assert not any(part.filter(kind__in=tallies.COUNTED).exists() for part in read.untallied)


def test_events_after_the_mark_are_read_from_the_log(provider, walk, busy_week):
    services.keep_event_tallies()
    # Written after the tallies, on days they already cover: a late entry with earlier times.
    walk(4, start=MONDAY + timedelta(days=1, hours=1), every=timedelta(minutes=15))
    raw, kept = both(provider, WEEK)
    assert kept == raw
    _calls, events = of_provider(provider.pk)
    read = tallies.kept_period(provider.pk, events, WEEK)
    assert read.untallied[2].filter(kind="step_completed").count() == 13


def test_each_event_is_tallied_once(provider, busy_week):
    first = services.keep_event_tallies()
    kept_once = list(DayTally.objects.order_by("day").values_list("counts", "leads"))
    again = services.keep_event_tallies()
    assert (again.events, again.days) == (0, 0)
    assert list(DayTally.objects.order_by("day").values_list("counts", "leads")) == kept_once
    assert EventTallyMark.objects.get().through == first.through


def test_small_batches_add_up_to_the_same_tallies(provider, busy_week, monkeypatch):
    services.keep_event_tallies()
    whole = {
        day: (sorted(map(tuple, counts)), {s: sorted(v) for s, v in leads.items()})
        for day, counts, leads in DayTally.objects.values_list("day", "counts", "leads")
    }
    DayTally.objects.all().delete()
    EventTallyMark.objects.update(through=0)
    monkeypatch.setattr(services, "TALLY_BATCH", 7)
    monkeypatch.setattr(services, "WRITE_EVERY", 20)
    seen = []
    services.keep_event_tallies(progress=lambda r: seen.append(r.through))
    assert len(seen) > 5 and seen == sorted(seen)
    piecemeal = {
        day: (sorted(map(tuple, counts)), {s: sorted(v) for s, v in leads.items()})
        for day, counts, leads in DayTally.objects.values_list("day", "counts", "leads")
    }
    assert piecemeal == whole


def test_a_worker_that_was_overtaken_drops_what_it_read(provider, busy_week, monkeypatch):
    """Two workers read the same events; the one that comes second to write finds the mark
    moved and adds nothing."""
    monkeypatch.setattr(services, "WRITE_EVERY", 10**9)
    read = tallies.tallied
    overtaken = []

    def read_while_another_writes(first, last):
        found = read(first, last)
        if not overtaken:
            overtaken.append(True)
            with monkeypatch.context() as inner:
                inner.setattr(tallies, "tallied", read)
                services.keep_event_tallies()  # the other worker, done first
        return found

    monkeypatch.setattr(tallies, "tallied", read_while_another_writes)
    report = services.keep_event_tallies()
    assert overtaken and report.events == 0
    assert report.through == EventTallyMark.objects.get().through
    raw, kept = both(provider, WEEK)
    assert kept == raw


def test_a_lead_time_spans_the_batches_and_the_days(provider, walk):
    """A step started on one day and completed the next, its start tallied in an earlier batch:
    its lead time is the whole stretch."""
    walk(5, start=MONDAY + timedelta(hours=20), every=timedelta(hours=5))
    services.keep_event_tallies()
    raw, kept = both(provider, WEEK)
    assert kept == raw
    steps = {row["step"]: row["lead_time"] for row in kept["steps"]}
    assert {lead["max_seconds"] for lead in steps.values()} == {5 * 3600}


def test_a_sliced_period_is_read_from_the_log(provider, desk, busy_week):
    services.keep_event_tallies()
    where = Slice(process="INC")
    raw, kept = both(provider, WEEK, where)
    assert kept == raw
    assert (
        kept["totals"]["step_completions"] < both(provider, WEEK)[0]["totals"]["step_completions"]
    )


def test_a_log_far_from_tallied_is_read_whole(provider, busy_week, monkeypatch):
    monkeypatch.setattr(tallies, "MOST_UNTALLIED", 3)
    _calls, events = of_provider(provider.pk)
    assert tallies.kept_period(provider.pk, events, WEEK) is None
    raw, kept = both(provider, WEEK)
    assert kept == raw


def test_the_sweep_keeps_the_tallies(provider, busy_week):
    from usm.control.sweep import sweep

    report = sweep(AS_OF)
    assert report.as_dict()["events_tallied"]["through"] == CallEvent.objects.latest("pk").pk
    assert DayTally.objects.exists()


def test_the_command_tallies_first_when_asked(provider, busy_week, monkeypatch):
    import json

    from typer.testing import CliRunner

    from usm.cli import app

    monkeypatch.setattr(services, "TALLY_BATCH", 40)
    args = ["control", "kpis", "--from", "2024-03-04", "--to", "2024-03-10", "--json"]
    before = CliRunner().invoke(app, args)
    assert before.exit_code == 0, before.output
    assert not DayTally.objects.exists()
    after = CliRunner().invoke(app, [*args, "--refresh"])
    assert after.exit_code == 0, after.output
    newest = CallEvent.objects.latest("pk").pk
    assert after.stderr.splitlines()[-1].endswith(f"through id {newest}")
    assert DayTally.objects.exists()
    assert json.loads(after.stdout) | {"as_of": None} == json.loads(before.stdout) | {"as_of": None}


def test_a_round_stops_at_its_limit(provider, busy_week):
    newest = CallEvent.objects.latest("pk").pk
    first = services.keep_event_tallies(limit=10)
    assert (first.events, first.through) == (10, 10)
    rest = services.keep_event_tallies()
    assert rest.through == newest
    raw, kept = both(provider, WEEK)
    assert kept == raw


def test_rebuild_drops_wrong_tallies_and_tallies_the_log_again(provider, busy_week):
    from typer.testing import CliRunner

    from usm.cli import app

    services.keep_event_tallies()
    raw, _ = both(provider, WEEK)
    # A day counted wrongly, as by an earlier revision of the tallying.
    spoiled = DayTally.objects.order_by("day").first()
    spoiled.counts = [[kind, *rest[:-1], rest[-1] * 3] for kind, *rest in spoiled.counts]
    spoiled.save()
    assert both(provider, WEEK)[1] != raw
    days = DayTally.objects.count()

    args = ["control", "kpis", "--from", "2024-03-04", "--to", "2024-03-10", "--rebuild"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"usm: {days} day tally row(s) dropped"
    assert lines[-1].endswith(f"through id {CallEvent.objects.latest('pk').pk}")
    assert DayTally.objects.count() == days
    assert both(provider, WEEK) == (raw, raw)
