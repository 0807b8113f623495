"""HTTP app of the ingest service: routes only."""

from fastapi import FastAPI

from mirror_runtime.app import service_app
from mirror_runtime.health import Dependencies


def create_app(deps: Dependencies) -> FastAPI:
    """The ingest service's FastAPI app over its dependencies."""
    return service_app(deps)
