"""The process table: /proc parsing, vanished and reused pids, top-N by CPU over the interval."""

import os
from pathlib import Path

import pytest

from mirror_agent.processes import (
    ProcessSnapshot,
    ProcessStat,
    ProcessTable,
    ProcReader,
    parse_stat,
    read_psutil_processes,
)

# utime=11 stime=12 starttime=22 rss=24 in man 5 proc's numbering.
STAT_TAIL = "S 1 2 3 0 -1 4194304 100 0 0 0 {utime} {stime} 0 0 20 0 1 0 {start} 1000 {rss} 0"


def stat_line(pid: int, comm: str, *, utime: int, stime: int, start: int, rss: int) -> str:
    return f"{pid} ({comm}) " + STAT_TAIL.format(utime=utime, stime=stime, start=start, rss=rss)


def write_proc(root: Path, pid: int, comm: str, *, utime: int = 0, start: int = 1) -> None:
    (root / str(pid)).mkdir()
    text = stat_line(pid, comm, utime=utime, stime=0, start=start, rss=10)
    (root / str(pid) / "stat").write_text(text + "\n")


def test_parse_stat_reads_the_fields_the_agent_uses() -> None:
    """utime, stime, start time and rss pages are fields 14, 15, 22 and 24 of the stat line."""
    fields = parse_stat(stat_line(42, "nginx", utime=300, stime=50, start=9000, rss=2048))
    assert fields is not None
    assert (fields.pid, fields.comm) == (42, "nginx")
    assert (fields.utime_ticks, fields.stime_ticks) == (300, 50)
    assert (fields.start_ticks, fields.rss_pages) == (9000, 2048)


def test_a_comm_with_spaces_and_parentheses_is_read_whole() -> None:
    """comm ends at the LAST ')': spaces and ')' inside the name do not shift the fields."""
    comm = "evil) 1 2 (name) x"
    fields = parse_stat(stat_line(7, comm, utime=5, stime=6, start=77, rss=8))
    assert fields is not None
    assert fields.comm == comm
    assert (fields.utime_ticks, fields.stime_ticks, fields.start_ticks) == (5, 6, 77)


@pytest.mark.parametrize("text", ["", "12 (truncated", "12 (x) S 1 2", "x (y) " + "z " * 30])
def test_a_malformed_stat_line_is_skipped_not_raised(text: str) -> None:
    """A truncated or garbled stat line gives None."""
    assert parse_stat(text) is None


def test_the_reader_converts_ticks_and_pages(tmp_path: Path) -> None:
    """CPU time is (utime + stime) / CLK_TCK seconds and rss is pages x page size."""
    (tmp_path / "5").mkdir()
    text = stat_line(5, "db", utime=250, stime=150, start=3, rss=4)
    (tmp_path / "5" / "stat").write_text(text)
    (process,) = ProcReader(tmp_path).read()
    assert process.cpu_seconds == pytest.approx(400 / os.sysconf("SC_CLK_TCK"))
    assert process.rss_bytes == 4 * os.sysconf("SC_PAGE_SIZE")
    assert process.username  # the owner of the stat file, resolved through pwd


def test_a_pid_that_vanished_mid_read_is_skipped(tmp_path: Path) -> None:
    """A process that exits between listdir and open, or while its file is read, is left out."""
    write_proc(tmp_path, 1, "init")
    (tmp_path / "2").mkdir()  # exited: its directory is listed but stat is gone
    write_proc(tmp_path, 3, "dying")
    (tmp_path / "self").mkdir()  # not a pid
    real_open = os.open

    def open_or_esrch(path: str, flags: int) -> int:
        if path.endswith("/3/stat"):
            raise ProcessLookupError(3, "No such process")
        return real_open(path, flags)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "open", open_or_esrch)
        found = ProcReader(tmp_path).read()
    assert [process.pid for process in found] == [1]


def test_usernames_are_looked_up_once_per_uid(tmp_path: Path) -> None:
    """The uid -> name lookup is cached: pwd is hit once however many processes share a uid."""
    for pid in (10, 11, 12):
        write_proc(tmp_path, pid, "worker")
    reader = ProcReader(tmp_path)
    calls: list[int] = []
    import pwd

    real_getpwuid = pwd.getpwuid

    def counting_getpwuid(uid: int) -> pwd.struct_passwd:
        calls.append(uid)
        return real_getpwuid(uid)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pwd, "getpwuid", counting_getpwuid)
        reader.read()
        reader.read()
    assert len(calls) == 1


