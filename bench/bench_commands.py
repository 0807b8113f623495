"""Commands on the default stack: round trip through the HTTP door with a token; fan-out of one
signed command to a fleet of enrolled hosts, each with its own consumer.

    .venv/bin/python bench/bench_commands.py [--commands 1000] [--hosts 1000]
        [--skip-fanout] [--skip-roundtrip] [--keep]

Starts `mirror-stage up` as the README does (authorization on, default settings, its own local
agent with its identity and signed commands) and makes an API token with `mirror-stage token
add`. Round trip: one `uptime` (in the agent's default allowlist) at a time to the local agent,
created then read back until `succeeded`, through the commands service's HTTP door with the
token, then through the NATS door as the admin. The bench watches commands.status/result.<host>
on core NATS, so that it polls the door only once the agent has published the result; where the
time went comes from the command's event log (one clock: everything runs on this machine).
Fan-out: --hosts hosts enrolled as `mirror-stage agent enroll` does (bench/enrolled_fleet.py),
executed by commands_fleet.py: each host its own NATS identity, connection and durable consumer
on its own commands.dispatch.<host>, made as the agent makes it, checking each command's
signature; one request with a tag selector through the HTTP door, until the service lists every
command `succeeded`. Prints figures next to the targets; asserts nothing. --keep leaves the
data dir (logs included).
"""

import argparse
import asyncio
import math
import os
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import msgspec
import nats
import nats.aio.client
from nats.aio.msg import Msg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from commands_clients import HttpDoor, NatsDoor, Page, Sightings
from commands_fleet import (
    FleetFile,
    cpu_by_part,
    cpu_report,
    fleet_samples,
    start_executors,
    stop_executors,
)
from enrolled_fleet import enroll_fleet
from scratch import leave_scratch
from stack_login import api_token
from stack_up import RunningStack, admin, mirror_stage_up

from mirror_schema import subjects
from mirror_schema.command_api import CommandRecord, CreatedCommands
from mirror_schema.commands import is_final
from mirror_schema.hosts import host_id_from_hostname
from mirror_schema.identities import ADMIN, inbox_prefix
from mirror_schema.nats_credentials import credential_options

TARGET_P50_MS = 20.0
TARGET_P99_MS = 100.0
TARGET_FANOUT_S = 3.0
ROUNDTRIP_COMMAND = "uptime"  # in the local agent's default allowlist
WARM_UP = 10  # round trips per door before measuring (connections, caches, the agent's first)
COMMAND_TIMEOUT = 30.0  # a command not final within this is counted lost
DOOR_SECONDS = 300.0  # each door stops here with what it measured, however many were asked
FANOUT_SECONDS = 120.0
POLL_SECONDS = 0.001  # between GETs once the result is on the bus


@dataclass(frozen=True)
class Trip:
    """One round trip, in ms after the create was sent (wall clock for the logged events)."""

    reply: float
    dispatched: float  # the `dispatched` event (the service's clock)
    running: float  # the agent's `running` status timestamp
    finished: float  # the agent's finished_at
    result_seen: float  # the result on the bus, seen by the bench
    visible: float  # the first read that showed the final state
    polls: int
    status: str


def ms_after(at: datetime | None, began_wall: float) -> float:
    return math.nan if at is None else (at.timestamp() - began_wall) * 1000


