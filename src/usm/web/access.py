"""Who may open which page. Provider staff work on the desk; customers' users (requesters) use
the portal. Both rules rest on `usm.api.scoping`, so the web pages and the API agree."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect

from usm.api.scoping import is_staff, provider_id_of, scoped_get

# Longer than any tracking number the register can hold (Call.number).
LONGEST_NUMBER = 20


def person_of(user):
    """The active person behind a login, or None (an account nobody linked to a person)."""
    person = getattr(user, "person", None) if user.is_authenticated else None
    return person if person is not None and person.active else None


def staff_required(view):
    """Desk pages: a requester gets 403 rather than a login loop, as logging in again would not
    change who they are."""

    @login_required
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if provider_id_of(request.user) is None or not is_staff(request.user):
            raise PermissionDenied("The desk is for the provider's staff.")
        return view(request, *args, **kwargs)

    return guarded


def requester_required(view):
    """Portal pages: staff are sent to the desk, where they see every call anyway."""

    @login_required
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if person_of(request.user) is None:
            raise PermissionDenied("This account is not linked to a person of a customer.")
        if is_staff(request.user):
            return redirect("web:desk")
        return view(request, *args, **kwargs)

    return guarded


def visible_call(user, calls, number: str):
    """The call a page's address names, among `calls`, if `user` may see it; else 404. A number no
    call can carry is unknown like any other: PostgreSQL would refuse a NUL in the query."""
    if "\x00" in number or len(number) > LONGEST_NUMBER:
        raise Http404("No such call.")
    return scoped_get(user, calls, number=number.upper())
