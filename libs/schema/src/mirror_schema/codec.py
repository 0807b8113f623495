"""JSON encoding and per-type decoders, each built once, plus JetStream message ids."""

from __future__ import annotations

from typing import Final

import msgspec

from mirror_schema.alerts import AlertEvent
from mirror_schema.commands import (
    Command,
    CommandCancel,
    CommandCancelReply,
    CommandRequest,
    CommandResult,
    CommandStatus,
    CommandWithdrawal,
    OutputChunk,
)
from mirror_schema.hosts import validate_host_id
from mirror_schema.samples import decode_batch, decode_sample, decode_samples
from mirror_schema.twin import TwinMessage

__all__ = [
    "decode_alert_event",
    "decode_batch",
    "decode_command",
    "decode_command_cancel",
    "decode_command_cancel_reply",
    "decode_command_request",
    "decode_command_result",
    "decode_command_status",
    "decode_command_withdrawal",
    "decode_output_chunk",
    "decode_sample",
    "decode_samples",
    "decode_twin_message",
    "encode",
    "sample_msg_id",
]

_encoder: Final = msgspec.json.Encoder()
encode = _encoder.encode
"""Encode any message to JSON bytes (a hand-built Struct is not validated; decode validates)."""

decode_command = msgspec.json.Decoder(Command).decode
decode_command_cancel = msgspec.json.Decoder(CommandCancel).decode
decode_command_cancel_reply = msgspec.json.Decoder(CommandCancelReply).decode
decode_command_request = msgspec.json.Decoder(CommandRequest).decode
decode_command_result = msgspec.json.Decoder(CommandResult).decode
decode_command_status = msgspec.json.Decoder(CommandStatus).decode
decode_command_withdrawal = msgspec.json.Decoder(CommandWithdrawal).decode
decode_output_chunk = msgspec.json.Decoder(OutputChunk).decode
decode_alert_event = msgspec.json.Decoder(AlertEvent).decode
# TwinFrame, TwinDiff and the relayed bus messages, told apart by their "type" tag.
decode_twin_message = msgspec.json.Decoder(TwinMessage).decode


def sample_msg_id(host_id: str, boot_id: str, seq: int) -> str:
    """Return a sample's ``Nats-Msg-Id``: ``<host>:<boot id>:<seq>`` (docs/design/contracts.md)."""
    if seq < 0:
        raise ValueError(f"seq must be >= 0, got {seq}")
    if not boot_id:
        raise ValueError("boot_id must not be empty: it tells one boot's seq 0 from the next")
    return f"{validate_host_id(host_id)}:{boot_id}:{seq}"
