"""`python -m mirror_stage.healthcheck URL`, a container's health check: 0 only for a 200."""

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from loopback_ports import free_port


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/api/health" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[int]:
    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield port
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def healthcheck(*args: str) -> int:
    command = [sys.executable, "-m", "mirror_stage.healthcheck", *args]
    return subprocess.run(command, capture_output=True, check=False, timeout=30).returncode


def test_only_a_200_is_healthy(server: int) -> None:
    assert healthcheck(f"http://127.0.0.1:{server}/api/health") == 0
    assert healthcheck(f"http://127.0.0.1:{server}/degraded") == 1  # 503
    assert healthcheck(f"http://127.0.0.1:{free_port()}/api/health") == 1  # nobody there


def test_a_missing_or_strange_url_is_a_usage_error() -> None:
    assert healthcheck() == 2
    assert healthcheck("file:///etc/passwd") == 2
