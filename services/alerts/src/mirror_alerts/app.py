"""HTTP app of the alerts service: routes only."""

from fastapi import FastAPI

from mirror_runtime.app import service_app
from mirror_runtime.health import Dependencies


def create_app(deps: Dependencies) -> FastAPI:
    """The alerts service's FastAPI app over its dependencies."""
    return service_app(deps)
