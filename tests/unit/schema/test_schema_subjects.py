"""Subjects: builders validate their tokens; host ids come back out of subjects."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mirror_schema import InvalidCommandId, InvalidHostId, InvalidSubject, subjects

BUILDERS: list[Callable[[str], str]] = [
    subjects.metrics_raw,
    subjects.commands_dispatch,
    subjects.commands_result,
    subjects.commands_status,
    subjects.alerts_events,
    subjects.commands_output_all,
]


def test_builders_follow_the_contracts() -> None:
    """Each builder gives the subject docs/design/contracts.md names."""
    assert subjects.metrics_raw("web-01") == "metrics.raw.web-01"
    assert subjects.commands_dispatch("web-01") == "commands.dispatch.web-01"
    assert subjects.commands_result("web-01") == "commands.result.web-01"
    assert subjects.commands_status("web-01") == "commands.status.web-01"
    assert subjects.commands_output("web-01", "c-1") == "commands.output.web-01.c-1"
    assert subjects.commands_output_all("web-01") == "commands.output.web-01.>"
    assert subjects.alerts_events("web-01") == "alerts.events.web-01"
    assert subjects.COMMANDS_REQUEST == "commands.request"
    assert subjects.COMMANDS_QUEUE_GROUP == "commands"
    assert subjects.dead_letter("metrics.raw.web-01") == "deadletter.metrics.raw.web-01"


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
@pytest.mark.parametrize("bad", ["a.b", "*", ">", "", "UPPER", "a b", "web-01\n", "x" * 64])
def test_builders_reject_bad_host_ids(builder: Callable[[str], str], bad: str) -> None:
    """No bad host id can become part of a subject."""
    with pytest.raises(InvalidHostId, match="invalid host id"):
        builder(bad)


@pytest.mark.parametrize("bad", ["a.b", "*", ">", "", "x y", "c-1\n", "x" * 65])
def test_output_subject_rejects_bad_command_ids(bad: str) -> None:
    """A command id must be one safe token to appear in commands.output.<host>.<id>."""
    with pytest.raises(InvalidCommandId, match="invalid command id"):
        subjects.commands_output("web-01", bad)


@pytest.mark.parametrize(
    "bad", ["", "metrics.raw.>", "metrics.*.x", "a..b", ".a", "a.", "a b", "a\tb", "ü"]
)
def test_dead_letter_needs_a_concrete_subject(bad: str) -> None:
    """A wildcard, empty token or odd character cannot be dead-lettered as a subject."""
    with pytest.raises(InvalidSubject):
        subjects.dead_letter(bad)


def test_original_subject_undoes_dead_letter() -> None:
    """original_subject(dead_letter(s)) is s."""
    subject = subjects.commands_result("web-01")
    assert subjects.original_subject(subjects.dead_letter(subject)) == subject
    with pytest.raises(InvalidSubject, match=r"starts with 'deadletter\.'"):
        subjects.original_subject(subject)


@pytest.mark.parametrize("builder", BUILDERS[:-1], ids=lambda b: b.__name__)
def test_host_id_round_trips_through_a_subject(builder: Callable[[str], str]) -> None:
    """host_id_from_subject(builder(h)) == h for every per-host subject."""
    assert subjects.host_id_from_subject(builder("gpu_node-7")) == "gpu_node-7"


def test_host_id_from_output_subject() -> None:
    """The host id of a live-output subject is the token before the command id."""
    subject = subjects.commands_output("web-01", "c-1")
    assert subjects.host_id_from_subject(subject) == "web-01"


def test_host_id_from_prefixed_subject() -> None:
    """With a test subject prefix, the prefix is stripped first."""
    subject = "t1." + subjects.metrics_raw("web-01")
    assert subjects.host_id_from_subject(subject, prefix="t1") == "web-01"
    with pytest.raises(InvalidSubject, match="prefix"):
        subjects.host_id_from_subject(subjects.metrics_raw("web-01"), prefix="t1")


@pytest.mark.parametrize(
    "subject",
    ["commands.request", "metrics.raw", "metrics.raw.a.b", "deadletter.metrics.raw.a", "x.y.z"],
)
def test_host_id_from_subject_rejects_other_subjects(subject: str) -> None:
    """A subject without a host id in a known place raises InvalidSubject."""
    with pytest.raises(InvalidSubject, match="not a per-host subject"):
        subjects.host_id_from_subject(subject)


def test_host_id_from_subject_rejects_a_bad_host_token() -> None:
    """A per-host subject whose host token is invalid raises InvalidHostId."""
    with pytest.raises(InvalidHostId):
        subjects.host_id_from_subject("metrics.raw.UPPER")
