"""kill -9 of the stack's nats-server under load: what METRICS keeps of what it acknowledged.

    .venv/bin/python bench/bench_durability.py [--samples 60000] [--kills 3] [--no-resend]

Starts the default stack (`mirror-stage up --no-agent`: authorization on, default settings,
METRICS flushed asynchronously, the rest synced), ships --samples samples through the agent's
own shipper, NATS transport and disk buffer as fast as acknowledgements come, and kills the
stack's nats-server (SIGKILL) --kills times in full flow; the launcher restarts it. Once the
shipper has nothing left, it prints the samples acknowledged against those METRICS holds: 0
lost means every acknowledged sample survived. `--no-resend` turns off the transport's resend
of its last acknowledged samples after a reconnect (mirror_schema.resend), to show what the
server alone loses; `--per-message-writes` publishes with nats-py's publish_async instead of
the transport's own publisher, which writes each sample to the socket alone (as the ingest's
HTTP gateway does): a steady stream keeps the server's write buffer busy, the case in which a
kill loses acknowledged samples. Prints figures; asserts nothing. Loopback only; bounded in
time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import nats
import nats.aio.client
from nats.js.api import PubAck

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from stack_up import RunningStack, admin, mirror_stage_up

from mirror_agent.buffer import DiskBuffer
from mirror_agent.envelope import Envelope
from mirror_agent.shipper import Shipper
from mirror_agent.transport import NatsTransport
from mirror_schema import streams, subjects
from mirror_schema.acked_publish import AckedPublisher
from mirror_schema.nats_credentials import credential_options
from waiting import wait_until

HOSTS = 100
DRAIN_LIMIT_SECONDS = 180.0


def nats_server(stack: RunningStack) -> int:
    for process in stack.descendants():
        if process.name() == "nats-server":
            return int(process.pid)
    raise RuntimeError("no nats-server under the launcher")


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-durability-") as tmp:
        data_dir = Path(tmp) / "stack"
        async with mirror_stage_up(data_dir, "--no-agent") as stack:
            url = stack.env["MIRROR_STAGE_NATS_URL"]
            transport = NatsTransport(
                url, name="bench-durability", credentials_file=admin(data_dir)
            )
            transport.start()
            buffer = DiskBuffer(Path(tmp) / "buffer", 2**30)
            shipper = Shipper(transport, buffer, batch_size=250)
            stop = asyncio.Event()
            shipping = asyncio.create_task(shipper.run(stop))
            began = time.monotonic()
            for n in range(args.samples):
                host = f"bench-{n % HOSTS}"
                shipper.submit(Envelope(subjects.metrics_raw(host), f"d-{n}", b'{"n": %d}' % n))
            await connected(transport)
            if args.per_message_writes:
                assert transport.nc is not None
                transport._publisher = PublishAsync(transport.nc)
            if args.no_resend:
                assert transport._publisher is not None
                transport._publisher.due = list  # type: ignore[method-assign]
            for kill in range(1, args.kills + 1):
                share = kill / (args.kills + 1)
                await wait_until(
                    lambda share=share: shipper.stats.sent >= args.samples * share,
                    timeout=DRAIN_LIMIT_SECONDS,
                    what=f"{share:.0%} of the samples acknowledged",
                    interval=0.01,
                )
                pid = nats_server(stack)
                signal_at = shipper.stats.sent
                os.kill(pid, signal.SIGKILL)
                print(f"  kill {kill}: nats-server killed after {signal_at:,} acknowledged")
            async with asyncio.timeout(DRAIN_LIMIT_SECONDS):
                await shipper.wait_empty()
            seconds = time.monotonic() - began
            stop.set()
            await shipping
            await transport.close()
            buffer.close()
            nc = await nats.connect(url, **credential_options(admin(data_dir), None))
            info = await nc.jetstream().stream_info(streams.METRICS.name)
            await nc.close()
            held = info.state.messages
            print(
                f"{args.samples:,} samples shipped in {seconds:.1f} s with {args.kills} kills "
                f"(resend {'off' if args.no_resend else 'on'}"
                f"{', one write per sample' if args.per_message_writes else ''}): "
                f"{shipper.stats.sent:,} "
                f"acknowledged, METRICS holds {held:,}: {shipper.stats.sent - held:,} lost"
            )


async def connected(transport: NatsTransport) -> None:
    """Until the transport has made its publisher (with its first batch)."""
    await wait_until(lambda: transport._publisher is not None, timeout=30, what="the connection")


class PublishAsync(AckedPublisher):
    """The transport's publisher sending with nats-py's own publish_async (one socket write
    per message); what it keeps for a resend is the same."""

    def __init__(self, nc: nats.aio.client.Client) -> None:
        super().__init__(nc)
        self.js = nc.jetstream(publish_async_max_pending=20_000)

    async def _send(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[PubAck]:
        return await self.js.publish_async(subject, payload, headers=headers)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--samples", type=int, default=60_000)
    p.add_argument("--kills", type=int, default=3)
    p.add_argument("--no-resend", action="store_true")
    p.add_argument("--per-message-writes", action="store_true")
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(measure(parse()))
