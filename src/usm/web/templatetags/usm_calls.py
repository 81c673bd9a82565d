from django import template

from usm.api.scoping import is_staff
from usm.calls.choices import Status
from usm.model import reference_model

register = template.Library()

STATUS_LABELS = dict(Status.choices)
# How a requester reads a status: what it means for them, not the engine's word for it.
PORTAL_STATUS = {
    "open": "Received",
    "in_progress": "Being worked on",
    "waiting": "Being worked on",
    "on_hold": "Waiting for your reply",
    "process_fulfilled": "Being worked on",
    "workflow_fulfilled": "Delivered: we check it with you",
    "closed": "Closed",
    "aborted": "Cancelled",
}


@register.filter
def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


@register.filter
def portal_status(status: str) -> str:
    return PORTAL_STATUS.get(status, status)


@register.filter
def step_name(step_id: str | None) -> str:
    if not step_id:
        return ""
    try:
        return reference_model().step(step_id).name
    except KeyError:
        return step_id


@register.filter
def desk_user(user) -> bool:
    """True for the provider's staff, who work on the desk; others use the portal."""
    return bool(user.is_authenticated and is_staff(user))


@register.filter
def display_name(user) -> str:
    if user is None:
        return "the system"
    person = getattr(user, "person", None)
    return person.name if person is not None else user.get_username()


@register.filter
def spaced(code: str) -> str:
    """A stored code read as words ("known_error" -> "known error")."""
    return str(code).replace("_", " ")
