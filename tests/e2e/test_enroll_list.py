"""`mirror-stage agent enroll --from FILE` against a running stack: a fleet's identities and
ingest tokens in one command, each confined to its own host like a single enrollment; a list
with a bad host id changes nothing; listing enrolled hosts again changes nothing."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import nats.errors
import pytest
from stack_up import mirror_stage_up

from mirror_schema import subjects
from mirror_schema.identities import inbox_prefix
from mirror_stage.identity_store import agent_name
from stack_cli import mirror_stage

FLEET = [f"rack1-web-{k:02d}" for k in range(40)]


def enrolled_lines(printed: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in printed.splitlines() if line.startswith("{")]


async def test_a_listed_fleet_is_enrolled_in_one_command_each_host_confined(
    data_dir: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "hosts.txt"
    listing.write_text(
        "# rack 1\n" + "\n".join(FLEET) + f"\n\n{FLEET[0]}  # listed twice\n", encoding="utf-8"
    )
    bad = tmp_path / "bad.txt"
    bad.write_text("rack2-a\nrack2-b\nRack 2 C\n", encoding="utf-8")
    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        registry = data_dir / "identities" / "registry.json"
        before_bad = registry.read_bytes()
        code, printed = await mirror_stage(
            stack.env, "agent", "enroll", "--from", str(bad), "--data-dir", str(data_dir)
        )
        assert code == 2, printed
        assert f"{bad}:3: invalid host id 'Rack 2 C'" in printed
        assert registry.read_bytes() == before_bad  # nothing of the list enrolled

        code, printed = await mirror_stage(
            stack.env, "agent", "enroll", "--from", str(listing), "--data-dir", str(data_dir)
        )
        assert code == 0, printed
        agents = enrolled_lines(printed)
        assert [a["host_id"] for a in agents] == FLEET
        modes = {os.stat(a["credentials_file"]).st_mode & 0o777 for a in agents}
        assert modes == {0o600}

        last = agents[-1]
        nc = await nats.connect(
            stack.env["MIRROR_STAGE_NATS_URL"],
            nkeys_seed=last["credentials_file"],
            inbox_prefix=inbox_prefix(agent_name(last["host_id"])),
            allow_reconnect=False,
        )
        try:
            js = nc.jetstream()
            sample = {
                "host_id": last["host_id"],
                "hostname": last["host_id"],
                "timestamp": datetime.now(UTC).isoformat(),
                "cpu_load": 3.0,
            }
            ack = await js.publish(
                subjects.metrics_raw(last["host_id"]), json.dumps(sample).encode()
            )
            assert ack.seq > 0
            with pytest.raises(nats.errors.TimeoutError):
                await js.publish(subjects.metrics_raw(FLEET[0]), b"{}", timeout=1)
        finally:
            await nc.close()

        ingest = f"http://127.0.0.1:{stack.port('ingest')}/api/metrics/batch"

        async def post_with(token: str) -> int:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(
                    ingest,
                    json={"samples": [{**sample, "timestamp": datetime.now(UTC).isoformat()}]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                return answer.status_code

        assert await post_with(last["ingest_token"]) == 202

        code, printed = await mirror_stage(
            stack.env, "agent", "enroll", "--from", str(listing), "--data-dir", str(data_dir)
        )
        assert code == 0, printed
        assert enrolled_lines(printed) == []
        assert f"{len(FLEET)} listed were enrolled already and are unchanged" in printed
        assert await post_with(last["ingest_token"]) == 202  # its token was not replaced
