"""Real faults under a simulated fleet: what each costs and how long the stack takes to recover.

    .venv/bin/python bench/bench_faults.py [--hosts 1000] [--interval 1] [--stopped 60]

Starts the default stack as the README does, `mirror-stage up --simulate 1000
--simulate-interval 1` (authorization on, logins on, default settings), logs in as the first
admin, enrolls a field agent of its own (tests/e2e/field_agent.py: it runs a command long
enough to be caught in flight, and leaves a trace of each run), and deals these faults in turn,
each once the stack is whole again:

1. PostgreSQL's postmaster killed with SIGKILL (the launcher restarts it);
2. PostgreSQL stopped cleanly (fast shutdown) and kept down --stopped seconds (the launcher
   frozen meanwhile, tests/e2e/stack_faults.py), then restarted by the launcher;
3. nats-server killed with SIGKILL;
4. the commands service killed with SIGKILL while a command runs;
5. the field agent killed with SIGKILL while a command runs (then started again, as its
   systemd unit would);
6. nats-server killed with SIGKILL while a command runs.

Each fault runs under the fleet's load and a probe load of its own (5 hosts x 60 samples
through the agent's shipper, spanning the fault). It prints the probe's samples acknowledged
against METRICS (lost, stored twice) and the history's rows; the command's executions (its
trace) and final state and audit; the services that died instead of reconnecting; the
seconds from the fault's end (the kill, or the end of the stop) until every service's
/api/health is ok and until the history writer has settled every sample METRICS held when
the fault began (its consumer's ack floor), and from the probe's last acknowledgement until
its history is complete. At the end the fleet is paused and METRICS is compared
with the whole history.

Prints figures; asserts nothing. Loopback only; every wait bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import nats.errors
import nats.js.errors

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from fault_load import Fleet, Load, ShippedLoad
from fault_stage import FIELD_HOST, SERVICES, Faulty, fault_stack
from stack_faults import (
    kill_nats_server,
    kill_postmaster,
    postgres_stopped,
    replaced,
    restarted,
    service_pids,
)
from stack_up import admin, bus_violations, service_process

from mirror_schema import streams
from waiting import wait_until

PROBE_HOSTS = 4  # and one more, the hot host of the fault's alert rule
ALERT_AFTER_SECONDS = 0.5  # into the fault, a host turns hot: does its alert fire then?
PROBE_SAMPLES = 60
PROBE_PACE_SECONDS = 0.1  # a round of samples every 0.1 s: 6 s of probe load
LIMIT_SECONDS = 180.0
SETTLE_SECONDS = 20.0
Clock = Callable[[], float]


@dataclass
class Watch:
    """The history writer's lag, read every half second while a fault runs."""

    faulty: Faulty
    peak: int = 0
    last: int | None = None

    async def run(self) -> None:
        while True:
            lag = await history_lag(self.faulty)
            if lag is not None:
                self.last, self.peak = lag, max(self.peak, lag)
            await asyncio.sleep(0.5)


async def history_lag(faulty: Faulty) -> int | None:
    """Samples the history consumer has not yet acknowledged; None while the bus is away."""
    try:
        info = await faulty.nc.jetstream().consumer_info(streams.METRICS.name, "history")
    except (nats.errors.Error, nats.js.errors.Error, TimeoutError):
        return None
    return int(info.num_pending + info.num_ack_pending)


async def metrics_last_seq(faulty: Faulty) -> int:
    return int((await faulty.nc.jetstream().stream_info(streams.METRICS.name)).state.last_seq)


async def history_floor(faulty: Faulty) -> int | None:
    """The METRICS sequence up to which the history writer has settled every sample."""
    try:
        info = await faulty.nc.jetstream().consumer_info(streams.METRICS.name, "history")
    except (nats.errors.Error, nats.js.errors.Error, TimeoutError):
        return None
    return None if info.ack_floor is None else int(info.ack_floor.stream_seq or 0)


async def seconds_until(condition: Callable[[], Awaitable[bool]], since: float) -> float | None:
    """Seconds from `since` (monotonic) until `condition()` holds; None past the limit."""
    deadline = time.monotonic() + LIMIT_SECONDS
    while time.monotonic() < deadline:
        if await condition():
            return time.monotonic() - since
        await asyncio.sleep(0.1)
    return None


def shown(seconds: float | None) -> str:
    return "never (cut)" if seconds is None else f"{seconds:.1f} s"


async def kill_postgres(faulty: Faulty, args: argparse.Namespace) -> tuple[float, str]:
    pid = kill_postmaster(faulty.stack)
    ended = time.monotonic()
    await restarted(faulty.stack, "postgres", pid)
    return ended, f"PostgreSQL accepting again after {time.monotonic() - ended:.1f} s"


