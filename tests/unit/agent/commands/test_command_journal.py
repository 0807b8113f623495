"""The command journal: what a reopened file says after a crash, and its bounded size."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mirror_agent.commands.journal import Journal, JournalLockedError
from mirror_schema.command_signing import CLOCK_SKEW_SECONDS, MAX_VALIDITY_SECONDS
from mirror_schema.commands import CommandResult, CommandState

# Recent: reported entries are kept for max_age from now, so a fixed date would expire.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def frozen() -> datetime:
    """The journal's clock in these tests: T0, whatever the wall clock says meanwhile (a
    compaction a write starts must not depend on the minute the test runs in)."""
    return T0


def after_crash(path: Path, journal: Journal) -> Journal:
    """A journal opened on a copy of the disk as it is now, as a restarted agent would see
    it (the first one stays open, never closed: it "crashed")."""
    copy = path.with_name(f"after-crash-{len(list(path.parent.iterdir()))}.journal")
    copy.write_bytes(path.read_bytes())
    journal.close()  # only so the test leaks no file handle; close() writes nothing
    return Journal(copy, clock=frozen)


def result(command_id: str, at: datetime = T0) -> CommandResult:
    return CommandResult(
        command_id=command_id,
        host_id="web-01",
        state=CommandState.SUCCEEDED,
        finished_at=at,
        exit_code=0,
        stdout="hi\n",
        started_at=at,
    )


def test_a_started_command_survives_a_crash_as_interrupted(tmp_path: Path) -> None:
    """Reopened without a close (a crash), the journal shows the command started and not
    finished, with its host and start time."""
    path = tmp_path / "commands.journal"
    journal = Journal(path, clock=frozen)
    journal.record_started("c1", "web-01", T0)
    reopened = after_crash(path, journal)
    [(command_id, entry)] = reopened.interrupted()
    assert command_id == "c1"
    assert entry.host_id == "web-01"
    assert entry.started_at == T0
    assert reopened.unreported() == []
    reopened.close()


def test_a_result_waits_in_the_journal_until_it_is_reported(tmp_path: Path) -> None:
    """A result written but not acknowledged is there to publish again after a restart;
    once reported it is only remembered, so a redelivery is recognised."""
    path = tmp_path / "commands.journal"
    journal = Journal(path, clock=frozen)
    journal.record_started("c1", "web-01", T0)
    journal.record_result(result("c1"))
    copy = path.with_name("copy.journal")
    copy.write_bytes(path.read_bytes())
    with_result = Journal(copy, clock=frozen)
    assert with_result.unreported() == [result("c1")]
    assert with_result.interrupted() == []
    with_result.close()
    journal.record_reported("c1", T0)
    reopened = after_crash(path, journal)
    assert reopened.unreported() == []
    entry = reopened.get("c1")
    assert entry is not None
    assert entry.event == "reported"
    reopened.close()


def test_a_line_cut_short_by_a_crash_is_skipped_and_does_not_spoil_the_next(
    tmp_path: Path,
) -> None:
    """A torn last line is ignored on open, and what is written after it reads back."""
    path = tmp_path / "commands.journal"
    first = Journal(path, clock=frozen)
    first.record_started("c1", "web-01", T0)
    first.close()
    with open(path, "ab") as file:
        file.write(b'{"id":"c2","event":"star')
    journal = Journal(path, clock=frozen)
    assert journal.skipped_lines == 1
    assert journal.get("c2") is None
    journal.record_started("c3", "web-01", T0)
    reopened = after_crash(path, journal)
    assert sorted(cid for cid, _ in reopened.interrupted()) == ["c1", "c3"]
    assert reopened.skipped_lines == 0
    reopened.close()


def done(journal: Journal, command_id: str, at: datetime, expires_at: datetime) -> None:
    """A command that ran and was reported, valid until `expires_at`."""
    journal.record_started(command_id, "web-01", at, expires_at=expires_at)
    journal.record_result(result(command_id, at), expires_at=expires_at)
    journal.record_reported(command_id, at)


def test_compaction_keeps_open_commands_and_the_newest_recent_reported_ones(
    tmp_path: Path,
) -> None:
    """Past their expiry, reported commands are forgotten beyond max_entries or max_age; open
    ones never are."""
    path = tmp_path / "commands.journal"
    journal = Journal(path, clock=frozen, max_entries=100, max_age_seconds=3600)
    journal.record_started("open", "web-01", T0 - timedelta(days=30))
    done(journal, "old", T0 - timedelta(hours=2), T0 - timedelta(hours=2))
    for n in range(150):
        done(journal, f"r{n}", T0 + timedelta(seconds=n), T0 - timedelta(minutes=1))
    journal.compact(now=T0 + timedelta(minutes=10))
    assert journal.get("open") is not None
    assert journal.get("old") is None
    assert journal.get("r149") is not None
    assert journal.get("r49") is None
    assert len(journal.entries) == 101
    journal.close()
    reopened = Journal(path, clock=frozen, max_entries=100, max_age_seconds=3600)
    assert len(reopened.entries) <= 101
    reopened.close()


def test_an_id_is_remembered_as_long_as_its_command_could_run(tmp_path: Path) -> None:
    """A reported command is remembered until its expires_at (plus the clock skew allowed),
    whatever max_entries says, across a reopen; then it may be forgotten. Without a known
    expiry (cancelled before it arrived), for the longest validity a command may have."""
    path = tmp_path / "commands.journal"
    journal = Journal(path, clock=frozen, max_entries=100, max_age_seconds=60)
    expires = T0 + timedelta(hours=1)
    for n in range(150):
        done(journal, f"r{n}", T0, expires)
    journal.record_result(result("unseen", T0))
    journal.record_reported("unseen", T0)
    journal.compact(now=expires + timedelta(seconds=CLOCK_SKEW_SECONDS - 1))
    assert len(journal.entries) == 151
    journal.close()
    journal = Journal(path, clock=frozen, max_entries=100, max_age_seconds=60)
    assert journal.get("r0") is not None
    assert journal.get("r0").expires_at == expires  # type: ignore[union-attr]
    journal.compact(now=expires + timedelta(seconds=CLOCK_SKEW_SECONDS + 61))
    assert journal.get("r0") is None
    assert journal.get("r149") is None
    assert journal.get("unseen") is not None
    cap = timedelta(seconds=MAX_VALIDITY_SECONDS + CLOCK_SKEW_SECONDS)
    journal.compact(now=T0 + cap - timedelta(seconds=1))
    assert journal.get("unseen") is not None
    journal.compact(now=T0 + cap + timedelta(seconds=61))
    assert journal.get("unseen") is None
    journal.close()


def test_a_journal_full_of_commands_that_could_still_run_has_no_room(tmp_path: Path) -> None:
    """At max_entries ids still valid, the agent must take no new command (rather than forget
    one); room comes back as they expire. What it holds stays bounded."""
    path = tmp_path / "commands.journal"
    journal = Journal(path, clock=frozen, max_entries=100, max_age_seconds=60)
    expires = T0 + timedelta(hours=2)  # ahead of now: the journal compacts on its own too
    for n in range(99):
        done(journal, f"r{n}", T0, expires)
    assert journal.has_room(T0)
    done(journal, "r99", T0, expires)
    assert not journal.has_room(T0)
    assert not journal.has_room(expires)
    assert journal.has_room(expires + timedelta(seconds=CLOCK_SKEW_SECONDS + 1))
    journal.close()
    assert len(path.read_bytes().splitlines()) <= 300


def test_the_file_stays_bounded_while_it_is_written(tmp_path: Path) -> None:
    """Appending compacts on its own once the file holds twice max_entries lines."""
    path = tmp_path / "commands.journal"
    journal = Journal(path, clock=frozen, max_entries=100)
    now = T0
    for n in range(1000):
        done(journal, f"r{n}", now, now - timedelta(minutes=10))
    journal.close()
    assert len(path.read_bytes().splitlines()) <= 300


def test_a_second_agent_cannot_open_a_journal_in_use(tmp_path: Path) -> None:
    """Two processes appending to one journal would undo each other: the second is refused
    while the first holds it, and gets it once it is closed."""
    path = tmp_path / "commands.journal"
    first = Journal(path, clock=frozen)
    with pytest.raises(JournalLockedError, match="another mirror-agent"):
        Journal(path, clock=frozen)
    first.close()
    Journal(path, clock=frozen).close()
