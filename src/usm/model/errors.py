"""Errors raised while reading a model: the input cannot be understood at all."""


class ModelError(Exception):
    """Unreadable or malformed model input. The message names the file and the place."""
