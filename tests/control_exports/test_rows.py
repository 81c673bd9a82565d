"""Rows are read without Django's converters: timestamps come as the database's text and are
reshaped by slicing, which must give what formatting the datetime would. What rows refer to is
looked up by ids, in one statement made once."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from usm.calls import services
from usm.calls.models import Call, CallEvent
from usm.control.exports.rows import ByIds, chunks, timestamp_text, utc_millis

moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31))


def postgresql_text(at: datetime, offset: str = "+00") -> str:
    """How PostgreSQL prints a timestamptz: trailing zeros of the fraction dropped, and no
    fraction at all for whole seconds."""
    text = at.strftime("%Y-%m-%d %H:%M:%S")
    if at.microsecond:
        text += f".{at.microsecond:06d}".rstrip("0")
    return text + offset


@given(moments)
def test_sqlite_text_is_reshaped_like_isoformat(at):
    # Django stores a UTC datetime on SQLite as str() of the naive value.
    assert utc_millis(str(at)) == at.isoformat(timespec="milliseconds")


@given(moments)
def test_postgresql_text_is_reshaped_like_isoformat(at):
    assert utc_millis(postgresql_text(at)) == at.isoformat(timespec="milliseconds")


@given(moments, st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_another_offset_is_turned_into_utc(at, minutes):
    zone = timezone(timedelta(minutes=minutes))
    local = at.replace(tzinfo=UTC).astimezone(zone)
    text = local.isoformat(sep=" ")
    assert utc_millis(text) == at.isoformat(timespec="milliseconds")


@pytest.mark.django_db
def test_timestamps_read_back_from_the_database(provider, staff):
    registered = datetime(2024, 3, 4, 7, 0, 0, 123456, tzinfo=UTC)
    call = services.register_call(
        provider, staff, call_type="incident", summary="clock", at=registered
    )
    services.abort_workflow(call, staff, "test", at=datetime(2024, 3, 4, 8, 0, tzinfo=UTC))
    events = CallEvent.objects.filter(call=call).annotate(at_text=timestamp_text("at"))
    # A chunk of one row, so that the rows really come chunk by chunk.
    read = [text for chunk in chunks(events.order_by("id"), ("at_text",), 1) for (text,) in chunk]
    expected = [
        at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")
        for at in events.order_by("id").values_list("at", flat=True)
    ]
    assert [utc_millis(text) for text in read] == expected
    assert {"2024-03-04T07:00:00.123", "2024-03-04T08:00:00.000"} <= set(expected)


@pytest.mark.django_db
def test_a_lookup_by_ids_is_one_statement_for_any_number_of_ids(provider, staff):
    calls = [
        services.register_call(provider, staff, call_type="incident", summary=f"lookup {n}")
        for n in range(3)
    ]
    by_ids = ByIds(lambda ids: Call.objects.filter(pk__in=ids).order_by("pk"), ("pk", "number"))
    statement = by_ids.sql
    assert by_ids([calls[1].pk]) == [(calls[1].pk, calls[1].number)]
    assert by_ids([c.pk for c in calls] + [calls[0].pk]) == [(c.pk, c.number) for c in calls]
    assert by_ids([]) == []
    assert by_ids.sql == statement


@pytest.mark.django_db
def test_a_lookup_by_ids_takes_no_other_parameters(provider):
    with pytest.raises(ValueError, match="besides the ids"):
        ByIds(lambda ids: Call.objects.filter(pk__in=ids, provider=provider), ("pk",))
