"""The system's Chromium, as the HUD's tests and benchmark launch it through Playwright."""

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HUD = Path(__file__).resolve().parents[1] / "hud"

# Headless, and nothing reaching out: this machine's network is closed, and Chromium's own
# background connections would be refused many at a time.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--enable-precise-memory-info",  # performance.memory, for the page's JS heap
]


def chromium_path() -> str | None:
    """The distribution's Chromium on PATH (Playwright never downloads one), or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


def with_test_hook(url: str) -> str:
    """The HUD's page at `url` as tests and benchmarks open it: ?testing=1 makes it load
    hud/testing.js, the window.mirrorStage hook, which no other page fetches."""
    return f"{url}?testing=1"


@contextlib.contextmanager
def served_hud(port: int) -> Iterator[str]:
    """hud/'s files alone on loopback (no twin behind them), for as long as the block runs;
    yields the page's URL."""
    handler = functools.partial(_QuietHandler, directory=str(HUD))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