async def stop_postgres(faulty: Faulty, args: argparse.Namespace) -> tuple[float, str]:
    async with postgres_stopped(faulty.stack) as pid:
        await asyncio.sleep(args.stopped)  # the outage's length
    ended = time.monotonic()
    await restarted(faulty.stack, "postgres", pid)
    back = time.monotonic() - ended
    return ended, f"down {args.stopped:g} s; accepting again {back:.1f} s after the stop's end"


async def kill_nats(faulty: Faulty, args: argparse.Namespace) -> tuple[float, str]:
    pid = kill_nats_server(faulty.stack)
    ended = time.monotonic()
    await restarted(faulty.stack, "nats", pid)
    return ended, f"nats-server accepting again after {time.monotonic() - ended:.1f} s"


async def kill_commands(faulty: Faulty, args: argparse.Namespace) -> tuple[float, str]:
    victim = service_process(faulty.stack, "commands")
    victim.kill()
    ended = time.monotonic()
    await faulty.restarted("commands", victim.pid)
    return ended, f"commands service healthy again after {time.monotonic() - ended:.1f} s"


async def kill_agent(faulty: Faulty, args: argparse.Namespace) -> tuple[float, str]:
    await faulty.agent.kill()
    ended = time.monotonic()
    await faulty.agent.start(faulty.stack)
    return ended, "field agent started again at once (as systemd would)"


Inject = Callable[[Faulty, argparse.Namespace], Awaitable[tuple[float, str]]]
FAULTS: list[tuple[str, str, Inject, bool]] = [
    ("pg-killed", "PostgreSQL killed (SIGKILL), command running", kill_postgres, True),
    ("pg-stopped", "PostgreSQL stopped and kept down, command running", stop_postgres, True),
    ("nats-killed", "nats-server killed (SIGKILL)", kill_nats, False),
    ("commands-killed", "commands service killed (SIGKILL), command running", kill_commands, True),
    ("agent-killed", "field agent killed (SIGKILL), command running", kill_agent, True),
    ("nats-cmd-killed", "nats-server killed (SIGKILL), command running", kill_nats, True),
]


async def deal(
    faulty: Faulty, args: argparse.Namespace, name: str, title: str, inject: Inject, command: bool
) -> None:
    await faulty.all_healthy()
    fleet = Fleet(name, size=PROBE_HOSTS)
    await faulty.add_spike_rule(fleet)
    late = Fleet(f"{name}-late", size=0)  # its host turns hot a moment into the fault
    await faulty.add_spike_rule(late)
    pids = service_pids(faulty.stack, SERVICES)
    command_id = None
    if command:
        command_id = await faulty.commands.send(FIELD_HOST, faulty.agent.sleeper(name))
        await faulty.commands.wait_status(command_id, "running", within=LIMIT_SECONDS)
    url = faulty.stack.env["MIRROR_STAGE_NATS_URL"]
    load = ShippedLoad(
        url, admin(faulty.data_dir), fleet, samples_per_host=PROBE_SAMPLES, pace=PROBE_PACE_SECONDS
    )
    shipping = asyncio.create_task(load.run())
    watch = Watch(faulty)
    watching = asyncio.create_task(watch.run())
    await wait_until(
        lambda: load.acknowledged >= PROBE_SAMPLES or shipping.done(),
        timeout=LIMIT_SECONDS,
        what="the probe load under way",
        interval=0.05,
    )
    at_fault = load.acknowledged
    stored = await metrics_last_seq(faulty)
    began = time.monotonic()
    raising = asyncio.create_task(raise_alert(faulty, late))
    ended, part = await inject(faulty, args)

    async def written_through() -> bool:
        floor = await history_floor(faulty)
        return floor is not None and floor >= stored

    healthy, caught_up = await asyncio.gather(
        seconds_until(faulty.healthy, ended), seconds_until(written_through, ended)
    )
    await shipping
    last_acknowledged = time.monotonic()

    async def probe_complete() -> bool:
        try:
            return all([await faulty.rows(h) >= load.samples_per_host for h in fleet.every_host])
        except (OSError, asyncpg.PostgresError):
            return False

    complete = await seconds_until(probe_complete, last_acknowledged)
    watching.cancel()
    held = [await faulty.held(h) for h in fleet.every_host]
    rows = [await faulty.rows(h) for h in fleet.every_host]
    expected = load.samples_per_host * len(fleet.every_host)
    lost = sum(max(0, load.samples_per_host - n) for n in held)
    twice = sum(max(0, n - load.samples_per_host) for n in held)
    print(f"{title}")
    print(f"  fault: {part}; {time.monotonic() - began:.1f} s from the fault to the probe's end")
    print(
        f"  probe: {load.acknowledged:,} of {load.submitted:,} acknowledged "
        f"({at_fault:,} before the fault, {load.refused} refused); METRICS holds "
        f"{sum(held):,}: {lost} lost, {twice} stored twice; history {sum(rows):,} rows "
        f"of {expected:,} ({expected - sum(rows)} missing)"
    )
    if command_id is not None:
        state = await faulty.commands.wait_final(command_id, within=LIMIT_SECONDS)
        runs = faulty.agent.executions(name)
        print(
            f"  command: {state}, executions started {runs['start']} ended {runs['done']}, "
            f"accepted {faulty.agent.accepted(command_id)}x by the agent; audit "
            f"{' > '.join(await faulty.commands.audit(command_id))}"
        )
    died = replaced(pids, service_pids(faulty.stack, SERVICES))
    print(f"  services that died instead of reconnecting: {', '.join(died) or 'none'}")
    print(
        f"  recovery after the fault's end: every /api/health ok {shown(healthy)}; the "
        f"history holds all METRICS had before the fault {shown(caught_up)} (writer's lag "
        f"peaked at {watch.peak:,}); the probe's history complete {shown(complete)} after "
        "its last sample was acknowledged"
    )

    async def fired() -> bool:
        return "firing" in await faulty.spike_states(fleet)

    fired_after = await seconds_until(fired, ended)
    print(
        f"  probe alert (its host at 99 % from the start): fired {shown(fired_after)} after "
        f"the fault's end (or before); states "
        f"{' > '.join(await faulty.spike_states(fleet)) or 'none'}"
    )
    hot_at, fired_at = await raising
    when = "during the fault" if fired_at < ended else f"{fired_at - ended:.1f} s after its end"
    answer = await faulty.http.get(f"{faulty.url('alerts')}/api/alerts", params={"host": late.hot})
    stored = [a for a in answer.json()["items"] if a["rule_id"] == late.rule]
    print(
        f"  alert raised {hot_at - began:.1f} s into the fault: fired {fired_at - hot_at:.2f} s "
        f"after its sample, {when}; states {' > '.join(await faulty.spike_states(late))}; "
        f"stored {len(stored)}x"
    )


