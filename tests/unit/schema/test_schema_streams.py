"""Stream configs: every stored subject has exactly one stream, and names can be prefixed."""

from __future__ import annotations

import pytest

from mirror_schema import (
    CONSUMER_ALERTS,
    CONSUMER_HISTORY,
    CONSUMER_TWIN,
    STREAMS,
    StreamSpec,
    stream_specs,
    subjects,
)
from mirror_schema.streams import COMMAND_RESULTS, COMMANDS, DEADLETTER, METRICS


def _matches(pattern: str, subject: str) -> bool:
    """NATS matching: `*` is one token, a final `>` one or more."""
    p_tokens, s_tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(p_tokens):
        if token == ">":
            return len(s_tokens) > index
        if index >= len(s_tokens) or (token != "*" and token != s_tokens[index]):
            return False
    return len(p_tokens) == len(s_tokens)


def _overlap(a: str, b: str) -> bool:
    """Whether some concrete subject matches both wildcard patterns."""
    a_tokens, b_tokens = a.split("."), b.split(".")
    for x, y in zip(a_tokens, b_tokens, strict=False):
        if ">" in (x, y):
            return True
        if "*" not in (x, y) and x != y:
            return False
    return len(a_tokens) == len(b_tokens)


def _streams_for(subject: str, specs: tuple[StreamSpec, ...]) -> list[str]:
    return [s.name for s in specs if any(_matches(p, subject) for p in s.subjects)]


# The JetStream rows of docs/design/contracts.md#hosts-and-subjects: subject -> stream.
STORED = {
    subjects.metrics_raw("web-01"): "METRICS",
    subjects.commands_dispatch("web-01"): "COMMANDS",
    subjects.commands_result("web-01"): "COMMAND_RESULTS",
    subjects.commands_status("web-01"): "COMMAND_RESULTS",
    subjects.alerts_events("web-01"): "ALERTS",
    subjects.dead_letter(subjects.metrics_raw("web-01")): "DEADLETTER",
}


@pytest.mark.parametrize(("subject", "stream"), STORED.items())
def test_each_stored_subject_lands_in_exactly_its_stream(subject: str, stream: str) -> None:
    """Each JetStream subject of the contracts is captured by exactly the stream it names."""
    assert _streams_for(subject, STREAMS) == [stream]


@pytest.mark.parametrize(
    "subject",
    [subjects.commands_output("web-01", "c-1"), subjects.COMMANDS_REQUEST],
)
def test_core_nats_subjects_are_not_stored(subject: str) -> None:
    """Live output and command requests stay on core NATS: no stream captures them."""
    assert _streams_for(subject, STREAMS) == []


def test_no_two_streams_overlap() -> None:
    """No subject pattern of one stream overlaps another stream's (the server refuses it)."""
    for i, first in enumerate(STREAMS):
        for second in STREAMS[i + 1 :]:
            for a in first.subjects:
                for b in second.subjects:
                    assert not _overlap(a, b), (first.name, a, second.name, b)


def test_stream_names_are_unique_and_deduplicate() -> None:
    """Stream names are distinct and every stream deduplicates retried publishes."""
    assert len({s.name for s in STREAMS}) == len(STREAMS)
    assert all(s.duplicate_window_seconds >= 60 for s in STREAMS)
    assert METRICS.max_age_seconds == 7 * 86_400
    assert METRICS.storage == "file"
    assert METRICS.retention == "limits"
    assert COMMAND_RESULTS.subjects == ("commands.result.>", "commands.status.>")
    assert COMMANDS.subjects == ("commands.dispatch.>",)
    assert DEADLETTER.subjects == ("deadletter.>",)


def test_replicas_and_test_prefixes_apply_to_every_stream() -> None:
    """stream_specs sets replicas and prefixes names and subjects, leaving the rest alone."""
    specs = stream_specs(replicas=3, prefix="T1_", subject_prefix="t1")
    assert [s.name for s in specs] == [f"T1_{s.name}" for s in STREAMS]
    assert all(s.replicas == 3 for s in specs)
    assert specs[0].subjects == ("t1.metrics.raw.>",)
    assert _streams_for("t1." + subjects.metrics_raw("web-01"), specs) == ["T1_METRICS"]
    assert _streams_for(subjects.metrics_raw("web-01"), specs) == []
    assert stream_specs(subject_prefix="t1.") == stream_specs(subject_prefix="t1")
    assert stream_specs() == STREAMS


@pytest.mark.parametrize(
    "kwargs",
    [{"replicas": 0}, {"prefix": "T.1_"}, {"prefix": "T 1"}, {"subject_prefix": "t*"}],
)
def test_stream_specs_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    """A replica count below 1 or a prefix that would break names or subjects is refused."""
    with pytest.raises(ValueError, match=r"replicas must be|invalid"):
        stream_specs(**kwargs)  # type: ignore[arg-type]


def test_consumer_names_are_the_services() -> None:
    """Durable consumers are named after the consuming services."""
    assert (CONSUMER_TWIN, CONSUMER_ALERTS, CONSUMER_HISTORY) == ("twin", "alerts", "history")
