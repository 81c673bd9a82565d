"""How the dashboard and the report write durations and rates. Nothing to measure is a dash,
never a zero; so is a figure the template could not find (a row with nothing to check)."""

from django import template

register = template.Library()
DASH = "–"


def _number(value) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


@register.filter
def duration(seconds):
    seconds = _number(seconds)
    if seconds is None:
        return DASH
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 72 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@register.filter
def percent(rate):
    rate = _number(rate)
    return DASH if rate is None else f"{rate * 100:.1f} %"


@register.filter
def tone(rate):
    """The CSS class for a compliance or conformance rate."""
    rate = _number(rate)
    if rate is None:
        return "muted"
    return "ok" if rate >= 0.95 else "" if rate >= 0.8 else "bad"
