from django import template

from usm.model import reference_model

register = template.Library()


@register.filter
def call_type(code: str) -> str:
    """The readable name of a call type code ("service_request" -> "Service request")."""
    found = reference_model().call_types.get(code)
    return found.name if found else code