def test_the_psutil_fallback_reads_this_process() -> None:
    """Without /proc, psutil gives the same table, this process included."""
    table = {process.pid: process for process in read_psutil_processes()}
    assert os.getpid() in table
    assert table[os.getpid()].cpu_seconds > 0


def proc(pid: int, cpu: float, *, start: float = 1.0, rss: int = 0) -> ProcessStat:
    return ProcessStat(pid=pid, name=f"p{pid}", start=start, cpu_seconds=cpu, rss_bytes=rss)


def snapshot(at: float, *stats: ProcessStat) -> ProcessSnapshot:
    return ProcessSnapshot(taken_at=at, processes=list(stats))


def test_the_first_snapshot_only_primes_the_table() -> None:
    """With no earlier snapshot there is no interval: the first update ranks nothing."""
    table = ProcessTable()
    assert table.update(snapshot(0.0, proc(1, 50.0)), limit=5, memory_total_bytes=None) == []
    assert table.primed


def test_processes_are_ranked_by_cpu_used_over_the_interval_not_in_total() -> None:
    """A long-lived process with a big total but idle now ranks below one busy in the interval."""
    table = ProcessTable()
    table.update(snapshot(0.0, proc(1, 9_000.0), proc(2, 1.0)), limit=5, memory_total_bytes=None)
    top = table.update(
        snapshot(2.0, proc(1, 9_000.2), proc(2, 2.0)), limit=5, memory_total_bytes=None
    )
    assert [(p.pid, p.cpu_percent) for p in top] == [(2, 50.0), (1, 10.0)]


def test_the_count_is_limited_and_memory_is_a_share_of_total() -> None:
    """Only `limit` processes are returned; memory_percent is rss over total memory."""
    table = ProcessTable()
    first = [proc(pid, 0.0, rss=pid * 100) for pid in range(1, 10)]
    table.update(snapshot(0.0, *first), limit=3, memory_total_bytes=None)
    second = [proc(pid, pid / 10, rss=pid * 100) for pid in range(1, 10)]
    top = table.update(snapshot(1.0, *second), limit=3, memory_total_bytes=10_000)
    assert [p.pid for p in top] == [9, 8, 7]
    assert top[0].memory_percent == pytest.approx(9.0)


def test_a_reused_pid_is_a_new_process_counted_from_zero() -> None:
    """A pid whose start time changed is another process: its CPU time is not diffed against the
    old one's (which would give a negative or a spike); it counts from zero."""
    table = ProcessTable()
    table.update(snapshot(0.0, proc(7, 500.0, start=100.0)), limit=5, memory_total_bytes=None)
    (top,) = table.update(
        snapshot(1.0, proc(7, 0.25, start=900.0)), limit=5, memory_total_bytes=None
    )
    assert top.cpu_percent == pytest.approx(25.0)


def test_a_process_that_started_during_the_interval_counts_all_its_cpu() -> None:
    """A pid absent from the previous snapshot started after it: all its CPU time is recent."""
    table = ProcessTable()
    table.update(snapshot(0.0, proc(1, 5.0)), limit=5, memory_total_bytes=None)
    top = table.update(snapshot(1.0, proc(1, 5.0), proc(2, 0.75)), limit=5, memory_total_bytes=None)
    assert top[0].pid == 2
    assert top[0].cpu_percent == pytest.approx(75.0)


def test_a_process_that_exited_drops_out_of_the_table() -> None:
    """Only processes in the current snapshot are ranked."""
    table = ProcessTable()
    table.update(snapshot(0.0, proc(1, 1.0), proc(2, 1.0)), limit=5, memory_total_bytes=None)
    top = table.update(snapshot(1.0, proc(2, 1.5)), limit=5, memory_total_bytes=None)
    assert [p.pid for p in top] == [2]


def test_zero_elapsed_time_ranks_nothing() -> None:
    """Two snapshots at the same instant have no interval to divide by."""
    table = ProcessTable()
    table.update(snapshot(5.0, proc(1, 1.0)), limit=5, memory_total_bytes=None)
    assert table.update(snapshot(5.0, proc(1, 2.0)), limit=5, memory_total_bytes=None) == []
