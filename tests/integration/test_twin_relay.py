"""The twin's socket also carries alert events and command status, results and live output."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import websockets
from twin_helpers import running_twin

from mirror_schema import codec, subjects
from mirror_schema.alerts import AlertEvent
from mirror_schema.commands import CommandResult, CommandState, CommandStatus, OutputChunk
from mirror_schema.twin import (
    AlertMessage,
    CommandOutputMessage,
    CommandResultMessage,
    CommandStatusMessage,
)
from waiting import wait_until

COMMAND_ID = "0193a5b2-7c4d-7e2f-9a1b-2c3d4e5f6a7b"
NOW = datetime.now(UTC)


def _type_name(message: object) -> str:
    return type(message).__name__


async def refused(base_url: str, kind: str) -> float:
    async with httpx.AsyncClient(base_url=base_url) as http:
        text = (await http.get("/metrics")).text
    wanted = f'mirror_twin_relay_refused_total{{type="{kind}"}} '
    return sum(float(line[len(wanted) :]) for line in text.splitlines() if line.startswith(wanted))


async def test_alerts_and_command_events_reach_a_connected_client(
    own_nats: str, tmp_path: Path
) -> None:
    """Each published message arrives once, in its own wrapper; one that does not decode is
    counted and not passed on."""
    alert = AlertEvent(
        alert_id="a-1",
        rule_id="disk-full",
        host_id="web-01",
        severity="critical",
        state="firing",
        message="disk / is 97% full",
        timestamp=NOW,
    )
    status = CommandStatus(command_id=COMMAND_ID, host_id="web-01", status="running", timestamp=NOW)
    chunk = OutputChunk(
        command_id=COMMAND_ID, host_id="web-01", stream="stdout", seq=0, data="up 3", timestamp=NOW
    )
    result = CommandResult(
        command_id=COMMAND_ID,
        host_id="web-01",
        state=CommandState.SUCCEEDED,
        finished_at=NOW,
        exit_code=0,
        stdout="up 3 days\n",
    )
    expected = [
        AlertMessage(event=alert),
        CommandStatusMessage(status=status),
        CommandOutputMessage(chunk=chunk),
        CommandResultMessage(result=result),
    ]
    async with (
        running_twin(own_nats, tmp_path / "twin.log") as twin,
        websockets.connect(twin.spec.address.replace("http", "ws") + "/ws/twin") as socket,
    ):
        first = codec.decode_twin_message(await socket.recv())
        assert type(first).__name__ == "TwinFrame"
        nc = await nats.connect(own_nats)
        js = nc.jetstream()
        await js.publish(subjects.alerts_events("web-01"), b'{"alert_id": 7}')
        await js.publish(subjects.alerts_events("web-01"), codec.encode(alert))
        await js.publish(subjects.commands_status("web-01"), codec.encode(status))
        await nc.publish(subjects.commands_output("web-01", COMMAND_ID), codec.encode(chunk))
        await nc.flush()
        await js.publish(subjects.commands_result("web-01"), codec.encode(result))
        await nc.close()

        received: list[object] = []
        async with asyncio.timeout(15):
            while len(received) < len(expected):
                message = codec.decode_twin_message(await socket.recv())
                if type(message).__name__ not in ("TwinFrame", "TwinDiff"):
                    received.append(message)
        # Four subscriptions: each keeps its own order, not the order among them.
        assert sorted(received, key=_type_name) == sorted(expected, key=_type_name)

        async def counted() -> bool:
            return await refused(twin.spec.address, "alert") == 1

        await wait_until(counted, timeout=10, what="the bad alert counted as refused")


async def test_a_message_naming_another_host_or_command_than_its_subject_is_not_relayed(
    own_nats: str, tmp_path: Path
) -> None:
    """The subject is what the server vouched for: a status about db-02 on web-01's subject, or
    output of another command on this command's subject, never reaches a browser."""
    other = "0193a5b2-7c4d-7e2f-9a1b-000000000000"
    forged_status = CommandStatus(
        command_id=COMMAND_ID, host_id="db-02", status="running", timestamp=NOW
    )
    forged_chunk = OutputChunk(
        command_id=other, host_id="web-01", stream="stdout", seq=0, data="rm -rf", timestamp=NOW
    )
    honest = CommandStatus(command_id=COMMAND_ID, host_id="web-01", status="running", timestamp=NOW)
    async with (
        running_twin(own_nats, tmp_path / "twin.log") as twin,
        websockets.connect(twin.spec.address.replace("http", "ws") + "/ws/twin") as socket,
    ):
        await socket.recv()  # the first frame
        nc = await nats.connect(own_nats)
        js = nc.jetstream()
        await nc.publish(subjects.commands_output("web-01", COMMAND_ID), codec.encode(forged_chunk))
        await nc.flush()
        await js.publish(subjects.commands_status("web-01"), codec.encode(forged_status))
        await js.publish(subjects.commands_status("web-01"), codec.encode(honest))
        await nc.close()
        received: list[object] = []
        async with asyncio.timeout(15):
            while not received or received[-1] != CommandStatusMessage(status=honest):
                message = codec.decode_twin_message(await socket.recv())
                if type(message).__name__ not in ("TwinFrame", "TwinDiff"):
                    received.append(message)
        assert received == [CommandStatusMessage(status=honest)]

        async def both_counted() -> bool:
            return (
                await refused(twin.spec.address, "command_status") == 1
                and await refused(twin.spec.address, "command_output") == 1
            )

        await wait_until(both_counted, timeout=10, what="the forged messages counted as refused")
