"""How MIR values are written, shared by the writer and the import's row checks."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

MAX_LENGTH = {"identifier": 80, "name": 200, "type": 60}


def invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


def text(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, "is required" if value in (None, "") else "must be text")
    value = value.strip()
    if len(value) > max_length:
        raise invalid(field, f"is longer than {max_length} characters")
    return value


def valid_identifier(value: Any, field: str = "identifier") -> str:
    """A MIR identifier (unique within the provider, used in files and URLs), or ValidationError
    on `field`."""
    name = text(value, field, MAX_LENGTH["identifier"])
    try:
        validate_slug(name)
    except ValidationError:
        raise invalid(
            field, f"'{name}' is not an identifier: use letters, digits, '-' and '_' only"
        ) from None
    return name


class ReadableJsonEncoder(json.JSONEncoder):
    """Writes attributes with their letters as they are, not as \\u escapes: SQLite keeps JSON as
    text and searches it as text, so "Zürich" escaped would never match a search for "zürich".
    Text that UTF-8 cannot hold (a lone surrogate read from a JSON file) keeps the escapes."""

    def __init__(self, *args, **kwargs):
        kwargs["ensure_ascii"] = False
        super().__init__(*args, **kwargs)

    def encode(self, o):
        text = super().encode(o)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(o)
        return text
