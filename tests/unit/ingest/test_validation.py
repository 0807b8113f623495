"""validate_batch(): what the ingest accepts, and how it names what it refuses."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mirror_ingest.errors import BatchRejectedError
from mirror_ingest.validation import validate_batch
from mirror_schema import codec

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "original-agent-payload.json"
# A minute after the reference payload was taken, so that it is neither old nor in the future.
NOW = datetime(2026, 11, 21, 22, 39, 23, tzinfo=UTC)
MAX_AGE = 7 * 86_400.0


def reference() -> dict[str, Any]:
    sample: dict[str, Any] = json.loads(REFERENCE.read_bytes())
    return sample


def batch(*samples: dict[str, Any]) -> bytes:
    return json.dumps({"samples": list(samples)}).encode()


def validate(body: bytes, *, max_samples: int = 1000) -> list[Any]:
    return list(
        validate_batch(
            body, now=NOW, max_samples=max_samples, max_future_seconds=300, max_age_seconds=MAX_AGE
        )
    )


def rejected(body: bytes, *, max_samples: int = 1000) -> BatchRejectedError:
    with pytest.raises(BatchRejectedError) as caught:
        validate(body, max_samples=max_samples)
    return caught.value


def test_the_original_agents_payload_is_accepted_unchanged() -> None:
    """The original agent's sample passes as is: host id derived from hostname, ts-based id."""
    body = b'{"samples": [' + REFERENCE.read_bytes() + b"]}"
    [accepted] = validate(body)
    assert accepted.host_id == "vm"
    assert accepted.subject == "metrics.raw.vm"
    assert accepted.msg_id == "vm:ts:1795300703200069"
    published = codec.decode_sample(accepted.payload)
    assert published.host_id == "vm"
    assert published.hostname == "vm"
    assert published == codec.decode_sample(json.dumps({**reference(), "host_id": "vm"}).encode())


def test_a_sample_with_boot_id_and_seq_keeps_the_agents_message_id() -> None:
    """boot_id + seq give <host>:<boot>:<seq>, and an explicit host_id wins over the hostname."""
    sample = {**reference(), "host_id": "rack-7", "boot_id": "b00t", "seq": 42}
    [accepted] = validate(batch(sample))
    assert accepted.host_id == "rack-7"
    assert accepted.subject == "metrics.raw.rack-7"
    assert accepted.msg_id == "rack-7:b00t:42"


def test_a_sample_with_only_one_of_boot_id_and_seq_gets_a_timestamp_id() -> None:
    """Without both boot_id and seq the id falls back to the timestamp in microseconds."""
    [accepted] = validate(batch({**reference(), "seq": 3}))
    assert accepted.msg_id == "vm:ts:1795300703200069"


def test_samples_keep_their_order_and_hosts() -> None:
    """Each sample is routed to its own host's subject, in the batch's order."""
    samples = [{**reference(), "hostname": f"Web-{n}.example.COM"} for n in range(3)]
    accepted = validate(batch(*samples))
    assert [a.host_id for a in accepted] == [f"web-{n}-example-com" for n in range(3)]


def test_a_missing_hostname_names_the_sample_and_field() -> None:
    """A sample without hostname: 422 naming samples[0].hostname."""
    sample = reference()
    del sample["hostname"]
    error = rejected(batch(sample))
    assert (error.status, error.reason) == (422, "invalid_sample")
    assert error.detail == "samples[0].hostname: Object missing required field `hostname`"


def test_an_out_of_range_value_names_the_index_and_keeps_msgspecs_text() -> None:
    """cpu_load 250 in the fourth sample: 'samples[3].cpu_load: Expected `float` <= 100.0'."""
    samples = [reference()] * 3 + [{**reference(), "cpu_load": 250}]
    error = rejected(batch(*samples))
    assert error.status == 422
    assert error.detail == "samples[3].cpu_load: Expected `float` <= 100.0"


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"cpu_load": "high"}, "samples[0].cpu_load", "Expected `float`, got `str`"),
        ({"hostname": 7}, "samples[0].hostname", "Expected `str`, got `int`"),
        ({"disks": {}}, "samples[0].disks", "Expected `array`, got `object`"),
        ({"timestamp": "yesterday"}, "samples[0].timestamp", "Invalid RFC3339"),
        ({"timestamp": "2026-11-21T22:38:23"}, "samples[0].timestamp", "timezone"),
        ({"tags": {"a": 1}}, "samples[0].tags[...]", "Expected `str`, got `int`"),
        ({"host_id": "Not Valid"}, "samples[0].host_id", "Expected `str` matching regex"),
    ],
)
def test_wrong_types_name_the_field(change: dict[str, Any], field: str, expected: str) -> None:
    """A field of the wrong type or shape is refused with its path and msgspec's message."""
    error = rejected(batch({**reference(), **change}))
    assert error.status == 422
    assert error.detail.startswith(f"{field}: ")
    assert expected in error.detail


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"[]", "body: Expected `object`, got `array`"),
        (b"{}", "samples: Object missing required field `samples`"),
        (b'{"samples": 3}', "samples: Expected `array`, got `int`"),
    ],
)
def test_json_that_is_not_a_batch_is_refused(body: bytes, detail: str) -> None:
    """Valid JSON of the wrong shape: 422 naming where it differs from {"samples": [...]}."""
    error = rejected(body)
    assert (error.status, error.reason, error.detail) == (422, "invalid_batch", detail)


