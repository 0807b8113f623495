"""HTTP app of the commands service: routes only."""

from fastapi import FastAPI

from mirror_runtime.app import service_app
from mirror_runtime.health import Dependencies


def create_app(deps: Dependencies) -> FastAPI:
    """The commands service's FastAPI app over its dependencies."""
    return service_app(deps)
