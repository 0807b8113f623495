"""The agent's sample buffers: order, persistence across restarts, and a size cap that counts."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from mirror_agent.buffer import HEAD_SAVE_EVERY, DiskBuffer, MemoryBuffer, SampleBuffer
from mirror_agent.envelope import Envelope


def envelope(n: int, size: int = 100) -> Envelope:
    return Envelope(f"metrics.raw.h{n % 3}", f"h:boot:{n}", (b"%d:" % n).ljust(size, b"x"))


def opened(registry: list[DiskBuffer], buffer: DiskBuffer) -> DiskBuffer:
    registry.append(buffer)
    return buffer


def ids(envelopes: list[Envelope]) -> list[str]:
    return [e.msg_id for e in envelopes]


@pytest.fixture(params=["memory", "disk"])
def buffer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SampleBuffer]:
    made: SampleBuffer = (
        MemoryBuffer(max_bytes=10**6)
        if request.param == "memory"
        else DiskBuffer(tmp_path / "buffer", max_bytes=10**6)
    )
    yield made
    made.close()


@pytest.fixture
def disk_buffers() -> Iterator[list[DiskBuffer]]:
    """Disk buffers a test opens, closed after it (they keep their segment open)."""
    opened: list[DiskBuffer] = []
    yield opened
    for buffer in opened:
        buffer.close()


def test_first_in_first_out(buffer: SampleBuffer) -> None:
    """Envelopes come out in the order they went in; commit removes only the front."""
    for n in range(10):
        buffer.append(envelope(n))
    assert ids(buffer.peek(3)) == ["h:boot:0", "h:boot:1", "h:boot:2"]
    assert len(buffer) == 10
    buffer.commit(2)
    assert ids(buffer.peek(100)) == [f"h:boot:{n}" for n in range(2, 10)]
    buffer.commit(8)
    assert len(buffer) == 0
    assert buffer.peek(5) == []


def test_payloads_come_back_byte_for_byte(buffer: SampleBuffer) -> None:
    """What was buffered is what is sent: subject, id and payload."""
    original = Envelope("metrics.raw.web-01", "web-01:b:1", b'{"cpu_load":12.5}')
    buffer.append(original)
    assert buffer.peek(1) == [original]


def test_a_disk_buffer_survives_a_restart(tmp_path: Path, disk_buffers: list[DiskBuffer]) -> None:
    """After a clean stop, a new agent process starts from the first sample not yet sent."""
    first = DiskBuffer(tmp_path, max_bytes=10**6)
    for n in range(5):
        first.append(envelope(n))
    first.peek(2)
    first.commit(2)
    first.close()
    second = opened(disk_buffers, DiskBuffer(tmp_path, max_bytes=10**6))
    assert len(second) == 3
    assert ids(second.peek(10)) == ["h:boot:2", "h:boot:3", "h:boot:4"]


def test_after_a_crash_nothing_unsent_is_lost(
    tmp_path: Path, disk_buffers: list[DiskBuffer]
) -> None:
    """Killed without a clean stop, the agent sends again at most HEAD_SAVE_EVERY samples that
    had gone (the stream drops those repeats by Msg-Id) and loses none that had not."""
    first = opened(disk_buffers, DiskBuffer(tmp_path, max_bytes=10**6))
    for n in range(40):
        first.append(envelope(n))
    for _ in range(5):
        first.commit(len(first.peek(5)))  # 25 sent and acknowledged
    second = opened(disk_buffers, DiskBuffer(tmp_path, max_bytes=10**6))
    resent = ids(second.peek(100))
    assert resent[-15:] == [f"h:boot:{n}" for n in range(25, 40)]
    assert 15 <= len(resent) <= 15 + HEAD_SAVE_EVERY
    assert resent == [f"h:boot:{n}" for n in range(40 - len(resent), 40)]


def test_records_span_segments_in_order(tmp_path: Path, disk_buffers: list[DiskBuffer]) -> None:
    """Many small segments read back as one queue, and consumed ones are deleted."""
    buffer = opened(
        disk_buffers, DiskBuffer(tmp_path, max_bytes=256 * 1024)
    )  # 16 KiB segments, no drops
    for n in range(200):
        buffer.append(envelope(n, size=500))
    assert len(list(tmp_path.glob("segment-*.buf"))) > 1
    seen: list[str] = []
    while len(buffer):
        batch = buffer.peek(7)
        seen += ids(batch)
        buffer.commit(len(batch))
    assert seen == [f"h:boot:{n}" for n in range(200)]
    assert len(list(tmp_path.glob("segment-*.buf"))) <= 1


def test_a_torn_last_frame_is_cut_off(tmp_path: Path, disk_buffers: list[DiskBuffer]) -> None:
    """A frame half-written when the host lost power is dropped; the others are kept."""
    buffer = opened(disk_buffers, DiskBuffer(tmp_path, max_bytes=10**6))
    for n in range(3):
        buffer.append(envelope(n))
    segment = next(tmp_path.glob("segment-*.buf"))
    with segment.open("ab") as file:
        file.write(envelope(3).frame()[:20])
    reopened = opened(disk_buffers, DiskBuffer(tmp_path, max_bytes=10**6))
    assert ids(reopened.peek(10)) == ["h:boot:0", "h:boot:1", "h:boot:2"]
    reopened.append(envelope(4))
    assert ids(reopened.peek(10))[-1] == "h:boot:4"


@pytest.mark.parametrize("kind", ["memory", "disk"])
def test_the_cap_drops_the_oldest_and_counts_them(
    kind: str, tmp_path: Path, disk_buffers: list[DiskBuffer]
) -> None:
    """Over the size cap, the oldest samples go first, and every one dropped is counted."""
    cap = 64 * 1024
    buffer: SampleBuffer = (
        MemoryBuffer(cap)
        if kind == "memory"
        else opened(disk_buffers, DiskBuffer(tmp_path, max_bytes=cap))
    )
    total = 1000
    for n in range(total):
        buffer.append(envelope(n, size=1000))
    kept = ids(buffer.peek(total))
    assert buffer.dropped > 0
    assert len(kept) + buffer.dropped == total
    assert kept == [f"h:boot:{n}" for n in range(buffer.dropped, total)]
    on_disk = sum(p.stat().st_size for p in tmp_path.glob("segment-*.buf"))
    assert on_disk <= cap + cap // 16 + 2000


def test_a_commit_after_the_cap_dropped_what_was_being_sent(
    tmp_path: Path, disk_buffers: list[DiskBuffer]
) -> None:
    """Samples dropped by the cap while in flight are not removed twice from the count."""
    buffer = opened(disk_buffers, DiskBuffer(tmp_path, max_bytes=64 * 1024))
    for n in range(20):
        buffer.append(envelope(n, size=1000))
    in_flight = buffer.peek(5)
    for n in range(20, 200):
        buffer.append(envelope(n, size=1000))
    buffer.commit(len(in_flight))
    remaining = ids(buffer.peek(1000))
    assert len(buffer) == len(remaining)
    assert remaining[-1] == "h:boot:199"
