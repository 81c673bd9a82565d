"""The REST API, /api/v1. Each domain app contributes a router from its `api.py`."""

from ninja import NinjaAPI

from usm import __version__
from usm.api import errors
from usm.api.auth import AUTH

api = NinjaAPI(
    title="usm",
    version=__version__,
    description="Service management on the USM process model.",
    auth=AUTH,
    urls_namespace="api-v1",
)
errors.install(api)
