"""An unchanged REFLECTOR, the original agent, against `mirror-stage up`. Its only setting is
its endpoint URL, so its credentials travel in it (`http://HOST:TOKEN@ingest:8101/...`), which
`requests` sends as HTTP Basic; it posts one sample per request, `{"samples": [payload]}`."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import requests
from stack_up import admin, mirror_stage_up

from mirror_schema import streams, subjects
from stack_cli import mirror_stage

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "original-agent-payload.json"
HOST = "vm"  # the reference payload's hostname


def post_as_the_original_agent(endpoint: str, payload: dict[str, Any]) -> requests.Response:
    return requests.post(endpoint, json={"samples": [payload]}, timeout=10)


def reference_at(moment: datetime, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(REFERENCE.read_bytes())
    return {**payload, "timestamp": moment.isoformat(), **changes}


async def test_the_original_agent_posts_through_its_urls_credentials(data_dir: Path) -> None:
    async with mirror_stage_up(data_dir, "--no-agent") as stack:
        code, out = await mirror_stage(
            stack.env, "agent", "enroll", HOST, "--data-dir", str(data_dir)
        )
        assert code == 0, out
        token = out.split('ingest_token = "')[1].split('"')[0]
        ingest = f"127.0.0.1:{stack.port('ingest')}"
        endpoint = f"http://{HOST}:{token}@{ingest}/api/metrics/batch"
        start = datetime.now(UTC) - timedelta(seconds=10)
        for second in range(3):
            answer = await asyncio.to_thread(
                post_as_the_original_agent,
                endpoint,
                reference_at(start + timedelta(seconds=second)),
            )
            assert answer.status_code == 202, answer.text

        # The same token under another host's name, or a payload claiming another host: refused.
        elsewhere = f"http://other-host:{token}@{ingest}/api/metrics/batch"
        refused = await asyncio.to_thread(
            post_as_the_original_agent, elsewhere, reference_at(start)
        )
        assert refused.status_code == 401, refused.text
        claimed = reference_at(start, hostname="other-host")
        forged = await asyncio.to_thread(post_as_the_original_agent, endpoint, claimed)
        assert forged.status_code == 403, forged.text

        nc = await nats.connect(stack.env["MIRROR_STAGE_NATS_URL"], nkeys_seed=admin(data_dir))
        try:
            info = await nc.jetstream().stream_info(streams.METRICS.name, subjects_filter=">")
            last = await nc.jetstream().get_last_msg(
                streams.METRICS.name, subjects.metrics_raw(HOST)
            )
        finally:
            await nc.close()
        assert info.state.subjects == {subjects.metrics_raw(HOST): 3}
        assert json.loads(last.data or b"{}")["host_id"] == HOST
