"""`python -m mirror_stage.healthcheck URL`: exit 0 when URL answers 200, else 1 (a container's
health check; the standard library only, no shell or curl in the image)."""

import ssl
import sys
import urllib.error
import urllib.request
from typing import Final

TIMEOUT_SECONDS: Final = 3.0


def unverified_context() -> ssl.SSLContext:
    """TLS that does not check the server's certificate: for a probe of one's own children or
    of oneself on loopback, never for anything else."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def healthy(url: str) -> bool:
    """Whether `url` answers 200 within the timeout. A service's own certificate is not
    checked: this runs inside its container, against itself."""
    context = unverified_context()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS, context=context) as answer:  # noqa: S310 - our own URL
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].startswith(("http://", "https://")):
        print("usage: python -m mirror_stage.healthcheck http://127.0.0.1:PORT/api/health")  # noqa: T201
        return 2
    return 0 if healthy(argv[0]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
