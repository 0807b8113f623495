"""Command, alert and twin messages: round trips, states and validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import pytest

from mirror_schema import (
    FINAL_STATES,
    AlertEvent,
    AlertMessage,
    Command,
    CommandOutputMessage,
    CommandRequest,
    CommandResult,
    CommandResultMessage,
    CommandState,
    CommandStatus,
    CommandStatusMessage,
    HostPatch,
    HostView,
    LinkPatch,
    LinkView,
    OutputChunk,
    Position,
    Selector,
    TwinDiff,
    TwinEvent,
    TwinFrame,
    decode_alert_event,
    decode_command,
    decode_command_request,
    decode_command_result,
    decode_command_status,
    decode_output_chunk,
    decode_twin_message,
    encode,
    is_final,
)

T0 = datetime(2026, 11, 21, 22, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 21, 22, 0, 5, 250_000, tzinfo=UTC)
CMD_ID = "0193a5b2-7c4d-7e2f-9a1b-2c3d4e5f6a7b"

COMMAND = Command(
    id=CMD_ID,
    host_id="web-01",
    command="uptime",
    created_at=T0,
    timeout_seconds=10.0,
    priority=7,
    expires_at=T1,
    batch_id="batch-1",
    requested_by="ops@example.com",
    output_limit_bytes=1024,
)
HOST = HostView(
    host_id="web-01",
    status="online",
    hostname="web-01.example.com",
    last_seen=T1,
    layer=3,
    position=Position(x=1.0, y=2.0, z=3.0),
    rack="r1",
    tags={"role": "web"},
    cpu_load=12.0,
    memory_used_percent=40.0,
    net_tx_bits_per_s=1e6,
    gpu_count=1,
    gpu_utilization_percent=50.0,
    active_alerts=2,
)
LINK = LinkView(
    id="web-01:eth0",
    source="web-01",
    target="switch-1",
    interface="eth0",
    throughput_bits_per_s=5e8,
    capacity_bits_per_s=1e9,
    utilization=0.5,
)

MESSAGES: list[tuple[object, Callable[[bytes], object]]] = [
    (
        CommandRequest(
            command="df -h",
            hostname="web-01.example.com",
            targets=["web-02", "db-1"],
            selector=Selector(tags={"role": "web"}, rack="r1"),
            timeout_seconds=5.5,
            priority=9,
            expires_at=T1,
            requested_by="hud",
        ),
        decode_command_request,
    ),
    (COMMAND, decode_command),
    (
        CommandStatus(command_id=CMD_ID, host_id="web-01", status="running", timestamp=T0, pid=42),
        decode_command_status,
    ),
    (
        CommandResult(
            command_id=CMD_ID,
            host_id="web-01",
            state=CommandState.FAILED,
            finished_at=T1,
            exit_code=2,
            stdout="partial\n",
            stderr="boom ✗\n",
            stdout_truncated=True,
            stderr_truncated=False,
            started_at=T0,
            error=None,
        ),
        decode_command_result,
    ),
    (
        OutputChunk(
            command_id=CMD_ID,
            host_id="web-01",
            stream="stderr",
            seq=3,
            data="line\n",
            timestamp=T0,
        ),
        decode_output_chunk,
    ),
    (
        AlertEvent(
            alert_id="a-1",
            rule_id="disk-full",
            host_id="web-01",
            severity="critical",
            state="acknowledged",
            message="disk / is 97% full",
            timestamp=T1,
            resource="disk:/",
            value=97.0,
            threshold=90.0,
            acknowledged_by="ana",
            duration_seconds=300.0,
        ),
        decode_alert_event,
    ),
    (
        TwinFrame(twin_id="twin-a", generated_at=T0, seq=10, hosts=[HOST], links=[LINK]),
        decode_twin_message,
    ),
    (
        TwinDiff(
            twin_id="twin-a",
            generated_at=T1,
            seq=11,
            base_seq=10,
            hosts=[HostPatch(host_id="web-01", cpu_load=13.5, temperature_max_celsius=None)],
            removed_hosts=["old-1"],
            links=[LinkPatch(id="web-01:eth0", throughput_bits_per_s=6e8, utilization=0.6)],
            removed_links=["old-1:eth0"],
            events=[
                TwinEvent(
                    kind="status_changed",
                    host_id="web-01",
                    timestamp=T1,
                    previous="stale",
                    current="online",
                    message="back",
                )
            ],
        ),
        decode_twin_message,
    ),
    (
        AlertMessage(
            event=AlertEvent(
                alert_id="a-1",
                rule_id="disk-full",
                host_id="web-01",
                severity="critical",
                state="firing",
                message="disk / is 97% full",
                timestamp=T1,
            )
        ),
        decode_twin_message,
    ),
    (
        CommandStatusMessage(
            status=CommandStatus(
                command_id=CMD_ID, host_id="web-01", status="running", timestamp=T1
            )
        ),
        decode_twin_message,
    ),
    (
        CommandResultMessage(
            result=CommandResult(
                command_id=CMD_ID,
                host_id="web-01",
                state=CommandState.SUCCEEDED,
                finished_at=T1,
                exit_code=0,
                stdout="up 3 days",
            )
        ),
        decode_twin_message,
    ),
    (
        CommandOutputMessage(
            chunk=OutputChunk(
                command_id=CMD_ID,
                host_id="web-01",
                stream="stdout",
                seq=0,
                data="up",
                timestamp=T1,
            )
        ),
        decode_twin_message,
    ),
]


@pytest.mark.parametrize(
    ("message", "decode"), MESSAGES, ids=[type(m).__name__ for m, _ in MESSAGES]
)
def test_message_round_trips(message: object, decode: Callable[[bytes], object]) -> None:
    """Every message type encodes and decodes back to an equal value."""
    decoded = decode(encode(message))
    assert decoded == message
    assert type(decoded) is type(message)


def test_twin_messages_carry_their_type_tag() -> None:
    """A frame says "type": "frame" and a diff "type": "diff" on the wire."""
    frame = TwinFrame(twin_id="t", generated_at=T0, seq=0)
    diff = TwinDiff(twin_id="t", generated_at=T0, seq=1, base_seq=0)
    assert json.loads(encode(frame))["type"] == "frame"
    assert json.loads(encode(diff))["type"] == "diff"


def test_a_patch_leaves_out_what_did_not_change_and_keeps_an_unknown_as_null() -> None:
    """Only the fields set in a patch are on the wire; None is sent as null, not left out."""
    wire = json.loads(
        encode(HostPatch(host_id="web-01", cpu_load=5.0, gpu_utilization_percent=None))
    )
    assert wire == {"host_id": "web-01", "cpu_load": 5.0, "gpu_utilization_percent": None}


@pytest.mark.parametrize(("view", "patch"), [(HostView, HostPatch), (LinkView, LinkPatch)])
def test_patches_have_the_fields_of_their_views(view: type, patch: type) -> None:
    """A patch can carry every field of its view, in the same order, and nothing else."""
    assert patch.__struct_fields__ == view.__struct_fields__


def test_twin_message_with_unknown_type_is_rejected() -> None:
    """A twin message whose type is neither frame nor diff names the tag."""
    with pytest.raises(msgspec.ValidationError, match=r"Invalid value 'full' - at `\$\.type`"):
        decode_twin_message(b'{"type": "full", "twin_id": "t", "seq": 0}')


def test_diff_must_move_forward() -> None:
    """A diff whose seq is not greater than its base_seq is rejected."""
    with pytest.raises(msgspec.ValidationError, match="greater than its base_seq"):
        decode_twin_message(
            b'{"type":"diff","twin_id":"t","generated_at":"2026-01-01T00:00:00Z",'
            b'"seq":4,"base_seq":4}'
        )


def test_final_states_are_exactly_those_of_the_contracts() -> None:
    """succeeded, failed, timed_out, cancelled, expired and rejected end a command; others don't."""
    assert {s.value for s in FINAL_STATES} == {
        "succeeded",
        "failed",
        "timed_out",
        "cancelled",
        "expired",
        "rejected",
    }
    assert {s.value for s in CommandState} - {s.value for s in FINAL_STATES} == {
        "pending",
        "dispatched",
        "running",
    }
    assert is_final("expired")
    assert not is_final(CommandState.RUNNING)
    assert not is_final("no-such-state")


