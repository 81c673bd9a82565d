"""Durations and their distributions (count, median, 90th percentile, maximum).

The durations are computed by the database, the same expression on both (`EpochSeconds`).
Where one set of rows is split many ways (the KPIs' lead times per process, per workflow, in
all), the values are read once and ranked here (`Durations`); where a set is large and split
once (step lead times), they are ranked in the database with window functions (ROW_NUMBER and
COUNT over each group, which SQLite and PostgreSQL both have), so only the rows around each
percentile leave it. Both interpolate linearly between the closest ranks, as PostgreSQL's
`percentile_cont` and numpy's default do: the median of 1, 2, 3, 4 hours is 2.5 hours."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from django.db import connection
from django.db.models import F, FloatField, Func, QuerySet, Value

MEDIAN = Fraction(1, 2)
P90 = Fraction(9, 10)


class EpochSeconds(Func):
    """A timestamp as seconds since 1970 (a float), the same on both databases."""

    output_field = FloatField()
    arity = 1

    def as_sqlite(self, compiler, connection, **extra_context):
        # julianday() reads Django's stored text timestamps, fractions of a second included.
        template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS double precision)"
        return self.as_sql(compiler, connection, template=template, **extra_context)


def seconds_between(start: str, end: str):
    """The expression `end - start` in seconds, for two timestamp fields."""
    return EpochSeconds(F(end)) - EpochSeconds(F(start))


def seconds_until(start: str, instant: datetime):
    """The expression `instant - start` in seconds."""
    return Value(instant.timestamp(), output_field=FloatField()) - EpochSeconds(F(start))


def epoch_sql(column: str) -> str:
    """`EpochSeconds` for hand-written SQL over `column`."""
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS double precision)"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


@dataclass(frozen=True)
class Distribution:
    count: int
    median: float | None
    p90: float | None
    max: float | None

    def as_dict(self, unit: str = "seconds") -> dict:
        return {
            "count": self.count,
            f"median_{unit}": self.median,
            f"p90_{unit}": self.p90,
            f"max_{unit}": self.max,
        }


EMPTY = Distribution(0, None, None, None)


def distribution(queryset: QuerySet, value) -> Distribution:
    """The distribution of `value` (an expression) over all of `queryset`."""
    return Durations.read(queryset, value).of()


def distributions_sql(rows_sql: str, params) -> dict[Hashable, Distribution]:
    """The distribution of `val` per value of `grp`, over hand-written SQL yielding those two
    columns: ranked in the database, so only the rows around each percentile leave it."""
    ranks = [MEDIAN, P90]
    wanted = " OR ".join(
        f"rn = ((n - 1) * {p.numerator}) / {p.denominator} + {offset}"
        for p in ranks
        for offset in (1, 2)
    )
    sql = f"""
        SELECT grp, n, rn, val FROM (
            SELECT grp, val,
                   ROW_NUMBER() OVER (PARTITION BY grp ORDER BY val) AS rn,
                   COUNT(*) OVER (PARTITION BY grp) AS n
            FROM ({rows_sql}) AS measured
            WHERE val IS NOT NULL
        ) AS ranked
        WHERE {wanted} OR rn = n
    """
    found: dict[Hashable, dict[int, float]] = defaultdict(dict)
    sizes: dict[Hashable, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for grp, n, rn, val in cursor.fetchall():
            found[grp][int(rn)] = float(val)
            sizes[grp] = int(n)
    return {
        grp: Distribution(
            count=sizes[grp],
            median=_percentile(values, sizes[grp], MEDIAN),
            p90=_percentile(values, sizes[grp], P90),
            max=_rounded(values[sizes[grp]]),
        )
        for grp, values in found.items()
    }


def distribution_of(values: list[float]) -> Distribution:
    """The distribution of `values`, computed here as `distributions_sql` computes it in the
    database: the same ranks, the same interpolation, so both give the same figures."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return EMPTY
    # Only the ranks around each percentile and the last, as the SQL keeps them.
    wanted = {n} | {int(p * (n - 1)) + offset for p in (MEDIAN, P90) for offset in (1, 2)}
    at_rank = {rank: float(ordered[rank - 1]) for rank in wanted if rank <= n}
    return Distribution(
        count=n,
        median=_percentile(at_rank, n, MEDIAN),
        p90=_percentile(at_rank, n, P90),
        max=_rounded(at_rank[n]),
    )


def plain_rows(queryset: QuerySet) -> list[tuple]:
    """The rows of a `values_list` queryset as the database driver returns them, without
    Django's per-value converters: for numbers, codes and ids they change nothing but the time
    (a yes/no column stays 1/0 on SQLite, which compares equal to True/False)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class Durations:
    """The values of one row set together with the columns they are split by, read in a single
    statement; each distribution is then computed here (`distribution_of`) over the rows it
    covers. On a large period one read serves every split, where a ranked window per split would
    sort the rows again each time. Rows whose value is NULL are left out, as in the database."""

    def __init__(self, rows, fields: tuple[str, ...]):
        """`rows`: tuples of the value and then the `fields`' values."""
        self.fields = fields
        self.rows = [row for row in rows if row[0] is not None]

    @classmethod
    def read(cls, queryset: QuerySet, value, *fields: str) -> Durations:
        """`value` (an expression) and `fields` of every row of `queryset`."""
        return cls(
            plain_rows(queryset.order_by().annotate(val=value).values_list("val", *fields)), fields
        )

    def of(self, **where) -> Distribution:
        """The distribution over the rows whose columns have the values `where` names (a value
        may be a test the column's value must pass)."""
        return distribution_of([row[0] for row in self._matching(where)])

    def by(self, field: str, **where) -> dict[Hashable, Distribution]:
        """The distribution per value of `field`, over the rows `where` names."""
        at = 1 + self.fields.index(field)
        found: dict[Hashable, list[float]] = defaultdict(list)
        for row in self._matching(where):
            found[row[at]].append(row[0])
        return {key: distribution_of(values) for key, values in found.items()}

    def _matching(self, where: dict):
        tests = [
            (1 + self.fields.index(name), wanted if callable(wanted) else wanted.__eq__)
            for name, wanted in where.items()
        ]
        if not tests:
            return self.rows
        if len(tests) == 1:
            (at, test), *_ = tests
            return (row for row in self.rows if test(row[at]))
        if len(tests) == 2:  # the workflows' lead times: tens of thousands of rows, twice
            (first, test), (second, also) = tests
            return (row for row in self.rows if test(row[first]) and also(row[second]))
        return (row for row in self.rows if all(test(row[at]) for at, test in tests))


def _percentile(values: dict[int, float], n: int, p: Fraction) -> float:
    position = p * (n - 1)
    below = int(position)  # 0-based rank at or below the percentile
    low = values[below + 1]
    share = position - below
    if not share:
        return _rounded(low)
    return _rounded(low + float(share) * (values[below + 2] - low))


def _rounded(seconds: float) -> float:
    # SQLite's julianday arithmetic is exact to some microseconds only; a millisecond is plenty.
    return round(seconds, 3)
