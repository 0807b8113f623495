"""What nats-server spends loading the stack's accounts as the fleet grows.

    .venv/bin/python bench/bench_nats_accounts.py [--agents 1000 2000 3000]

Each enrolled agent is an account of its own with ten service imports from STAGE
(mirror_stage.nats_accounts). For each fleet size this enrolls that many agents in a fresh
identity registry as `mirror-stage agent enroll` does, writes the accounts block the stack
gives nats-server, starts nats-server on it (as `mirror-stage up` does, JetStream on a temp
dir, loopback) and prints the seconds and CPU seconds until the server has settled (its CPU
use over half a second under 20 ms). A reload reads the same block (an enroll reloads twice).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from mirror_stage.enrollment import ensure_stack_identities
from mirror_stage.identity_store import IdentityStore
from mirror_stage.nats_accounts import accounts_block
from mirror_stage.natsd import nats_server_binary
from mirror_stage.ports import free_port

SETTLED_CPU_SECONDS = 0.02
STEP_SECONDS = 0.5
LIMIT_SECONDS = 600.0


def measure(agents: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-accounts-") as tmp:
        base = Path(tmp)
        store = IdentityStore(base / "identities")
        ensure_stack_identities(store)
        for k in range(agents):
            store.enroll_agent(f"host-{k:05d}")
        (base / "users.conf").write_text(accounts_block(list(store.users())))
        config = base / "nats.conf"
        config.write_text(
            f"listen: 127.0.0.1:{free_port()}\n"
            f'jetstream {{ store_dir: "{base / "js"}" }}\ninclude "users.conf"\n'
        )
        server = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            process = psutil.Process(server.pid)
            began = time.monotonic()
            used = 0.0
            while time.monotonic() - began < LIMIT_SECONDS:
                time.sleep(STEP_SECONDS)
                times = process.cpu_times()
                now_used = times.user + times.system
                if now_used - used < SETTLED_CPU_SECONDS and time.monotonic() - began > 1.0:
                    break
                used = now_used
            settled = time.monotonic() - began
        finally:
            server.terminate()
            server.wait()
    print(
        f"{agents:>6,} agents: nats-server settled {settled:.1f} s after its start, "
        f"{used:.1f} CPU seconds"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1000, 2000, 3000])
    args = parser.parse_args()
    print(f"nats-server {nats_server_binary()}, the accounts block the stack writes")
    for agents in args.agents:
        measure(agents)


if __name__ == "__main__":
    main()
