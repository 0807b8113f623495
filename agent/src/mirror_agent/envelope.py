"""Envelope: one message to ship (its subject, dedup id and payload) and its framing on disk."""

import struct
from dataclasses import dataclass

import msgspec

_LENGTHS = struct.Struct(">II")


class _Header(msgspec.Struct, frozen=True):
    subject: str
    msg_id: str


_encode_header = msgspec.json.Encoder().encode
_decode_header = msgspec.json.Decoder(_Header).decode


@dataclass(frozen=True, slots=True)
class Envelope:
    """A sample ready to ship: where it goes, the id that deduplicates it, its JSON."""

    subject: str
    msg_id: str
    payload: bytes

    def frame(self) -> bytes:
        """The envelope as bytes for the on-disk buffer: two lengths, header, payload."""
        header = _encode_header(_Header(self.subject, self.msg_id))
        return _LENGTHS.pack(len(header), len(self.payload)) + header + self.payload


class TruncatedFrameError(ValueError):
    """The bytes end inside a frame (a write cut short by a crash)."""


def read_frame(data: bytes | memoryview, offset: int) -> tuple[Envelope, int]:
    """Decode the frame at `offset`; return it and the offset just past it."""
    end_of_lengths = offset + _LENGTHS.size
    if end_of_lengths > len(data):
        raise TruncatedFrameError(offset)
    header_length, payload_length = _LENGTHS.unpack_from(data, offset)
    end = end_of_lengths + header_length + payload_length
    if end > len(data):
        raise TruncatedFrameError(offset)
    header = _decode_header(bytes(data[end_of_lengths : end_of_lengths + header_length]))
    payload = bytes(data[end_of_lengths + header_length : end])
    return Envelope(header.subject, header.msg_id, payload), end
