"""The real agent on a bus with authorization on: with its own NKey it does all its work; once
revoked (a reload, no restart) it is cut off while the other agents carry on."""

import asyncio
from pathlib import Path

import nats.js.errors
from agent_helpers import (
    TEST_SIGNING_KEY,
    AgentProcess,
    mirror_agent,
    new_command,
    write_agent_config,
)
from nats_auth_helpers import HOST_A, HOST_B, Secured

from mirror_schema import codec, streams, subjects
from mirror_schema.command_signing import sign_command
from mirror_schema.commands import CommandState
from waiting import wait_until

WITHIN = 30.0


def agent_for(secured: Secured, host: str, tmp_path: Path) -> AgentProcess:
    """The real agent of `host`, sampling twice a second, as its enrolled identity."""
    directory = tmp_path / host
    directory.mkdir()
    config = write_agent_config(
        directory / "agent.toml",
        secured.url,
        host,
        'mode = "any"\n',
        credentials_file=secured.seed_file(host, directory),
        interval_seconds=0.5,
    )
    return AgentProcess(config, directory / "agent.log")


async def last_seq(secured: Secured, subject: str, stream: str) -> int:
    """The stream sequence of the newest message on `subject` (0: none), read as the admin."""
    admin = await secured.connect(secured.admin)
    try:
        return (await admin.nc.jetstream().get_last_msg(stream, subject)).seq or 0
    except nats.js.errors.NotFoundError:
        return 0
    finally:
        await admin.nc.close()


async def samples_and_runs_a_command(secured: Secured, host: str, tmp_path: Path) -> None:
    """The real agent of `host` publishes samples, takes a signed command from its consumer
    (made through its account's imports), checks its withdrawal and reports the result."""
    agent = agent_for(secured, host, tmp_path)
    await agent.start()
    try:

        async def sampling() -> bool:
            return await last_seq(secured, subjects.metrics_raw(host), "METRICS") > 0

        await wait_until(sampling, timeout=WITHIN, what="a sample from the agent")
        command = sign_command(new_command(host, "echo as-myself"), TEST_SIGNING_KEY)
        admin = await secured.connect(secured.admin)
        js = admin.nc.jetstream()
        await js.publish(subjects.commands_dispatch(host), codec.encode(command))

        async def reported() -> bool:
            return await last_seq(secured, subjects.commands_result(host), "COMMAND_RESULTS") > 0

        await wait_until(reported, timeout=WITHIN, what="the command's result")
        msg = await js.get_last_msg(streams.COMMAND_RESULTS.name, subjects.commands_result(host))
        result = codec.decode_command_result(msg.data)
        assert (result.command_id, result.state) == (command.id, CommandState.SUCCEEDED)
        assert result.stdout == "as-myself\n"
        assert "permissions violation" not in agent.log().lower()
    finally:
        await agent.stop()


async def test_an_agent_with_its_own_identity_samples_and_runs_a_command(
    secured: Secured, tmp_path: Path
) -> None:
    await samples_and_runs_a_command(secured, HOST_A, tmp_path)


async def test_an_agent_enrolled_while_the_server_runs_does_all_its_work(
    secured: Secured, tmp_path: Path
) -> None:
    """Its account is new at a reload: nats-server wires a new account's imports only at the
    reload after (mirror_stage.natsd.reload), so with one reload it would reach nothing."""
    secured.enroll("host-c")
    await samples_and_runs_a_command(secured, "host-c", tmp_path)


async def test_a_revoked_agent_is_cut_off_and_the_others_carry_on(
    secured: Secured, tmp_path: Path
) -> None:
    agents = {host: agent_for(secured, host, tmp_path) for host in (HOST_A, HOST_B)}
    for agent in agents.values():
        await agent.start()
    try:
        for host in agents:

            async def sampling(host: str = host) -> bool:
                return await last_seq(secured, subjects.metrics_raw(host), "METRICS") > 0

            await wait_until(sampling, timeout=WITHIN, what=f"samples from {host}")
        secured.revoke(HOST_A)
        await wait_until(
            lambda: "nats.disconnected" in agents[HOST_A].log(),
            timeout=WITHIN,
            what="the revoked agent's connection closed by the server",
        )
        revoked_at = await last_seq(secured, subjects.metrics_raw(HOST_A), "METRICS")
        b_at = await last_seq(secured, subjects.metrics_raw(HOST_B), "METRICS")

        async def b_carries_on() -> bool:
            # Each of B's samples is a new stream message: 3 more, several of A's intervals.
            later = await last_seq(secured, subjects.metrics_raw(HOST_B), "METRICS")
            return later >= b_at + 3

        await wait_until(b_carries_on, timeout=WITHIN, what="the other agent still publishing")
        assert await last_seq(secured, subjects.metrics_raw(HOST_A), "METRICS") == revoked_at
    finally:
        for agent in agents.values():
            await agent.stop()


async def test_the_check_finds_its_stream_from_the_agents_own_account(
    secured: Secured, tmp_path: Path
) -> None:
    """`mirror-agent --check` with the agent's credentials: the stream that stores its samples
    is found through the one read-only call STAGE exports to it."""
    config = tmp_path / "agent.toml"
    seed = secured.seed_file(HOST_A, tmp_path)
    config.write_text(
        f'nats_url = "{secured.url}"\nhost_id = "{HOST_A}"\ncredentials_file = "{seed}"\n'
        f'buffer_dir = "{tmp_path / "buffer"}"\n'
    )
    result = await asyncio.to_thread(mirror_agent, "--check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    stored = f"ok   JetStream: {subjects.metrics_raw(HOST_A)} is stored in stream METRICS"
    assert stored in result.stdout
