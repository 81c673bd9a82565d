"""The REST API, /api/v1. Each domain app contributes the `router` of its `api.py`, mounted
under the app's label (e.g. /api/v1/agreements/...); an app with several routers lists them in
`ROUTERS` by path."""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from ninja import NinjaAPI

from usm import __version__
from usm.api import errors
from usm.api.auth import AUTH
from usm.api.model_routes import router as model_router

api = NinjaAPI(
    title="usm",
    version=__version__,
    description="Service management on the USM process model.",
    auth=AUTH,
    urls_namespace="api-v1",
)
errors.install(api)
api.add_router("/model/", model_router)

for config in apps.get_app_configs():
    if config.name.startswith("usm.") and find_spec(f"{config.name}.api"):
        module = import_module(f"{config.name}.api")
        for path, router in getattr(module, "ROUTERS", {config.label: module.router}).items():
            api.add_router(f"/{path}/", router)
