"""The system's Chromium, as the HUD's tests and benchmark launch it through Playwright."""

import shutil

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
