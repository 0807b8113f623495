"""Journal: an fsync'd file of command ids, so that a command runs at most once across crashes.

One JSON line per event, appended and fsync'd before the agent acts on it:
`started` (written before the dispatch message is acked and the process spawned), `result`
(the final CommandResult, written before it is published) and `reported` (JetStream
acknowledged the result). Reopening the file after a crash tells which commands were
started and never finished, and which results still wait to be published.

How long an id is remembered: at least until its command could no longer run anyway, its
signed ``expires_at`` plus the clock skew an agent allows (a command without a known expiry,
e.g. cancelled before it arrived: for the longest validity a signed command may have, 24 h,
from when it was written). Agents refuse a command valid for longer than that, so every id is
remembered for the whole time it is valid. Beyond that, the newest `max_entries` within
`max_age` are kept too (a replayed stream then finds them), the rest forgotten.

Bounded in size: the agent takes no new command while `max_entries` ids are still valid
(:meth:`Journal.has_room`; it waits for the oldest to expire rather than forget one), and the
file is rewritten with only what is kept once it holds twice as many lines as that.
"""

import contextlib
import fcntl
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import msgspec

from mirror_schema.command_signing import CLOCK_SKEW_SECONDS, MAX_VALIDITY_SECONDS
from mirror_schema.commands import CommandResult

log = logging.getLogger(__name__)

Event = Literal["started", "result", "reported"]
# How long a journal full of valid ids waits before it looks again for expired ones.
ROOM_RECHECK_SECONDS = 5.0


class _Line(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    event: Event
    at: datetime
    host_id: str | None = None
    result: CommandResult | None = None
    expires_at: datetime | None = None  # the command's, signed: how long it could run


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Line).decode


@dataclass
class Entry:
    """What the journal knows of one command."""

    event: Event
    at: datetime  # when the last event was written
    host_id: str | None = None
    started_at: datetime | None = None
    result: CommandResult | None = None  # kept only until it is reported
    expires_at: datetime | None = None  # the command's; None: not known

    def remembered_until(self) -> datetime:
        """Until when the id must be remembered: while its command could still run."""
        valid_until = self.expires_at or (
            (self.started_at or self.at) + timedelta(seconds=MAX_VALIDITY_SECONDS)
        )
        return valid_until + timedelta(seconds=CLOCK_SKEW_SECONDS)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class JournalLockedError(OSError):
    """Another process (a second agent for the same host) holds the journal."""


