"""Sample buffers: what waits, in order, until the bus acknowledges it. Bounded by size.

When a buffer is full the OLDEST samples go first, and every drop is counted and logged.
"""

import collections
import logging
import os
import time
from pathlib import Path
from typing import BinaryIO, Protocol

from mirror_agent.envelope import Envelope, TruncatedFrameError, read_frame

log = logging.getLogger(__name__)

# The head is saved every this many acknowledged records (and whenever a segment goes): after
# a crash at most this many are sent again, and JetStream's Msg-Id window drops the repeats.
HEAD_SAVE_EVERY = 16
DROP_LOG_EVERY_SECONDS = 1.0


class SampleBuffer(Protocol):
    """A FIFO of envelopes: append at the back, peek and commit at the front."""

    dropped: int

    def __len__(self) -> int: ...

    def append(self, envelope: Envelope) -> None: ...

    def peek(self, limit: int) -> list[Envelope]: ...

    def commit(self, count: int) -> None: ...

    def close(self) -> None: ...


class MemoryBuffer:
    """In memory only: for the simulator and agents without a buffer directory."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.dropped = 0
        self._items: collections.deque[Envelope] = collections.deque()
        self._bytes = 0
        self._last_drop_log = float("-inf")

    def __len__(self) -> int:
        return len(self._items)

    def append(self, envelope: Envelope) -> None:
        """Add at the back; drop from the front while over the size cap."""
        self._items.append(envelope)
        self._bytes += len(envelope.payload)
        while self._bytes > self.max_bytes and len(self._items) > 1:
            oldest = self._items.popleft()
            self._bytes -= len(oldest.payload)
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log >= DROP_LOG_EVERY_SECONDS:
                # At most one line a second: an overloaded sender must not also drown in logs.
                self._last_drop_log = now
                log.warning(
                    "buffer.dropped_oldest msg_id=%s dropped_total=%d",
                    oldest.msg_id,
                    self.dropped,
                )

    def peek(self, limit: int) -> list[Envelope]:
        """The first `limit` envelopes, left in place."""
        return [self._items[i] for i in range(min(limit, len(self._items)))]

    def commit(self, count: int) -> None:
        """Remove the first `count` envelopes (they were acknowledged)."""
        for _ in range(count):
            self._bytes -= len(self._items.popleft().payload)

    def close(self) -> None:
        """Nothing to release; what is still held is lost with the process."""


class DiskBuffer:
    """Segment files under a directory, appended with fsync; survives restarts of the agent.

    The head (first unacknowledged record) is kept in `head` as "<segment> <offset>". Over the
    size cap, whole oldest segments are dropped (each holds about 1/16 of the cap).
    """

    SEGMENT_GLOB = "segment-*.buf"

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = max(max_bytes // 16, 16 * 1024)
        self.dropped = 0
        directory.mkdir(parents=True, exist_ok=True)
        self._segments: list[int] = sorted(
            int(path.stem.removeprefix("segment-")) for path in directory.glob(self.SEGMENT_GLOB)
        )
        self._head_segment, self._head_offset = self._read_head()
        self._count = 0
        self._bytes = 0
        for number in self._segments:
            records, size = self._scan(number)
            self._count += records
            self._bytes += size
        self._peeked_ends: list[tuple[int, int]] = []
        self._unsaved_commits = 0
        # Each process appends to a segment of its own, kept open between appends.
        self._active: BinaryIO | None = None
        self._active_size = 0

    def _path(self, number: int) -> Path:
        return self.directory / f"segment-{number:012d}.buf"

    def _read_head(self) -> tuple[int, int]:
        first = self._segments[0] if self._segments else 0
        try:
            segment_text, offset_text = (self.directory / "head").read_text().split()
            segment, offset = int(segment_text), int(offset_text)
        except (FileNotFoundError, ValueError):
            return first, 0
        if segment not in self._segments:
            return first, 0
        # Segments before the head were fully acknowledged; a crash may have left them.
        for number in [n for n in self._segments if n < segment]:
            self._path(number).unlink(missing_ok=True)
            self._segments.remove(number)
        return segment, offset

    def _scan(self, number: int) -> tuple[int, int]:
        """Count the unacknowledged records of a segment; cut a torn last frame off."""
        path = self._path(number)
        data = path.read_bytes()
        offset = self._head_offset if number == self._head_segment else 0
        records = 0
        while offset < len(data):
            try:
                _, offset = read_frame(data, offset)
            except TruncatedFrameError:
                log.warning("buffer.torn_frame_removed segment=%s offset=%d", path.name, offset)
                with path.open("r+b") as file:
                    file.truncate(offset)
                break
            records += 1
        start = self._head_offset if number == self._head_segment else 0
        return records, offset - start

    def __len__(self) -> int:
        return self._count

    def append(self, envelope: Envelope) -> None:
        """Write at the back (fsync'd), opening a new segment when the current one is full."""
        frame = envelope.frame()
        if self._active is None or self._active_size >= self.segment_bytes:
            self._open_new_segment()
        assert self._active is not None
        self._active.write(frame)
        self._active.flush()
        if self._count > 0:
            # A backlog: the bus is away or slow, so this sample may wait a while; make it
            # survive a power cut. Alone in the buffer it is sent within milliseconds.
            os.fsync(self._active.fileno())
        self._active_size += len(frame)
        self._count += 1
        self._bytes += len(frame)
        self._enforce_cap()

    def _open_new_segment(self) -> None:
        if self._active is not None:
            self._active.close()
        self._segments.append(self._segments[-1] + 1 if self._segments else 0)
        self._active = self._path(self._segments[-1]).open("ab")
        self._active_size = 0

    def close(self) -> None:
        """Save the head and close the segment being appended to."""
        self._write_head()
        if self._active is not None:
            self._active.close()
            self._active = None

    def _enforce_cap(self) -> None:
        while self._bytes > self.max_bytes and len(self._segments) > 1:
            oldest = self._segments[0]
            records, size = self._scan(oldest)
            self._path(oldest).unlink()
            self._segments.pop(0)
            self._count -= records
            self._bytes -= size
            self.dropped += records
            self._head_segment, self._head_offset = self._segments[0], 0
            self._write_head()
            log.warning(
                "buffer.dropped_oldest records=%d dropped_total=%d cap_bytes=%d",
                records,
                self.dropped,
                self.max_bytes,
            )

    def peek(self, limit: int) -> list[Envelope]:
        """Up to `limit` envelopes from the head, across segments, left in place."""
        envelopes: list[Envelope] = []
        self._peeked_ends = []
        for number in self._segments:
            if number < self._head_segment:
                continue
            start = self._head_offset if number == self._head_segment else 0
            with self._path(number).open("rb") as file:
                file.seek(start)
                data = file.read()  # from the head on: when caught up, only the newest frames
            offset = 0
            while offset < len(data) and len(envelopes) < limit:
                envelope, offset = read_frame(data, offset)
                envelopes.append(envelope)
                self._peeked_ends.append((number, start + offset))
            if len(envelopes) >= limit:
                break
        return envelopes

    def commit(self, count: int) -> None:
        """Move the head past the first `count` peeked envelopes; delete consumed segments.

        Records that the size cap dropped while they were being sent are skipped here: they
        were already taken out of the count (and counted as dropped, though they did arrive).
        """
        ends = [
            (number, end)
            for number, end in self._peeked_ends[:count]
            if (number, end) > (self._head_segment, self._head_offset)
        ]
        self._peeked_ends = []
        if not ends:
            return
        segment, offset = ends[-1]
        consumed = 0
        removed_segment = False
        for number in [n for n in self._segments if n <= segment]:
            start = self._head_offset if number == self._head_segment else 0
            if number < segment:
                consumed += self._path(number).stat().st_size - start
                self._path(number).unlink()
                self._segments.remove(number)
                removed_segment = True
            else:
                consumed += offset - start
        self._head_segment, self._head_offset = segment, offset
        if segment != self._segments[-1] and offset >= self._path(segment).stat().st_size:
            self._path(segment).unlink()
            self._segments.remove(segment)
            removed_segment = True
            self._head_segment, self._head_offset = self._segments[0], 0
        self._count -= len(ends)
        self._bytes -= consumed
        self._unsaved_commits += len(ends)
        if self._unsaved_commits >= HEAD_SAVE_EVERY or removed_segment:
            self._write_head()

    def _write_head(self) -> None:
        self._unsaved_commits = 0
        staging = self.directory / "head.tmp"
        staging.write_text(f"{self._head_segment} {self._head_offset}\n")
        staging.replace(self.directory / "head")


def open_buffer(directory: str | None, max_bytes: int) -> SampleBuffer:
    """A DiskBuffer under `directory`, or a MemoryBuffer when there is none."""
    if directory is None:
        return MemoryBuffer(max_bytes)
    return DiskBuffer(Path(directory), max_bytes)
