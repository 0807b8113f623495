"""The process table: a raw /proc reader, a psutil fallback, and top-N by CPU over the interval."""

from __future__ import annotations

import heapq
import os
import time
from pathlib import Path
from typing import NamedTuple

import msgspec
import psutil

from mirror_agent.rates import counter_delta
from mirror_schema.samples import TopProcess

__all__ = [
    "ProcReader",
    "ProcessSnapshot",
    "ProcessStat",
    "ProcessTable",
    "StatFields",
    "parse_stat",
    "read_psutil_processes",
]


class ProcessStat(msgspec.Struct, frozen=True, kw_only=True):
    """One process at one instant; ``start`` tells a reused pid from the process it replaced."""

    pid: int
    name: str
    start: float  # clock ticks since boot (/proc) or epoch seconds (psutil); only compared
    cpu_seconds: float  # user + system, all threads, since the process started
    rss_bytes: int = 0
    username: str | None = None


class ProcessSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The whole process table, with the monotonic time it was read at."""

    taken_at: float
    processes: list[ProcessStat] = []


class StatFields(NamedTuple):
    """The fields of one /proc/<pid>/stat line the agent uses (man 5 proc)."""

    pid: int
    comm: str
    utime_ticks: int
    stime_ticks: int
    start_ticks: int
    rss_pages: int


def parse_stat(text: str) -> StatFields | None:
    """Parse one /proc/<pid>/stat line; None if it is truncated or malformed.

    comm sits in parentheses and may itself hold spaces and ')', so it ends at the LAST ')'.
    """
    open_paren = text.find("(")
    close_paren = text.rfind(")")
    if open_paren < 0 or close_paren < open_paren:
        return None
    # fields[0] is field 3 (state) of man 5 proc, so field n is fields[n - 3].
    fields = text[close_paren + 1 :].split()
    if len(fields) < 22:
        return None
    try:
        return StatFields(
            pid=int(text[:open_paren]),
            comm=text[open_paren + 1 : close_paren],
            utime_ticks=int(fields[11]),
            stime_ticks=int(fields[12]),
            start_ticks=int(fields[19]),
            rss_pages=int(fields[21]),
        )
    except ValueError:
        return None


class ProcReader:
    """Reads every /proc/<pid>/stat directly: ~6x cheaper than psutil.process_iter (bench/)."""

    def __init__(self, root: Path = Path("/proc")) -> None:
        self._root = str(root)
        self._clock_ticks = os.sysconf("SC_CLK_TCK")
        self._page_size = os.sysconf("SC_PAGE_SIZE")
        self._usernames: dict[int, str] = {}

    def read(self) -> list[ProcessStat]:
        """Every process that still exists by the time its stat file is read."""
        processes: list[ProcessStat] = []
        for name in os.listdir(self._root):
            if not name.isdigit():
                continue
            try:
                fd = os.open(f"{self._root}/{name}/stat", os.O_RDONLY)
                try:
                    data = os.read(fd, 4096)
                    # The stat file's owner is the owner of /proc/<pid>; fstat reads it
                    # from the very file just read, so a reused pid cannot mix two processes.
                    uid = os.fstat(fd).st_uid
                finally:
                    os.close(fd)
            except OSError:  # exited between listdir and open/read (ENOENT, ESRCH)
                continue
            fields = parse_stat(data.decode("utf-8", errors="replace"))
            if fields is None:
                continue
            processes.append(
                ProcessStat(
                    pid=fields.pid,
                    name=fields.comm,
                    start=float(fields.start_ticks),
                    cpu_seconds=(fields.utime_ticks + fields.stime_ticks) / self._clock_ticks,
                    rss_bytes=fields.rss_pages * self._page_size,
                    username=self._username(uid),
                )
            )
        return processes

    def _username(self, uid: int) -> str:
        name = self._usernames.get(uid)
        if name is None:
            import pwd  # POSIX only: this reader runs only where /proc exists

            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:  # no passwd entry (containers): psutil reports the uid too
                name = str(uid)
            self._usernames[uid] = name
        return name


def read_psutil_processes() -> list[ProcessStat]:
    """The process table via psutil, for hosts without /proc (macOS, Windows, BSD)."""
    processes: list[ProcessStat] = []
    attrs = ["name", "cpu_times", "memory_info", "username", "create_time"]
    for process in psutil.process_iter(attrs):
        info = process.info
        cpu_times = info.get("cpu_times")
        if cpu_times is None:  # access denied: no way to rank it
            continue
        memory = info.get("memory_info")
        processes.append(
            ProcessStat(
                pid=process.pid,
                name=str(info.get("name") or ""),
                start=float(info.get("create_time") or 0.0),
                cpu_seconds=float(cpu_times.user + cpu_times.system),
                rss_bytes=int(memory.rss) if memory is not None else 0,
                username=info.get("username"),
            )
        )
    return processes


def read_snapshot(reader: ProcReader | None) -> ProcessSnapshot:
    """Read the table with ``reader``, or psutil when None, stamped with time.monotonic()."""
    processes = reader.read() if reader is not None else read_psutil_processes()
    # time.monotonic(): the interval must survive NTP jumps.
    return ProcessSnapshot(taken_at=time.monotonic(), processes=processes)


class ProcessTable:
    """Remembers each process's CPU time so the next update ranks by use over the interval."""

    def __init__(self) -> None:
        self._previous: dict[int, tuple[float, float]] | None = None  # pid -> (start, cpu s)
        self._previous_at = 0.0

    @property
    def primed(self) -> bool:
        """True once a snapshot has been seen: the next update can rank."""
        return self._previous is not None

    def update(
        self, snapshot: ProcessSnapshot, *, limit: int, memory_total_bytes: int | None
    ) -> list[TopProcess]:
        """Record ``snapshot`` and return the ``limit`` busiest since the previous one.

        The first snapshot only primes the table and returns []. A pid absent from the previous
        snapshot, or present with another start time (a reused pid), is a process that started
        after it: all of its CPU time falls in the interval, so it is counted from zero.
        """
        previous, previous_at = self._previous, self._previous_at
        self._previous = {p.pid: (p.start, p.cpu_seconds) for p in snapshot.processes}
        self._previous_at = snapshot.taken_at
        elapsed = snapshot.taken_at - previous_at
        if previous is None or limit <= 0 or elapsed <= 0:
            return []
        ranked: list[tuple[float, int, int, ProcessStat]] = []
        for process in snapshot.processes:
            before = previous.get(process.pid)
            baseline = before[1] if before is not None and before[0] == process.start else 0.0
            used = counter_delta(baseline, process.cpu_seconds) or 0.0
            ranked.append((used / elapsed * 100.0, process.rss_bytes, -process.pid, process))
        busiest = heapq.nlargest(limit, ranked, key=lambda entry: entry[:3])
        return [
            TopProcess(
                name=process.name,
                pid=process.pid,
                username=process.username,
                cpu_percent=round(cpu_percent, 2),
                memory_percent=_memory_percent(process.rss_bytes, memory_total_bytes),
            )
            for cpu_percent, _, _, process in busiest
        ]


def _memory_percent(rss_bytes: int, total_bytes: int | None) -> float:
    if not total_bytes:
        return 0.0
    return round(min(100.0, rss_bytes / total_bytes * 100.0), 2)