class Journal:
    """The journal file, read into memory on open and appended to (fsync'd) on each event.

    One process at a time: an exclusive lock on `<path>.lock` is held while it is open.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_entries: int = 10_000,
        max_age_seconds: float = 7 * 86_400,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.path = path
        self.clock = clock  # what "now" is when a caller does not say
        self.max_entries = max_entries
        self.max_age = timedelta(seconds=max_age_seconds)
        self.entries: dict[str, Entry] = {}
        self.skipped_lines = 0
        self._lines = 0
        self._full_since: datetime | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(path.with_name(path.name + ".lock"))
        self._load()
        self._file = open(path, "ab", opener=_private)  # noqa: SIM115 - held for its life
        # Rewritten at once: a line cut short by a crash must not prefix the next one.
        self.compact()

    def _load(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as file:
            for raw in file:
                try:
                    line = _decode(raw)
                except msgspec.DecodeError:
                    # The tail of a write cut short by a crash; it was never acted on.
                    self.skipped_lines += 1
                    continue
                self._apply(line)
        if self.skipped_lines:
            log.warning("journal.skipped_lines path=%s count=%d", self.path, self.skipped_lines)

    def _apply(self, line: _Line) -> None:
        entry = self.entries.get(line.id)
        expires_at = line.expires_at or (entry.expires_at if entry else None)
        if line.event == "started":
            self.entries[line.id] = Entry(
                "started", line.at, line.host_id, started_at=line.at, expires_at=expires_at
            )
        elif line.event == "result":
            started_at = entry.started_at if entry else None
            self.entries[line.id] = Entry(
                "result",
                line.at,
                line.host_id,
                started_at=started_at,
                result=line.result,
                expires_at=expires_at,
            )
        elif entry is not None:
            entry.event, entry.at, entry.result = "reported", line.at, None
            entry.expires_at = expires_at
        else:
            self.entries[line.id] = Entry("reported", line.at, expires_at=expires_at)

    def _append(self, line: _Line) -> None:
        self._file.write(_encode(line) + b"\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._apply(line)
        self._lines += 1
        if self._lines > 2 * self.max_entries:
            self.compact()

    def get(self, command_id: str) -> Entry | None:
        """What is known of `command_id`, or None if it never reached this journal."""
        return self.entries.get(command_id)

    def record_started(
        self, command_id: str, host_id: str, at: datetime, *, expires_at: datetime | None = None
    ) -> None:
        """Durably note that `command_id` (valid until `expires_at`) is about to run (before
        its dispatch is acked)."""
        line = _Line(id=command_id, event="started", at=at, host_id=host_id, expires_at=expires_at)
        self._append(line)

    def record_result(self, result: CommandResult, *, expires_at: datetime | None = None) -> None:
        """Durably keep `result` until it is reported (`expires_at`: the command's, when this
        is the first the journal hears of it)."""
        line = _Line(
            id=result.command_id,
            event="result",
            at=result.finished_at,
            host_id=result.host_id,
            result=result,
            expires_at=expires_at,
        )
        self._append(line)

    def record_reported(self, command_id: str, at: datetime) -> None:
        """Note that JetStream acknowledged the result of `command_id`."""
        self._append(_Line(id=command_id, event="reported", at=at))

    def interrupted(self) -> list[tuple[str, Entry]]:
        """Commands started and never finished: the agent stopped while they ran."""
        return [(cid, e) for cid, e in self.entries.items() if e.event == "started"]

    def unreported(self) -> list[CommandResult]:
        """Results written but not yet acknowledged by JetStream."""
        return [e.result for e in self.entries.values() if e.event == "result" and e.result]

    def valid_count(self, now: datetime) -> int:
        """Commands not finished, or whose id must still be remembered at `now`."""
        return sum(
            1 for e in self.entries.values() if e.event != "reported" or e.remembered_until() >= now
        )

    def has_room(self, now: datetime | None = None) -> bool:
        """Whether the agent may take another command: fewer than `max_entries` ids are still
        valid. Once full, expired ones are looked for again every ROOM_RECHECK_SECONDS."""
        if len(self.entries) < self.max_entries:
            return True
        now = now or self.clock()
        recheck = timedelta(seconds=ROOM_RECHECK_SECONDS)
        if self._full_since is not None and timedelta(0) <= now - self._full_since < recheck:
            return False
        room = self.valid_count(now) < self.max_entries
        self._full_since = None if room else now
        return room

    def compact(self, now: datetime | None = None) -> None:
        """Rewrite the file with what still matters: every unfinished command, every id whose
        command could still run, and the newest `max_entries` other reported ones not older
        than `max_age`."""
        now = now or self.clock()
        open_ids = {cid for cid, e in self.entries.items() if e.event != "reported"}
        valid = {
            cid
            for cid, e in self.entries.items()
            if cid not in open_ids and e.remembered_until() >= now
        }
        reported = sorted(
            (
                (e.at, cid)
                for cid, e in self.entries.items()
                if cid not in open_ids and cid not in valid and now - e.at <= self.max_age
            ),
            reverse=True,
        )[: max(self.max_entries - len(valid), 0)]
        keep = open_ids | valid | {cid for _, cid in reported}
        self._full_since = None
        self.entries = {cid: e for cid, e in self.entries.items() if cid in keep}
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "wb", opener=_private) as file:
            for cid, entry in self.entries.items():
                file.write(b"".join(_encode(line) + b"\n" for line in _lines_of(cid, entry)))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        _fsync_directory(self.path.parent)
        self._lines = len(self.entries)
        self._file.close()
        self._file = open(self.path, "ab", opener=_private)  # noqa: SIM115

    def close(self) -> None:
        """Close the file and release the lock; every event is already on disk."""
        self._file.close()
        os.close(self._lock)  # closing the descriptor releases the flock


def _lines_of(command_id: str, entry: Entry) -> list[_Line]:
    lines = []
    if entry.started_at is not None:
        lines.append(
            _Line(
                id=command_id,
                event="started",
                at=entry.started_at,
                host_id=entry.host_id,
                expires_at=entry.expires_at,
            )
        )
    if entry.event == "result":
        lines.append(
            _Line(
                id=command_id,
                event="result",
                at=entry.at,
                host_id=entry.host_id,
                result=entry.result,
                expires_at=entry.expires_at,
            )
        )
    elif entry.event == "reported":
        lines.append(
            _Line(id=command_id, event="reported", at=entry.at, expires_at=entry.expires_at)
        )
    return lines


def _lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalLockedError(
            f"{path} is locked: another mirror-agent with this host id uses this state "
            "directory; give each agent its own [commands] state_dir"
        ) from None
    return fd


def _private(path: str, flags: int) -> int:
    # Results hold commands' output: readable by the agent's user alone.
    return os.open(path, flags, 0o600)


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
