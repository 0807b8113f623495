"""HTTP app of the twin service: routes only; serves the HUD's static files at /."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mirror_runtime.app import service_app
from mirror_runtime.health import Dependencies
from mirror_runtime.http_door import mount_operations
from mirror_twin.account_effects import with_account_effects
from mirror_twin.engine import TwinEngine
from mirror_twin.forward import Forwarder, implementations
from mirror_twin.metrics import REQUESTS
from mirror_twin.routes import twin_router


def hud_directory() -> Path:
    """Where the HUD's files are: packaged beside this module, or at the workspace's root."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "hud", here.parents[3] / "hud"):
        if (candidate / "index.html").is_file():
            return candidate
    raise FileNotFoundError(
        f"the HUD's index.html is neither in {here / 'hud'} nor in {here.parents[3] / 'hud'}"
    )


def create_app(deps: Dependencies, engine: TwinEngine) -> FastAPI:
    """The twin service's FastAPI app: its routes, the services' APIs it forwards for the HUD,
    then the HUD at /."""
    app = service_app(deps)
    app.include_router(twin_router(engine))
    forwarder = Forwarder(deps.nc, deps.service)
    # With logins off and no name in the body, the audit trail says the HUD asked.
    forwarded = [with_account_effects(app, i) for i in implementations(forwarder)]
    mount_operations(app, forwarded, requests=REQUESTS, default_actor="hud", qualified=True)
    app.mount("/", StaticFiles(directory=hud_directory(), html=True), name="hud")
    return app
