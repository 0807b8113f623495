"""bench_twin's publisher child process: pre-encoded samples, re-stamped, every host each second."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import nats

from mirror_agent.agent import envelope_of
from mirror_agent.simulated_fleet import SimulatedFleet

TEMPLATE_TICKS = 8
# Replaced at each publish; encoded once into every template, then found again by bytes.
SENTINEL_TIME = datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
SENTINEL_SEQ = 987_654_321
SENTINEL_UPTIME = 12_345_678.5
TIME_FIELD = b'"timestamp":"2001-02-03T04:05:06.789012Z"'
SEQ_FIELD = b'"seq":987654321'
UPTIME_FIELD = b'"uptime_seconds":12345678.5'


@dataclass(frozen=True)
class HostPlan:
    """One host's subject, msg-id prefix, boot time and pre-encoded samples with sentinels."""

    subject: str
    msg_id_prefix: str
    boot_time: float
    templates: list[bytes]


def plan_fleet(hosts: int) -> list[HostPlan]:
    """TEMPLATE_TICKS encoded samples per host, 1 s apart; hosts silent throughout are left out."""
    fleet = SimulatedFleet(hosts, seed=7, interval=1.0, prefix="tw", run_token=f"{os.getpid()}x")
    start = time.time() - TEMPLATE_TICKS
    plans: dict[str, HostPlan] = {}
    for k in range(TEMPLATE_TICKS):
        for sample in fleet.tick(start + k):
            envelope = envelope_of(
                msgspec.structs.replace(
                    sample,
                    timestamp=SENTINEL_TIME,
                    seq=SENTINEL_SEQ,
                    uptime_seconds=SENTINEL_UPTIME,
                )
            )
            if not all(f in envelope.payload for f in (TIME_FIELD, SEQ_FIELD, UPTIME_FIELD)):
                raise RuntimeError(
                    f"a sample no longer encodes {TIME_FIELD!r}, {SEQ_FIELD!r} and "
                    f"{UPTIME_FIELD!r} as the publisher expects; update twin_publisher.py's "
                    "sentinels"
                )
            plan = plans.get(envelope.subject)
            if plan is None:
                plan = plans[envelope.subject] = HostPlan(
                    subject=envelope.subject,
                    msg_id_prefix=envelope.msg_id.removesuffix(str(SENTINEL_SEQ)),
                    boot_time=start + k - (sample.uptime_seconds or 0.0),
                    templates=[],
                )
            plan.templates.append(envelope.payload)
    return list(plans.values())


async def publisher(url: str, hosts: int, limit: float) -> None:
    """Child process: publish every host once a second, evenly spread, until SIGTERM or `limit` s.

    Prints `ready <hosts>` once the samples are encoded and NATS is connected, then at the end
    one JSON line: published, seconds, max_behind (how late the latest slot got, in seconds).
    """
    plans = plan_fleet(hosts)
    nc = await nats.connect(url, pending_size=32 * 2**20)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"ready {len(plans)}", flush=True)
    count = len(plans)
    began = time.time()
    done = 0
    max_behind = 0.0
    second, prefix = -1, b""
    while not stop.is_set() and time.time() - began < limit:
        now = time.time()
        due = int((now - began) * count) + 1
        max_behind = max(max_behind, now - (began + done / count))
        # At most half a second's worth at once, so the flusher and signals get their turn.
        for slot in range(done, min(due, done + max(count // 2, 1))):
            rounds, index = divmod(slot, count)
            plan = plans[index]
            at = time.time()
            if int(at) != second:
                second = int(at)
                prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
            seq = rounds + 1
            payload = (
                plan.templates[rounds % len(plan.templates)]
                .replace(TIME_FIELD, b'"timestamp":"%s.%06dZ"' % (prefix, (at - second) * 1e6), 1)
                .replace(SEQ_FIELD, b'"seq":%d' % seq, 1)
                .replace(UPTIME_FIELD, b'"uptime_seconds":%.1f' % (at - plan.boot_time), 1)
            )
            await nc.publish(
                plan.subject, payload, headers={"Nats-Msg-Id": f"{plan.msg_id_prefix}{seq}"}
            )
            done = slot + 1
        await asyncio.sleep(max(0.0005, began + done / count - time.time()))
    elapsed = time.time() - began
    await nc.flush()
    await nc.close()
    print(json.dumps({"published": done, "seconds": elapsed, "max_behind": max_behind}), flush=True)


async def start_publisher(
    entry: str, url: str, hosts: int, limit: float
) -> asyncio.subprocess.Process:
    """Start `entry --publisher url` (the bench script, which runs `publisher`) as a child."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        entry,
        "--publisher",
        url,
        "--hosts",
        str(hosts),
        "--limit",
        str(limit),
        stdout=asyncio.subprocess.PIPE,
    )


async def stop_publisher(process: asyncio.subprocess.Process) -> dict[str, float]:
    """SIGTERM the publisher and return its closing figures ({} if it gave none)."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            output = await process.stdout.read()
            await process.wait()
    except TimeoutError:
        process.kill()
        return {}
    for line in reversed(output.decode().splitlines()):
        if line.startswith("{"):
            figures: dict[str, float] = json.loads(line)
            return figures
    return {}
