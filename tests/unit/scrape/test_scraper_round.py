"""A round of the scraper: every target read, each host's failure its own. A page that is no
exposition, one too large, an error status or a server that never finishes costs that host's
sample alone; the good host's sample is submitted all the same."""

import asyncio
from pathlib import Path
from typing import Any

import httpx

from mirror_scrape.scraper import MAX_EXPOSITION_BYTES, Scraper
from mirror_scrape.targets import Target

PAGE = (Path(__file__).resolve().parents[2] / "fixtures" / "node-exporter-metrics.txt").read_bytes()


class Recorder:
    def __init__(self) -> None:
        self.subjects: list[str] = []

    def submit(self, envelope: Any) -> None:
        self.subjects.append(envelope.subject)


def streamed(status: int, body: bytes) -> httpx.Response:
    """An answer read from the network as it arrives, as a real server's is."""
    return httpx.Response(status, stream=httpx.ByteStream(body))


def answer(request: httpx.Request) -> httpx.Response:
    host = request.url.host
    if host == "good":
        return streamed(200, PAGE)
    if host == "garbage":
        return streamed(200, b"<html>hello</html>")
    if host == "huge":
        return streamed(200, b"#" * (MAX_EXPOSITION_BYTES + 10))
    return streamed(503, b"down")


async def test_one_hosts_failure_costs_its_own_sample_alone() -> None:
    names = ("good", "garbage", "huge", "down")
    targets = [Target(host_id=n, url=f"http://{n}:9100/metrics") for n in names]
    shipper = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        scraper = Scraper(shipper, http, interval=1.0)  # type: ignore[arg-type]
        assert await scraper.round(targets) == 1
        assert await scraper.round(targets) == 1
    assert shipper.subjects == ["metrics.raw.good", "metrics.raw.good"]
    assert scraper.failing == {"garbage", "huge", "down"}
    assert scraper.seq == {"good": 2}


async def test_a_server_that_never_finishes_is_cut_off_at_the_interval() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return streamed(200, PAGE)

    shipper = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
        scraper = Scraper(shipper, http, interval=1.0)  # type: ignore[arg-type]
        async with asyncio.timeout(5):
            assert await scraper.round([Target(host_id="slow", url="http://slow:1/m")]) == 0
    assert scraper.failing == {"slow"}
