"""The commands service with the real agent process: a command runs, another is cancelled.

The service test's `stack` fixture, with `mirror-agent` (commands mode "any") in place of the
test playing the agent.
"""

import os
from pathlib import Path

import psutil
from agent_helpers import AgentProcess
from commands_helpers import Stack


async def test_the_real_agent_runs_a_command_and_stops_one_on_cancel(
    stack: Stack,
    tmp_path: Path,
) -> None:
    """uptime succeeds with its output; a running sleep ends `cancelled` through its agent."""
    config = await stack.agent_config(tmp_path / "agent.toml", "real-01", 'mode = "any"\n')
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        await stack.known("real-01")
        (first,) = await stack.create(hostname="real-01", command="uptime")
        record = await stack.wait_status(first["id"], "succeeded")
        assert "load average" in record["stdout"]
        assert record["exit_code"] == 0
        (long,) = await stack.create(hostname="real-01", command="sleep 30")
        await stack.wait_status(long["id"], "running")
        answer = await stack.http.post(
            f"/api/commands/{long['id']}/cancel", json={"requested_by": "carol"}
        )
        # 202: the agent was asked and its result will say; 200: that result already came in
        # before the reply was made (a fast agent). Either way the agent stopped it.
        assert answer.status_code in (200, 202), answer.text
        assert answer.json()["agent_reply"]["cancelled"] is True
        record = await stack.wait_status(long["id"], "cancelled")
        # In the order things happened: the request, then the agent's result and its answer
        # to the request in whichever order they came back.
        events = [(e["event"], e["actor"]) for e in record["events"]]
        assert events[-3] == ("cancel_requested", "carol")
        assert sorted(events[-2:]) == [("cancel_answered", "carol"), ("cancelled", "agent:real-01")]
    finally:
        await agent.stop()


async def test_a_selector_fans_out_to_the_real_agents_with_that_tag_only(
    stack: Stack,
    tmp_path: Path,
) -> None:
    """Three agents, two labelled role=web by the operator: one request makes one command for
    each web host under one batch id, both run; the db host gets nothing, though its agent's
    own config claims role=web too. A command outside the allowlist is rejected by the agent
    and provably never runs."""
    roles = {"fan-web-1": "web", "fan-web-2": "web", "fan-db-1": "db"}
    for host in roles:
        (tmp_path / host).mkdir()
    agents = [
        AgentProcess(
            await stack.agent_config(
                tmp_path / host / "agent.toml", host, "", tags={"role": "web"}
            ),
            tmp_path / host / "agent.log",
        )
        for host in roles
    ]
    try:
        for agent in agents:
            await agent.start()
        for host, role in roles.items():
            await stack.known(host)
            await stack.label(host, tags={"role": role})

        created = await stack.create(selector={"tags": {"role": "web"}}, command="uptime")

        assert sorted(c["host_id"] for c in created) == ["fan-web-1", "fan-web-2"]
        assert len({c["batch_id"] for c in created}) == 1
        for command in created:
            record = await stack.wait_status(command["id"], "succeeded")
            assert "load average" in record["stdout"]
        listed = (await stack.http.get("/api/commands", params={"hostname": "fan-db-1"})).json()
        assert listed["total"] == 0

        witness = tmp_path / "ran"
        (refused,) = await stack.create(hostname="fan-db-1", command=f"touch {witness}")
        record = await stack.wait_status(refused["id"], "rejected")
        assert record["error"]
        assert not witness.exists()
    finally:
        for agent in agents:
            await agent.stop()


async def test_outcomes_through_the_service_and_a_real_agent(
    stack: Stack,
    tmp_path: Path,
) -> None:
    """echo → succeeded with its stdout; a non-zero exit → failed with its code; a sleep past
    its timeout → timed_out, with no process of it left on the host."""
    config = await stack.agent_config(tmp_path / "agent.toml", "out-01", 'mode = "any"\n')
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        await stack.known("out-01")
        (echo,) = await stack.create(hostname="out-01", command="echo hi")
        (failing,) = await stack.create(hostname="out-01", command="ls /no/such/path")
        marker = f"sleep 10.{os.getpid()}"  # a sleep no other process on this host runs
        (slow,) = await stack.create(hostname="out-01", command=marker, timeout_seconds=1)

        record = await stack.wait_status(echo["id"], "succeeded")
        assert (record["stdout"], record["exit_code"]) == ("hi\n", 0)
        record = await stack.wait_status(failing["id"], "failed")
        assert record["exit_code"] != 0
        assert "No such file" in record["stderr"]
        record = await stack.wait_status(slow["id"], "timed_out")
        left = [
            p
            for p in psutil.process_iter(["cmdline"])
            if marker in " ".join(p.info["cmdline"] or [])
        ]
        assert left == []
    finally:
        await agent.stop()


async def test_a_command_waits_for_its_agent_and_runs_when_it_starts(
    stack: Stack,
    tmp_path: Path,
) -> None:
    """Asked while the host's agent is not running, the command waits, then runs once the agent
    starts; it runs once."""
    await stack.sample("late-01")
    await stack.known("late-01")
    (command,) = await stack.create(hostname="late-01", command="uptime")
    waiting = await stack.get(command["id"])
    assert waiting["status"] in ("pending", "dispatched")

    config = await stack.agent_config(tmp_path / "agent.toml", "late-01", "")
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        record = await stack.wait_status(command["id"], "succeeded")
    finally:
        await agent.stop()
    assert "load average" in record["stdout"]
    assert [e["event"] for e in record["events"]].count("succeeded") == 1
