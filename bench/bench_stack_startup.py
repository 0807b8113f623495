"""Time `mirror-stage up` to all-healthy, cold (fresh data dir) and warm (same dir), and to stop.

Run: make bench   (or .venv/bin/python bench/bench_stack_startup.py [--runs N])
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mirror_stage.ports import free_port
from mirror_stage.postgres import postgres_account, postgres_root


def one_run(data_dir: Path) -> tuple[float, float]:
    """Seconds to the HUD line and seconds from SIGTERM to exit, for one `up`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIRROR_STAGE_")}
    env["MIRROR_STAGE_NATS_URL"] = f"nats://127.0.0.1:{free_port()}"
    for part in ("TWIN", "INGEST", "ALERTS", "COMMANDS"):
        env[f"MIRROR_STAGE_{part}_PORT"] = str(free_port())
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "mirror_stage", "up", "--data-dir", str(data_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("HUD: "):
            break
    else:
        raise SystemExit(f"mirror-stage up ended with {process.wait()} before it was healthy")
    healthy = time.monotonic() - began
    stop_began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    return healthy, time.monotonic() - stop_began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    base.chmod(0o755)
    data_dir = base / "stage"
    try:
        cold = one_run(data_dir)
        warm = [one_run(data_dir) for _ in range(args.runs)]
    finally:
        root = postgres_root(data_dir, postgres_account())
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"cold start (initdb, stream creation) to all-healthy: {cold[0]:.2f} s;"
        f" stop {cold[1]:.2f} s"
    )
    healthy = sorted(run[0] for run in warm)
    stops = sorted(run[1] for run in warm)
    print(
        f"warm start to all-healthy over {args.runs} runs:"
        f" median {healthy[len(healthy) // 2]:.2f} s,"
        f" max {healthy[-1]:.2f} s; stop median {stops[len(stops) // 2]:.2f} s"
    )


if __name__ == "__main__":
    main()
