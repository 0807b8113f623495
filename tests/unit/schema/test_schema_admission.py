"""admit_sample(): the subject's host is the sample's host; a forged or future sample is refused."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from mirror_schema.admission import SampleRefusedError, admit_sample

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _body(**fields: object) -> bytes:
    sample: dict[str, object] = {
        "hostname": "web-1",
        "timestamp": NOW.isoformat(),
        "cpu_load": 3.0,
    }
    return msgspec.json.encode(sample | fields)


def test_a_sample_on_its_own_subject_is_taken() -> None:
    sample = admit_sample("metrics.raw.web-1", _body(host_id="web-1"), received_at=NOW)
    assert sample.host_id == "web-1"


def test_the_host_comes_from_the_subject_when_the_payload_names_none() -> None:
    """The hostname is a label: an unnamed sample belongs to the subject's host, whatever the
    hostname would derive to."""
    sample = admit_sample("metrics.raw.web-1", _body(hostname="db-9"), received_at=NOW)
    assert sample.host_id == "web-1"
    assert sample.hostname == "db-9"


def test_a_payload_naming_another_host_is_refused() -> None:
    with pytest.raises(SampleRefusedError) as info:
        admit_sample("metrics.raw.web-1", _body(host_id="db-9"), received_at=NOW)
    assert info.value.reason == "host_mismatch"
    assert "'db-9'" in info.value.detail
    assert "metrics.raw.web-1" in info.value.detail


def test_a_sample_from_the_future_is_refused_against_the_servers_clock() -> None:
    ahead = NOW + timedelta(minutes=6)
    with pytest.raises(SampleRefusedError) as info:
        admit_sample("metrics.raw.web-1", _body(timestamp=ahead.isoformat()), received_at=NOW)
    assert info.value.reason == "future_timestamp"
    assert "360 s ahead" in info.value.detail
    # Within the window: taken (clocks drift a little).
    near = NOW + timedelta(minutes=4)
    admit_sample("metrics.raw.web-1", _body(timestamp=near.isoformat()), received_at=NOW)


def test_an_old_sample_is_not_refused_here() -> None:
    """A backlog replayed after an outage is old, not forged: each consumer decides on age."""
    old = NOW - timedelta(days=2)
    sample = admit_sample("metrics.raw.web-1", _body(timestamp=old.isoformat()), received_at=NOW)
    assert sample.timestamp == old


def test_a_malformed_sample_names_the_field() -> None:
    with pytest.raises(SampleRefusedError) as info:
        admit_sample("metrics.raw.web-1", _body(load_average=1e200), received_at=NOW)
    assert info.value.reason == "invalid_sample"
    assert "$.load_average" in info.value.detail


def test_a_subject_without_a_host_is_refused() -> None:
    with pytest.raises(SampleRefusedError) as info:
        admit_sample("metrics.raw", _body(), received_at=NOW)
    assert info.value.reason == "invalid_subject"


def test_a_test_prefix_is_taken_off_the_subject() -> None:
    sample = admit_sample("t1.metrics.raw.web-1", _body(), received_at=NOW, subject_prefix="t1")
    assert sample.host_id == "web-1"