async def trip(door: HttpDoor | NatsDoor, sightings: Sightings) -> Trip | None:
    """Create `true` for the agent, wait for its result on the bus, read until final."""
    began_wall, began = time.time(), time.monotonic()
    command_id = await door.create({"hostname": sightings.host_id, "command": ROUNDTRIP_COMMAND})
    replied = time.monotonic()
    polls = 0
    try:
        async with asyncio.timeout(COMMAND_TIMEOUT):
            result_seen = await sightings.result(command_id)
            while True:
                record = await door.get(command_id)
                polls += 1
                if is_final(record.status):
                    break
                await asyncio.sleep(POLL_SECONDS)
    except TimeoutError:
        return None
    visible = time.monotonic()
    events = {e.event: e.at for e in record.events}
    return Trip(
        reply=(replied - began) * 1000,
        dispatched=ms_after(events.get("dispatched"), began_wall),
        running=ms_after(events.get("running"), began_wall),
        finished=ms_after(record.finished_at, began_wall),
        result_seen=(result_seen - began) * 1000,
        visible=(visible - began) * 1000,
        polls=polls,
        status=record.status.value,
    )


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (NaNs left out)."""
    kept = sorted(v for v in values if not math.isnan(v))
    return kept[max(0, math.ceil(q * len(kept)) - 1)] if kept else math.nan


def row(label: str, values: list[float]) -> str:
    return (
        f"    {label:<44} p50 {pct(values, 0.5):7.2f}  p99 {pct(values, 0.99):7.2f}  "
        f"max {max(values, default=math.nan):7.2f}"
    )


def report_trips(door: str, trips: list[Trip], asked: int, lost: int, seconds: float) -> None:
    failed = sum(1 for t in trips if t.status != "succeeded")
    visible = [t.visible for t in trips]
    p50, p99 = pct(visible, 0.5), pct(visible, 0.99)
    print(
        f"{door} door: {len(trips)} of {asked} round trips in {seconds:.1f} s "
        f"({lost} lost after {COMMAND_TIMEOUT:g} s, {failed} not succeeded; "
        f"{WARM_UP} warm-ups not counted)"
    )
    print(
        f"  create -> `succeeded` visible: p50 {p50:.2f} ms (target < {TARGET_P50_MS:g}: "
        f"{'met' if p50 < TARGET_P50_MS else 'MISSED'})  p99 {p99:.2f} ms (target < "
        f"{TARGET_P99_MS:g}: {'met' if p99 < TARGET_P99_MS else 'MISSED'})  "
        f"max {max(visible, default=math.nan):.2f} ms"
    )
    print("  milestones, ms after the create was sent:")
    for label, name in (
        ("create replied (bench)", "reply"),
        ("`dispatched` event (service clock)", "dispatched"),
        ("`running` status (agent's timestamp)", "running"),
        ("finished_at (agent's timestamp)", "finished"),
        ("result seen on the bus (bench)", "result_seen"),
        ("final state read back (bench)", "visible"),
    ):
        print(row(label, [getattr(t, name) for t in trips]))
    print("  segments, ms:")
    for label, start, end in (
        ("service: create -> dispatched", None, "dispatched"),
        ("service: dispatched -> reply", "dispatched", "reply"),
        ("agent: dispatched -> running", "dispatched", "running"),
        ("agent: running -> finished (`uptime` runs)", "running", "finished"),
        ("agent: finished -> result on the bus", "finished", "result_seen"),
        ("service: result on the bus -> read back", "result_seen", "visible"),
    ):
        print(
            row(
                label,
                [getattr(t, end) - (getattr(t, start) if start else 0.0) for t in trips],
            )
        )
    polls = [t.polls for t in trips]
    print(f"  reads after the result was on the bus: mean {sum(polls) / max(len(polls), 1):.2f}")


async def wait_online(http: httpx.AsyncClient, host_ids: set[str], within: float) -> float:
    """Poll GET /api/commands/hosts until every host is known and online; seconds taken."""
    began = time.monotonic()
    while time.monotonic() - began < within:
        hosts = (await http.get("/api/commands/hosts")).json()["hosts"]
        if host_ids <= {h["host_id"] for h in hosts if h["online"]}:
            return time.monotonic() - began
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{len(host_ids)} hosts not all online within {within:g} s")


async def roundtrip(nc: nats.aio.client.Client, http: httpx.AsyncClient, count: int) -> None:
    host_id = host_id_from_hostname(socket.gethostname())
    waited = await wait_online(http, {host_id}, 60)
    print(
        f"round trip: the stack's agent {host_id} online after {waited:.1f} s; one "
        f"`{ROUNDTRIP_COMMAND}` at a time: create, wait for its result on the bus (core NATS), "
        f"then read it through the same door every {POLL_SECONDS * 1000:g} ms until final"
    )
    sightings = Sightings(host_id)
    await sightings.watch(nc)
    for door in (HttpDoor(http), NatsDoor(nc)):
        for _ in range(WARM_UP):
            await trip(door, sightings)
        trips: list[Trip] = []
        lost = 0
        cpu = cpu_by_part()
        began = time.monotonic()
        for _ in range(count):
            if time.monotonic() - began > DOOR_SECONDS:
                break
            done = await trip(door, sightings)
            if done is None:
                lost += 1
            else:
                trips.append(done)
        wall = time.monotonic() - began
        report_trips(door.name, trips, count, lost, wall)
        print(f"  {cpu_report(cpu, cpu_by_part(), wall)}")


async def fanout(
    stack: RunningStack,
    data_dir: Path,
    nc: nats.aio.client.Client,
    http: httpx.AsyncClient,
    hosts: int,
) -> None:
    began = time.monotonic()
    host_ids = [s.host_id or "" for s in fleet_samples(hosts)]
    fleet = await enroll_fleet(stack, data_dir, host_ids)
    print(f"fan-out: {len(fleet)} hosts enrolled in {time.monotonic() - began:.1f} s")
    key = (await http.get("/api/commands/signing-key")).json()["public_key"]
    fleet_path = data_dir / "bench-fleet.json"
    fleet_path.write_bytes(
        msgspec.json.encode(
            FleetFile(key, [(host.host_id, str(host.credentials)) for host in fleet])
        )
    )
    began = time.monotonic()
    executors = await start_executors(stack.env["MIRROR_STAGE_NATS_URL"], fleet_path)
    waited = await wait_online(http, set(host_ids), 60)
    print(
        f"  executors: one process, {len(fleet)} connections, each with its host's credentials "
        f"and its own durable consumer on commands.dispatch.<host> (as the agent makes it); "
        f"per command: the agent's checks (host, signature, withdrawal), ack, `running` "
        f"status, `succeeded` result (the agent's Publisher), no fork; connected, bound and "
        f"one sample each in {time.monotonic() - began:.1f} s, all online {waited:.1f} s later"
    )
    # A selector matches the operator's labels, never the tags samples claim: label them.
    for host_id in sorted(host_ids):
        labelled = await http.put(
            f"/api/commands/hosts/{host_id}/labels", json={"tags": {"simulated": "true"}}
        )
        labelled.raise_for_status()
    seen: dict[str, list[float]] = {"dispatch": [], "result": []}

    def counter(kind: str) -> Callable[[Msg], Awaitable[None]]:
        async def on_msg(msg: Msg) -> None:
            seen[kind].append(time.monotonic())

        return on_msg

    subscriptions = [
        await nc.subscribe(subjects.COMMANDS_DISPATCH_ALL, cb=counter("dispatch")),
        await nc.subscribe(subjects.COMMANDS_RESULT_ALL, cb=counter("result")),
    ]
    body = {"command": "true", "selector": {"tags": {"simulated": "true"}}, "requested_by": "b"}
    cpu = cpu_by_part()
    began_wall, began = time.time(), time.monotonic()
    answer = await http.post("/api/commands", json=body, timeout=FANOUT_SECONDS)
    created_at = time.monotonic() - began
    answer.raise_for_status()
    created = msgspec.json.decode(answer.content, type=CreatedCommands)
    statuses = Counter(c.status.value for c in created.commands)
    succeeded = 0
    next_report = 0.5
    print(f"  t={created_at:6.2f}s create replied: {len(created.commands)} commands {statuses}")
    while succeeded < len(created.commands) and time.monotonic() - began < FANOUT_SECONDS:
        params = {"batch_id": created.batch_id or "", "status": "succeeded", "page_size": 1}
        succeeded = (await http.get("/api/commands", params=params)).json()["total"]
        now = time.monotonic() - began
        if now >= next_report or succeeded == len(created.commands):
            print(
                f"  t={now:6.2f}s dispatches on the bus {len(seen['dispatch']):5}  results on "
                f"the bus {len(seen['result']):5}  succeeded in the service {succeeded:5}"
            )
            next_report += 0.5
        await asyncio.sleep(0.02)
    done = time.monotonic() - began
    cpu_after = cpu_by_part()
    for subscription in subscriptions:
        await subscription.unsubscribe()
    handled = await stop_executors(executors)
    typed: list[CommandRecord] = []
    for page in range(1, len(created.commands) // 200 + 2):
        params = {"batch_id": created.batch_id or "", "page_size": 200, "page": page}
        answer = await http.get("/api/commands", params=params)
        typed += msgspec.json.decode(answer.content, type=Page).items
    dispatched = sorted(ms_after(r.dispatched_at, began_wall) / 1000 for r in typed) or [math.nan]
    last_finished = max((ms_after(r.finished_at, began_wall) / 1000 for r in typed), default=0)
    bus = {k: (v[0] - began, v[-1] - began) if v else (math.nan,) * 2 for k, v in seen.items()}
    total = len(created.commands)
    on_bus = bus["dispatch"][1] - bus["dispatch"][0]
    after_reply = total - statuses["succeeded"]
    print(
        f"fan-out of `true` (signed) to {total} hosts by tag selector, HTTP door; s after the POST:"
    )
    print(
        f"  `dispatched_at` (one per batch of hosts)     {dispatched[0]:6.2f} to "
        f"{dispatched[-1]:.2f}"
    )
    print(
        f"  dispatches on the bus                        {bus['dispatch'][0]:6.2f} to "
        f"{bus['dispatch'][1]:.2f}   ({total / max(on_bus, 1e-3):,.0f} dispatches/s)"
    )
    print(
        f"  create replied (all dispatched)              {created_at:6.2f}   "
        f"({statuses['succeeded']} already succeeded)"
    )
    print(
        f"  last result on the bus, finished_at          {bus['result'][1]:6.2f}, "
        f"{last_finished:.2f} (executors: {handled})"
    )
    print(
        f"  every command `succeeded` in the service     {done:6.2f}   "
        f"({succeeded} of {total}; target < {TARGET_FANOUT_S:g} s: "
        f"{'met' if done < TARGET_FANOUT_S and succeeded == total else 'MISSED'})"
    )
    print(
        f"  after the reply: {after_reply} commands' running + result applied in "
        f"{done - created_at:.2f} s = {2 * after_reply / (done - created_at):,.0f} messages/s"
    )
    print(f"  {cpu_report(cpu, cpu_after, done)}")


def log_summary(path: Path) -> None:
    """Counts of the service's warning and error events (what to look at when slow)."""
    levels: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = msgspec.json.decode(line)
        except msgspec.DecodeError:
            levels[f"(not JSON) {line[:60]}"] += 1
            continue
        if isinstance(entry, dict) and entry.get("level") in ("warning", "error", "critical"):
            levels[f"{entry['level']} {entry.get('event')}"] += 1
    print(f"service log: {dict(levels) or 'no warnings or errors'}")


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {os.cpu_count()} cores, 1-minute load average {os.getloadavg()[0]:.2f}")
    base = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    data_dir = base / "data"
    try:
        began = time.monotonic()
        async with mirror_stage_up(data_dir) as stack:
            print(f"mirror-stage up: healthy after {time.monotonic() - began:.1f} s")
            token = await api_token(stack, data_dir)
            nc = await nats.connect(
                stack.env["MIRROR_STAGE_NATS_URL"],
                inbox_prefix=inbox_prefix(ADMIN),
                **credential_options(admin(data_dir)),
            )
            try:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{stack.port('commands')}",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                ) as http:
                    if not args.skip_roundtrip:
                        await roundtrip(nc, http, args.commands)
                    if not args.skip_fanout:
                        await fanout(stack, data_dir, nc, http, args.hosts)
            finally:
                await nc.close()
        log_summary(data_dir / "logs" / "commands.log")
        print(f"1-minute load average at the end {os.getloadavg()[0]:.2f}")
    finally:
        leave_scratch(base, keep=args.keep)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--skip-roundtrip", action="store_true")
    parser.add_argument("--keep", action="store_true")
    asyncio.run(main(parser.parse_args()))