async def raise_alert(faulty: Faulty, late: Fleet) -> tuple[float, float]:
    """A moment into the fault, a sample turns `late`'s host hot; when that was, and when its
    alert's firing event was on the stream (monotonic)."""
    await asyncio.sleep(ALERT_AFTER_SECONDS)
    hot_at = time.monotonic()
    await Load(faulty.nc.jetstream(), late).publish(late.hot, 1)

    async def fired() -> bool:
        try:
            return "firing" in await faulty.spike_states(late)
        except (nats.errors.Error, nats.js.errors.Error):
            return False  # the bus restarting

    await wait_until(fired, timeout=LIMIT_SECONDS, what=f"{late.hot}'s alert", interval=0.05)
    return hot_at, time.monotonic()


async def fleet_wide(faulty: Faulty, args: argparse.Namespace) -> None:
    """Pause the simulator, let the history drain, and compare it with METRICS."""
    simulator = next(
        p for p in faulty.stack.descendants() if "mirror_agent simulate" in " ".join(p.cmdline())
    )
    simulator.send_signal(signal.SIGSTOP)
    try:

        async def drained() -> bool:
            return await history_lag(faulty) == 0

        await seconds_until(drained, time.monotonic())
        info = await faulty.nc.jetstream().stream_info(streams.METRICS.name)
        connection = await asyncpg.connect(faulty.database_url)
        try:
            rows = int(await connection.fetchval("SELECT count(*) FROM metric_samples"))
        finally:
            await connection.close()
    finally:
        simulator.send_signal(signal.SIGCONT)
    print(
        f"fleet-wide, paused and drained: METRICS holds {info.state.messages:,} samples, "
        f"the history {rows:,} rows ({info.state.messages - rows:,} difference)"
    )


async def measure(args: argparse.Namespace) -> None:
    flags = ["--simulate", str(args.hosts), "--simulate-interval", f"{args.interval:g}"]
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        began = time.monotonic()
        async with fault_stack(Path(tmp), *flags) as faulty:
            print(f"{args.hosts:,} simulated hosts at {args.interval:g} s, default stack")
            await faulty.all_healthy()
            await asyncio.sleep(SETTLE_SECONDS)
            for name, title, inject, command in FAULTS:
                if args.only and name not in args.only:
                    continue
                await deal(faulty, args, name, title, inject, command)
            await fleet_wide(faulty, args)
            print(f"bus permission violations: {len(bus_violations(faulty.data_dir))}")
        print(f"whole run {time.monotonic() - began:.0f} s")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--hosts", type=int, default=1000)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--stopped", type=float, default=60.0, help="PostgreSQL's clean stop, s")
    p.add_argument("--only", nargs="*", help="fault names to deal (default: all)")
    return p.parse_args()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(measure(parse()))
