"""The twin's broadcaster: a slow WebSocket client never holds up the others."""

import asyncio

from mirror_twin.broadcast import Broadcaster


async def test_a_client_that_never_reads_is_resynced_and_does_not_delay_the_others() -> None:
    """Past its queue bound a client's diffs are dropped; it gets a full frame next, while a
    client that keeps up receives every diff in order."""
    frames = iter(range(1000))
    broadcaster = Broadcaster(queue_size=8, snapshot=lambda: b"frame%d" % next(frames))
    fast = broadcaster.join()
    slow = broadcaster.join()
    received = [await broadcaster.next_message(fast)]
    for n in range(50):
        broadcaster.publish(b"diff%d" % n)
        received.append(await broadcaster.next_message(fast))
    assert received == [b"frame0", *(b"diff%d" % n for n in range(50))]
    assert slow.behind
    assert slow.dropped > 0
    first = await broadcaster.next_message(slow)
    assert first.startswith(b"frame")
    broadcaster.publish(b"diff50")
    assert await broadcaster.next_message(slow) == b"diff50"


async def test_a_waiting_client_wakes_for_a_diff() -> None:
    """A client waiting on an empty queue gets the next diff as soon as it is published."""
    broadcaster = Broadcaster(queue_size=8, snapshot=lambda: b"frame")
    client = broadcaster.join()
    assert await broadcaster.next_message(client) == b"frame"
    waiting = asyncio.create_task(broadcaster.next_message(client))
    done, _ = await asyncio.wait({waiting}, timeout=0.05)
    assert not done  # nothing to send yet: it waits
    broadcaster.publish(b"diff1")
    async with asyncio.timeout(2):
        assert await waiting == b"diff1"
    broadcaster.leave(client)
    assert broadcaster.clients == set()


async def test_a_frame_asked_for_replaces_the_diffs_waiting() -> None:
    """Diffs queued before a client asked for a frame are older than it: they are dropped."""
    broadcaster = Broadcaster(queue_size=8, snapshot=lambda: b"frame")
    client = broadcaster.join()
    assert await broadcaster.next_message(client) == b"frame"
    broadcaster.publish(b"diff1")
    broadcaster.publish(b"diff2")
    client.behind = True  # what the route does when the client sends "frame"

    assert await broadcaster.next_message(client) == b"frame"
    broadcaster.publish(b"diff3")
    assert await broadcaster.next_message(client) == b"diff3"


async def test_a_client_leaving_while_it_waits_leaves_no_task_behind() -> None:
    """Cancelling a wait (the socket closed) cancels the waits it started."""
    broadcaster = Broadcaster(queue_size=8, snapshot=lambda: b"frame")
    client = broadcaster.join()
    assert await broadcaster.next_message(client) == b"frame"
    before = asyncio.all_tasks()
    waiting = asyncio.create_task(broadcaster.next_message(client))
    done, _ = await asyncio.wait({waiting}, timeout=0.05)
    assert not done

    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)

    left = asyncio.all_tasks() - before
    assert all(task.done() or task.cancelling() for task in left), left
