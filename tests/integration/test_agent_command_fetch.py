"""The agent's command loop across empty fetches that nats-py ends with asyncio's TimeoutError.

How that happens: for a batch of more than one, nats-py's `_fetch_n` first sends a pull
request with `no_wait` and `expires` (the fetch's timeout less 100 µs); the server holds it and
answers `408 Request Timeout` when it expires. When that answer reaches the client before the
client's own timer fires, the deadline has already passed (by at most 100 µs it had left), and
`_fetch_n` raises `asyncio.TimeoutError`, the builtin, not nats-py's subclass of it. The client's
timer only loses that race when the process is held up between sending the request and arming
the timer (a busy event loop, or the process not scheduled on a loaded machine): the test holds
the event loop for a moment right after each pull request is sent, which makes it every time.
"""

import asyncio
import time
from pathlib import Path

import nats
import nats.aio.client
import nats.errors
import pytest
from agent_helpers import TEST_SIGNING_KEY, dispatch, new_command, result_of

from mirror_agent.commands import loop
from mirror_agent.commands.loop import CommandLoop
from mirror_agent.commands.settings import CommandSettings
from mirror_schema.commands import CommandState
from servers import NatsServer
from waiting import wait_until

PULL_REQUEST_PREFIX = "$JS.API.CONSUMER.MSG.NEXT."
# Far longer than the server takes to answer an expired pull request after its expiry (about
# a millisecond), so its 408 is in before the client's timer, however loaded the machine.
HELD_UP_SECONDS = 0.5
FETCH_SECONDS = 1.0


class PullRequests:
    """Counts the pull requests a connection sends, and holds its event loop up after each."""

    def __init__(self, nc: nats.aio.client.Client, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent = 0
        publish = nc.publish

        async def held_up_after_pull_requests(
            subject: str,
            payload: bytes = b"",
            reply: str = "",
            headers: dict[str, str] | None = None,
        ) -> None:
            await publish(subject, payload, reply, headers)
            if subject.startswith(PULL_REQUEST_PREFIX):
                self.sent += 1
                # The request surely at the server (its PONG back) before the hold: sent after
                # it, the server's expiry and the client's timer would start together and race.
                await nc.flush()
                # Blocks the loop on purpose, as a process not scheduled would be: the fetch's
                # timer not armed yet.
                asyncio.get_running_loop().call_soon(time.sleep, HELD_UP_SECONDS)

        monkeypatch.setattr(nc, "publish", held_up_after_pull_requests)


async def test_an_empty_fetch_answered_by_the_servers_408_raises_asyncios_timeout_error(
    nc: nats.aio.client.Client, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the command loop must survive, shown on nats-py itself: a fetch of 2 from an
    empty consumer ends with the builtin TimeoutError, which nats-py's own does not catch."""
    js = nc.jetstream()
    await js.add_stream(name=f"T{unique}_EMPTY", subjects=[f"t{unique}.empty"])
    pull = await js.pull_subscribe(f"t{unique}.empty", durable=f"d{unique}")
    PullRequests(nc, monkeypatch)
    with pytest.raises(TimeoutError) as raised:
        await pull.fetch(2, timeout=FETCH_SECONDS)
    assert not isinstance(raised.value, nats.errors.TimeoutError)


async def test_the_command_loop_runs_a_command_sent_after_several_such_empty_fetches(
    nats_server: NatsServer, host_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop, fetching up to 4 at a time from its real consumer, goes through three empty
    fetches ended by asyncio's TimeoutError and is still there to run the next command."""
    monkeypatch.setattr(loop, "FETCH_TIMEOUT_SECONDS", FETCH_SECONDS)
    nc = await nats.connect(nats_server.url)
    requests = PullRequests(nc, monkeypatch)
    settings = CommandSettings(
        allowlist=("echo *",),
        max_concurrent=4,
        state_dir=str(tmp_path),
        kill_grace_seconds=0.5,
        signing_public_key=TEST_SIGNING_KEY.public_key,
    )
    commands = CommandLoop(
        settings, host_id=host_id, journal_path=tmp_path / "journal", connection=lambda: nc
    )
    stop = asyncio.Event()
    running = asyncio.create_task(commands.run(stop))
    try:
        await wait_until(
            lambda: requests.sent > 3 or running.done(),
            timeout=30,
            what="a fourth pull request, after three empty fetches",
        )
        assert not running.done(), "the command loop ended after an empty fetch"
        command = new_command(host_id, "echo after-empty-fetches")
        await dispatch(nats_server.url, command)
        result = await result_of(nats_server.url, host_id, command.id, within=30)
        assert result.state == CommandState.SUCCEEDED
        assert result.stdout == "after-empty-fetches\n"
    finally:
        stop.set()
        await running
        await nc.close()
