"""mirror_runtime.logs in a process of its own: JSON lines on stderr for structlog and the
standard library alike, tracebacks without local variables, the access log kept quiet."""

import json
import subprocess
import sys

PROGRAM = """
import logging
import structlog
from mirror_runtime.logs import configure_logging

configure_logging("json")
structlog.get_logger().info("service.started", port=8100)
logging.getLogger("some.library").warning("from the standard library")
logging.getLogger("uvicorn.access").info("GET /api/health 200")
logging.getLogger("httpx").info("HTTP Request: GET /api/health")
try:
    password = "hunter2-secret"
    raise ValueError("boom")
except ValueError:
    structlog.get_logger().exception("request.crashed")
"""


def test_logs_are_json_lines_and_a_traceback_shows_no_local_variables() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=True
    )
    assert ran.stdout == ""
    lines = [json.loads(line) for line in ran.stderr.splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("service.started", "info"),
        ("from the standard library", "warning"),
        ("request.crashed", "error"),
    ]
    assert lines[0]["port"] == 8100
    assert all(line["timestamp"].endswith("Z") for line in lines)
    assert "ValueError: boom" in lines[2]["exception"]
    assert "hunter2-secret" not in ran.stderr
