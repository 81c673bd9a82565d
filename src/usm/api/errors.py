"""How failures look over the API: 422 with the field and reason, 404, 409; never a 500 for
anything a caller sent."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError

from usm.conflicts import StaleUpdate
from usm.engine.call_flow import FlowError

# Refusals because the call has moved on (someone else was first, it waits, it ended): retrying
# after reading the call again may succeed. Every other refusal is about the request itself.
STATE_CONFLICTS = frozenset(
    {
        "not_current",
        "waiting",
        "ended",
        "on_hold",
        "not_waiting",
        "not_on_hold",
        "cannot_hold",
        "cannot_repeat",
        "delivered",
        "too_late",
        "forks_open",
    }
)


def _field_errors(error: ValidationError) -> list[dict]:
    if hasattr(error, "error_dict"):
        return [
            {"loc": ["body", field], "msg": message, "type": "value_error"}
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [{"loc": ["body"], "msg": message, "type": "value_error"} for message in error.messages]


def install(api) -> None:
    @api.exception_handler(ValidationError)
    def invalid(request, exc):
        return api.create_response(request, {"detail": _field_errors(exc)}, status=422)

    @api.exception_handler(ObjectDoesNotExist)
    def missing(request, exc):
        return api.create_response(request, {"detail": "Not found"}, status=404)

    @api.exception_handler(StaleUpdate)
    def stale(request, exc):
        body = {"detail": str(exc), "current_version": exc.current_version, "current": exc.current}
        return api.create_response(request, body, status=409)

    @api.exception_handler(FlowError)
    def refused(request, exc):
        if exc.code in STATE_CONFLICTS:
            return api.create_response(request, {"detail": str(exc), "code": exc.code}, status=409)
        body = {"detail": [{"loc": ["body"], "msg": str(exc), "type": exc.code}]}
        return api.create_response(request, body, status=422)

    @api.exception_handler(IntegrityError)
    def conflict(request, exc):
        # A unique or check constraint the service could not foresee (a race, most often).
        return api.create_response(
            request, {"detail": "conflicts with an existing record"}, status=409
        )
