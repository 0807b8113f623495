"""Cost of one Collector.collect(), and of the process table read via raw /proc vs psutil."""

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from mirror_agent.collector import Collector
from mirror_agent.processes import ProcReader, read_psutil_processes

CALLS = 200
TABLE_READS = 100


def timings_ms(call: Callable[[], object], runs: int) -> list[float]:
    """Wall time of each of `runs` calls, in milliseconds."""
    timings: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def psutil_process_iter() -> int:
    """What a psutil-based agent does: the four attributes a top list needs."""
    attrs = ["name", "cpu_times", "memory_info", "username"]
    return sum(1 for _ in psutil.process_iter(attrs))


def main() -> None:
    collector = Collector(host_id="bench", hostname="bench", boot_id="bench", top_processes=5)
    collector.collect(seq=0, interval_seconds=5.0, tags={})  # warm caches (pwd, NVML probe)
    seq = iter(range(1, CALLS + 1))
    collect = timings_ms(
        lambda: collector.collect(seq=next(seq), interval_seconds=5.0, tags={}), CALLS
    )
    print(
        f"Collector.collect(): median {statistics.median(collect):.2f} ms, "
        f"p95 {p95(collect):.2f} ms over {CALLS} calls (top_processes=5)"
    )

    no_top = Collector(host_id="bench", hostname="bench", boot_id="bench", top_processes=0)
    seq = iter(range(1, CALLS + 1))
    bare = timings_ms(lambda: no_top.collect(seq=next(seq), interval_seconds=5.0, tags={}), CALLS)
    print(
        f"Collector.collect() with top_processes=0: median {statistics.median(bare):.2f} ms, "
        f"p95 {p95(bare):.2f} ms"
    )

    if Path("/proc/self/stat").exists():
        reader = ProcReader()
        reader.read()  # warm the username cache, as a running agent has
        count = len(reader.read())
        raw = timings_ms(reader.read, TABLE_READS)
        print(
            f"process table, raw /proc ({count} processes): "
            f"median {statistics.median(raw):.2f} ms, p95 {p95(raw):.2f} ms"
        )
    else:
        print("process table, raw /proc: not available on this OS")
    count = psutil_process_iter()
    iterated = timings_ms(psutil_process_iter, TABLE_READS)
    print(
        f"process table, psutil.process_iter(name, cpu_times, memory_info, username) "
        f"({count} processes): median {statistics.median(iterated):.2f} ms, "
        f"p95 {p95(iterated):.2f} ms"
    )
    fallback = timings_ms(read_psutil_processes, TABLE_READS)
    print(
        f"process table, the agent's psutil fallback (+create_time): "
        f"median {statistics.median(fallback):.2f} ms"
    )


if __name__ == "__main__":
    main()
