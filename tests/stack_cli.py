"""The stack's command line and its services' counters, as the end-to-end tests use them."""

import asyncio
import sys

import httpx


async def mirror_stage(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run `python -m mirror_stage ARGS` with the stack's environment; exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mirror_stage",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


def metric_total(text: str, name: str, label: str = "") -> float:
    """The sum of every sample of `name` in a /metrics page (those whose labels hold `label`,
    e.g. 'reason="host_mismatch"'); 0 when there is none."""
    total = 0.0
    for line in text.splitlines():
        metric, _, value = line.rpartition(" ")
        if (metric == name or metric.startswith(name + "{")) and label in metric:
            total += float(value)
    return total


async def counter(base_url: str, name: str, label: str = "", **client: object) -> float:
    """`metric_total` of the service at `base_url` right now."""
    async with httpx.AsyncClient(base_url=base_url, **client) as http:  # type: ignore[arg-type]
        return metric_total((await http.get("/metrics")).text, name, label)