def test_result_with_non_final_state_is_rejected() -> None:
    """A CommandResult must carry a final state; 'running' belongs in a CommandStatus."""
    body = {
        "command_id": CMD_ID,
        "host_id": "web-01",
        "state": "running",
        "finished_at": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(msgspec.ValidationError, match="needs a final state, got 'running'"):
        decode_command_result(json.dumps(body).encode())


def test_request_defaults() -> None:
    """A request gets timeout 30 s and priority 5 unless it says otherwise."""
    request = decode_command_request(b'{"hostname": "web-01", "command": "uptime"}')
    assert request.timeout_seconds == 30.0
    assert request.priority == 5
    assert request.expires_at is None


def test_request_without_target_is_rejected() -> None:
    """A request naming no hostname, targets or selector fails with a clear reason."""
    with pytest.raises(msgspec.ValidationError, match="needs a target"):
        decode_command_request(b'{"command": "uptime"}')


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"command": ""}, "$.command"),
        ({"command": "x" * 8193}, "$.command"),
        ({"timeout_seconds": 0}, "$.timeout_seconds"),
        ({"priority": 11}, "$.priority"),
        ({"expires_at": "2026-01-01T00:00:00"}, "$.expires_at"),
    ],
)
def test_bad_request_field_is_named(change: dict[str, object], path: str) -> None:
    """A bad request field fails naming its path."""
    body = {"hostname": "web-01", "command": "uptime", **change}
    with pytest.raises(msgspec.ValidationError) as info:
        decode_command_request(json.dumps(body).encode())
    assert f"at `{path}`" in str(info.value)


@pytest.mark.parametrize("bad_id", ["a.b", "*", ">", "", "x" * 65, "has space"])
def test_command_with_unsafe_id_is_rejected(bad_id: str) -> None:
    """A command id that could not be one subject token is rejected at `$.id`."""
    body = {
        "id": bad_id,
        "host_id": "web-01",
        "command": "uptime",
        "created_at": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.id`"):
        decode_command(json.dumps(body).encode())


def test_alert_with_unknown_severity_is_named() -> None:
    """An alert severity outside info/warning/critical names `$.severity`."""
    body = {
        "alert_id": "a",
        "rule_id": "r",
        "host_id": "web-01",
        "severity": "fatal",
        "state": "firing",
        "message": "m",
        "timestamp": "2026-01-01T00:00:00Z",
    }
    with pytest.raises(msgspec.ValidationError, match=r"Invalid enum value 'fatal' - at `\$\.sev"):
        decode_alert_event(json.dumps(body).encode())


def test_host_view_layer_is_bounded() -> None:
    """A host's layer is 1 to 7; 8 names `$.hosts[0].layer`."""
    body = {
        "type": "frame",
        "twin_id": "t",
        "generated_at": "2026-01-01T00:00:00Z",
        "seq": 0,
        "hosts": [{"host_id": "web-01", "status": "online", "layer": 8}],
    }
    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.hosts\[0\]\.layer`"):
        decode_twin_message(json.dumps(body).encode())
