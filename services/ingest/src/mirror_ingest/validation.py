"""validate_batch(): turn a POST /api/metrics/batch body into samples to publish, or refuse it.

Status codes, one per kind of problem, each with a ``reason`` label for the REJECTED counter:

- 400 ``invalid_json``: the body is not JSON at all (a syntax problem, not a schema one).
- 422 ``invalid_batch``: JSON, but not ``{"samples": [...]}`` (or nested absurdly deep).
- 422 ``invalid_sample``: a sample breaks the schema; the detail names ``samples[i].<field>``.
- 422 ``empty``: ``samples`` is an empty list.
- 413 ``too_many_samples``: more samples than the limit; the same class as a body that is too
  large, and the client's fix is the same (split the batch).
- 422 ``future_timestamp`` / ``too_old``: a timestamp outside the accepted window.
- 422 ``invalid_host``: no host id can be derived from the sample's hostname.

Message ids (``Nats-Msg-Id``): ``<host>:<boot id>:<seq>`` when the sample carries both
``boot_id`` and ``seq`` (docs/design/contracts.md); otherwise ``<host>:ts:<timestamp in microseconds
since the Unix epoch>``, so a retried batch from the original agent (which sends neither) is
deduplicated too, and two readings of one host at the same microsecond count as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec

from mirror_ingest.errors import BatchRejectedError
from mirror_schema import codec, subjects
from mirror_schema.hosts import host_id_from_hostname
from mirror_schema.samples import MetricSample, decode_batch

__all__ = [
    "AcceptedSample",
    "sample_msg_id",
    "validate_batch",
]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
# msgspec's error text ends with " - at `$.samples[3].cpu_load`" when it knows where.
_AT_PATH: Final = re.compile(r"^(?P<message>.*) - at `\$(?P<path>[^`]*)`$", re.DOTALL)
_MISSING_FIELD: Final = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptedSample:
    """One valid sample, with where and under which id to publish it."""

    host_id: str
    subject: str
    msg_id: str
    payload: bytes  # the sample as JSON, host_id filled in


class _Envelope(msgspec.Struct, frozen=True):
    # Counting the samples before validating them: a huge batch is refused as huge, cheaply.
    samples: list[msgspec.Raw]


_decode_envelope: Final = msgspec.json.Decoder(_Envelope).decode


def validate_batch(
    body: bytes,
    *,
    now: datetime,
    max_samples: int,
    max_future_seconds: float,
    max_age_seconds: float,
) -> list[AcceptedSample]:
    """Decode and check a batch; return its samples in order, or raise BatchRejectedError."""
    try:
        envelope = _decode_envelope(body)
    except msgspec.DecodeError as exc:
        if isinstance(exc, msgspec.ValidationError):
            raise _invalid(exc, reason="invalid_batch") from None
        raise BatchRejectedError(
            400, f'body is not JSON: {exc}; send {{"samples": [...]}}', "invalid_json"
        ) from None
    except RecursionError:
        raise _too_deep() from None
    count = len(envelope.samples)
    if count == 0:
        raise BatchRejectedError(
            422, "samples: the list is empty; send at least one sample", "empty"
        )
    if count > max_samples:
        raise BatchRejectedError(
            413,
            f"samples: the batch has {count} samples, more than the limit of {max_samples} "
            "per batch; split it into smaller batches",
            "too_many_samples",
        )
    try:
        batch = decode_batch(body)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise _invalid(exc, reason="invalid_sample") from None
    except RecursionError:
        raise _too_deep() from None
    window = _Window(now=now, future_seconds=max_future_seconds, age_seconds=max_age_seconds)
    return [_accept(index, sample, window) for index, sample in enumerate(batch.samples)]


def sample_msg_id(sample: MetricSample, host_id: str) -> str:
    """The sample's Nats-Msg-Id: ``<host>:<boot>:<seq>``, else ``<host>:ts:<µs since epoch>``."""
    if sample.boot_id is not None and sample.seq is not None:
        return codec.sample_msg_id(host_id, sample.boot_id, sample.seq)
    return f"{host_id}:ts:{(sample.timestamp - _EPOCH) // _MICROSECOND}"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Window:
    now: datetime
    future_seconds: float
    age_seconds: float


def _accept(index: int, sample: MetricSample, window: _Window) -> AcceptedSample:
    where = f"samples[{index}]"
    offset = (sample.timestamp - window.now).total_seconds()
    if offset > window.future_seconds:
        raise BatchRejectedError(
            422,
            f"{where}.timestamp: {sample.timestamp.isoformat()} is {offset:.0f} s ahead of the "
            f"ingest's clock ({window.now.isoformat()}); at most {_n(window.future_seconds)} s "
            "ahead is accepted: check the host's clock (NTP)",
            "future_timestamp",
        )
    if -offset > window.age_seconds:
        raise BatchRejectedError(
            422,
            f"{where}.timestamp: {sample.timestamp.isoformat()} is {-offset:.0f} s old; at most "
            f"{_n(window.age_seconds)} s old is accepted (the METRICS stream would not keep it)",
            "too_old",
        )
    if sample.boot_id is not None and not sample.boot_id.isprintable():
        # It becomes a NATS header value: a CR/LF in it would forge headers of its own.
        raise BatchRejectedError(
            422,
            f"{where}.boot_id: {sample.boot_id!r} has control characters; use printable text "
            "such as a UUID",
            "invalid_sample",
        )
    host_id = sample.host_id
    if host_id is None:
        try:
            host_id = host_id_from_hostname(sample.hostname)
        except ValueError as exc:
            raise BatchRejectedError(422, f"{where}.hostname: {exc}", "invalid_host") from None
        sample = msgspec.structs.replace(sample, host_id=host_id)
    return AcceptedSample(
        host_id=host_id,
        subject=subjects.metrics_raw(host_id),
        msg_id=sample_msg_id(sample, host_id),
        payload=codec.encode(sample),
    )


def _n(seconds: float) -> str:
    return f"{seconds:.0f}" if float(seconds).is_integer() else f"{seconds}"


def _too_deep() -> BatchRejectedError:
    # msgspec raises RecursionError on absurd nesting ("[[[[..."); a batch is a few levels deep.
    return BatchRejectedError(
        422, "body: JSON nested too deeply to be a batch of samples", "invalid_batch"
    )


def _invalid(exc: msgspec.DecodeError, *, reason: str) -> BatchRejectedError:
    """422 whose detail starts with the JSON path msgspec reported, e.g. ``samples[3].cpu_load``."""
    text = str(exc)
    path = ""
    matched = _AT_PATH.match(text)
    if matched is not None:
        text, path = matched["message"], matched["path"]
    missing = _MISSING_FIELD.match(text)
    if missing is not None:
        path = f"{path}.{missing['field']}"
    field = path.removeprefix(".") or "body"
    return BatchRejectedError(422, f"{field}: {text}", reason)
