"""AcknowledgedTail: what a publisher sends again after its connection came back."""

import asyncio

from mirror_schema.resend import AcknowledgedTail


class Connection:
    """The count of re-established connections and a clock, both moved by the test."""

    def __init__(self) -> None:
        self.reconnects = 0
        self.now = 100.0


def tail_of(connection: Connection) -> AcknowledgedTail[str]:
    return AcknowledgedTail(
        lambda: connection.reconnects, seconds=2.0, max_kept=1000, clock=lambda: connection.now
    )


async def acknowledge(tail: AcknowledgedTail[str], *items: str, fail: bool = False) -> None:
    loop = asyncio.get_running_loop()
    for item in items:
        ack: asyncio.Future[object] = loop.create_future()
        tail.watch(ack, item)
        if fail:
            ack.set_exception(TimeoutError())
            ack.exception()
        else:
            ack.set_result(object())
    await asyncio.sleep(0)  # the futures' callbacks run


async def test_nothing_is_due_while_the_connection_holds() -> None:
    connection = Connection()
    tail = tail_of(connection)
    await acknowledge(tail, "a", "b")
    assert tail.due() == []


async def test_after_a_reconnect_the_last_seconds_before_the_loss_are_due_once() -> None:
    connection = Connection()
    tail = tail_of(connection)
    await acknowledge(tail, "old")
    connection.now += 5
    await acknowledge(tail, "recent", "last")
    await acknowledge(tail, "refused", fail=True)
    connection.reconnects = 1
    connection.now += 30  # however long the outage lasted
    assert tail.due() == ["recent", "last"]
    assert tail.due() == []


async def test_an_acknowledgement_from_the_restarted_server_does_not_move_the_moment_of_loss() -> (
    None
):
    connection = Connection()
    tail = tail_of(connection)
    await acknowledge(tail, "just before the kill")
    connection.reconnects = 1
    connection.now += 10
    await acknowledge(tail, "late, from the new server")
    assert tail.due() == ["just before the kill"]
    # What the new connection acknowledged falls due only after the next loss.
    connection.reconnects = 2
    assert tail.due() == ["late, from the new server"]


async def test_what_fails_to_go_again_goes_first_next_time() -> None:
    connection = Connection()
    tail = tail_of(connection)
    await acknowledge(tail, "a", "b", "c")
    connection.reconnects = 1
    due = tail.due()
    tail.still_due(due[1:])
    assert tail.due() == ["b", "c"]


async def test_the_tail_is_bounded() -> None:
    connection = Connection()
    tail = AcknowledgedTail(lambda: connection.reconnects, max_kept=3, clock=lambda: 0.0)
    await acknowledge(tail, *"abcdef")
    connection.reconnects = 1
    assert tail.due() == ["d", "e", "f"]