def test_an_empty_list_is_refused() -> None:
    """An empty batch is a client bug, not a success: 422."""
    error = rejected(b'{"samples": []}')
    assert (error.status, error.reason) == (422, "empty")
    assert error.detail.startswith("samples: ")


@pytest.mark.parametrize("body", [b"", b"not json", b"\xff\xfe{", b'{"samples": [] } trailing'])
def test_bytes_that_are_not_json_get_400(body: bytes) -> None:
    """Not JSON at all: 400 'body is not JSON: ...' with msgspec's reason."""
    error = rejected(body)
    assert (error.status, error.reason) == (400, "invalid_json")
    assert error.detail.startswith("body is not JSON: ")


def test_too_many_samples_get_413_naming_the_limit() -> None:
    """More samples than the limit: 413 naming the count and the limit, before validating them."""
    body = json.dumps({"samples": [{"not": "a sample"}] * 11}).encode()
    error = rejected(body, max_samples=10)
    assert (error.status, error.reason) == (413, "too_many_samples")
    assert "11 samples" in error.detail
    assert "limit of 10" in error.detail
    assert len(validate(batch(*[reference()] * 10), max_samples=10)) == 10


def test_a_timestamp_too_far_ahead_names_the_index_and_bound() -> None:
    """Over 300 s in the future: 422 naming samples[1].timestamp and the 300 s bound."""
    ahead = (NOW + timedelta(seconds=301)).isoformat()
    error = rejected(batch(reference(), {**reference(), "timestamp": ahead}))
    assert (error.status, error.reason) == (422, "future_timestamp")
    assert error.detail.startswith("samples[1].timestamp: ")
    assert "at most 300 s ahead" in error.detail
    just_in = (NOW + timedelta(seconds=299)).isoformat()
    assert validate(batch({**reference(), "timestamp": just_in}))


def test_a_timestamp_too_old_names_the_index_and_bound() -> None:
    """Older than max_age_seconds: 422 naming samples[0].timestamp and the bound."""
    old = (NOW - timedelta(seconds=MAX_AGE + 1)).isoformat()
    error = rejected(batch({**reference(), "timestamp": old}))
    assert (error.status, error.reason) == (422, "too_old")
    assert error.detail.startswith("samples[0].timestamp: ")
    assert "at most 604800 s old" in error.detail


def test_a_timestamp_in_another_zone_is_compared_as_an_instant() -> None:
    """+02:00 is two hours earlier in UTC: the same instant as NOW is accepted."""
    local = NOW.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00"
    shifted = (NOW + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
    assert validate(batch({**reference(), "timestamp": local}))
    assert validate(batch({**reference(), "timestamp": shifted}))


def test_a_hostname_with_no_usable_character_is_refused() -> None:
    """No host id can be derived from '...': 422 naming samples[0].hostname."""
    error = rejected(batch({**reference(), "hostname": "..."}))
    assert (error.status, error.reason) == (422, "invalid_host")
    assert error.detail.startswith("samples[0].hostname: ")


def test_a_boot_id_with_control_characters_cannot_forge_headers() -> None:
    """boot_id ends up in the Nats-Msg-Id header: a CR/LF in it is refused, naming the field."""
    sample = {**reference(), "boot_id": "b\r\nNats-Expected-Stream: X", "seq": 1}
    error = rejected(batch(sample))
    assert (error.status, error.reason) == (422, "invalid_sample")
    assert error.detail.startswith("samples[0].boot_id: ")
