"""History queries without I/O: parameters, the step a range gets, and chart-ready points
(the reply's Structs are the contract in mirror_schema.history)."""

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec

from mirror_ingest.store import RawRecord, RollupRecord
from mirror_ingest.writing.rows import counter_rate
from mirror_schema.errors import SchemaError
from mirror_schema.history import (
    STEPS,
    GpuPoint,
    GpuRollup,
    InterfaceRollup,
    InterfaceThroughput,
    RawPoint,
    RollupPoint,
    Step,
)
from mirror_schema.hosts import validate_host_id

STEP_SECONDS: Final = {"1m": 60.0, "1h": 3600.0}
# Ranges up to these lengths get raw rows, then 1 m rollups; longer ones 1 h rollups. At one
# sample per 5 s, 2 h is 1,440 raw points; 3 days of minutes is 4,320 points; 400 days of
# hours (the 1 h retention) is 9,600 points: every automatic choice stays under MAX_POINTS.
RAW_UP_TO: Final = timedelta(hours=2)
MINUTES_UP_TO: Final = timedelta(days=3)
DEFAULT_RANGE: Final = timedelta(hours=1)
MAX_POINTS: Final = 10_000


class QueryError(ValueError):
    """A history query parameter that cannot be used; names the parameter."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        super().__init__(f"{param}: {message}")


class HistoryQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A validated GET /api/metrics/history query."""

    host: str
    since: datetime
    until: datetime
    step: Step


class _IfStats(msgspec.Struct, frozen=True):
    rx: float | None = None
    rx_max: float | None = None
    tx: float | None = None
    tx_max: float | None = None


class _TempStats(msgspec.Struct, frozen=True):
    avg: float | None = None
    max: float | None = None


class _GpuStats(msgspec.Struct, frozen=True):
    util: float | None = None
    util_max: float | None = None
    mem: float | None = None
    mem_max: float | None = None
    temp: float | None = None
    temp_max: float | None = None


_decode_ifs = msgspec.json.Decoder(dict[str, _IfStats]).decode
_decode_disks = msgspec.json.Decoder(dict[str, float]).decode
_decode_temps = msgspec.json.Decoder(dict[str, _TempStats]).decode
_decode_gpus = msgspec.json.Decoder(dict[str, _GpuStats]).decode


def choose_step(since: datetime, until: datetime) -> Step:
    """raw up to 2 hours, 1m up to 3 days, 1h beyond."""
    span = until - since
    if span <= RAW_UP_TO:
        return "raw"
    if span <= MINUTES_UP_TO:
        return "1m"
    return "1h"


def parse_time(param: str, value: str) -> datetime:
    """An ISO 8601 timestamp; one without a zone is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            param, f"{value!r} is not an ISO 8601 timestamp (e.g. 2026-01-15T10:00:00Z)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_query(
    host: str | None, since: str | None, until: str | None, step: str | None, now: datetime
) -> HistoryQuery:
    """Validate the query parameters; until defaults to now, since to an hour before until."""
    if not host:
        raise QueryError("host", "required: the host id whose history to return")
    try:
        validate_host_id(host)
    except SchemaError as exc:
        raise QueryError("host", str(exc)) from None
    end = parse_time("until", until) if until else now
    start = parse_time("since", since) if since else end - DEFAULT_RANGE
    if start >= end:
        raise QueryError("since", f"{start.isoformat()} is not before until ({end.isoformat()})")
    if step is None or step == "":
        chosen = choose_step(start, end)
    elif step in STEPS:
        chosen = step  # type: ignore[assignment]  # narrowed by the membership test
    else:
        raise QueryError("step", f"{step!r} is not one of {', '.join(STEPS)} (or leave it out)")
    if chosen != "raw":
        points = math.ceil((end - start).total_seconds() / STEP_SECONDS[chosen])
        if points > MAX_POINTS:
            raise QueryError(
                "step" if step else "since",
                f"{points} points of {chosen} from {start.isoformat()} to {end.isoformat()} "
                f"exceed the limit of {MAX_POINTS}; use a coarser step or a shorter range",
            )
    return HistoryQuery(host=host, since=start, until=end, step=chosen)


def _round(value: float | None) -> float | None:
    # Percentages are stored as float4: 12.3 reads back as 12.300000190734863.
    return None if value is None else round(value, 3)


def raw_points(records: Sequence[RawRecord], since: datetime) -> list[RawPoint]:
    """Points from raw rows in time order; a row before `since` only provides the first rates."""
    points: list[RawPoint] = []
    previous: RawRecord | None = None
    for record in records:
        if record.ts >= since:
            points.append(_raw_point(record, previous))
        previous = record
    return points


def _raw_point(record: RawRecord, previous: RawRecord | None) -> RawPoint:
    seconds = None if previous is None else (record.ts - previous.ts).total_seconds()
    before: dict[str, tuple[int, int]] = {}
    if previous is not None and previous.if_names:
        before = dict(
            zip(
                previous.if_names,
                zip(previous.if_sent or [], previous.if_recv or [], strict=False),
                strict=False,
            )
        )
    prev_rx = None if previous is None else previous.net_bytes_rx
    prev_tx = None if previous is None else previous.net_bytes_tx
    interfaces = {}
    for name, sent, recv in zip(
        record.if_names or [], record.if_sent or [], record.if_recv or [], strict=False
    ):
        prev_sent, prev_recv = before.get(name, (None, None))
        interfaces[name] = InterfaceThroughput(
            rx_bytes_per_s=_round(counter_rate(prev_recv, recv, seconds)),
            tx_bytes_per_s=_round(counter_rate(prev_sent, sent, seconds)),
        )
    return RawPoint(
        timestamp=record.ts,
        cpu_load=round(record.cpu_load, 3),
        memory_used_percent=_round(record.memory_used_percent),
        swap_used_percent=_round(record.swap_used_percent),
        load_average=_round(record.load_average),
        net_rx_bytes_per_s=_round(counter_rate(prev_rx, record.net_bytes_rx, seconds)),
        net_tx_bytes_per_s=_round(counter_rate(prev_tx, record.net_bytes_tx, seconds)),
        interfaces=interfaces,
        disks={
            m: round(u, 3)
            for m, u in zip(record.disk_mounts or [], record.disk_used_percent or [], strict=False)
        },
        temperatures={
            s: round(c, 3)
            for s, c in zip(record.temp_names or [], record.temp_celsius or [], strict=False)
        },
        cpu_per_core=[round(c, 3) for c in record.cpu_per_core or []],
        gpus=_raw_gpus(record),
    )


def _raw_gpus(record: RawRecord) -> dict[str, GpuPoint]:
    ids = record.gpu_ids or []
    count = len(ids)
    utilization = _padded(record.gpu_utilization, count)
    memory = _padded(record.gpu_memory_percent, count)
    temperature = _padded(record.gpu_temperature, count)
    return {
        gpu: GpuPoint(
            utilization_percent=_round(utilization[n]),
            memory_used_percent=_round(memory[n]),
            temperature_celsius=_round(temperature[n]),
        )
        for n, gpu in enumerate(ids)
    }


def _padded(values: Sequence[float | None] | None, count: int) -> list[float | None]:
    """`values` as a list of exactly `count` entries (the arrays of one row are parallel)."""
    out = list(values or [])[:count]
    return out + [None] * (count - len(out))


def rollup_points(records: Sequence[RollupRecord]) -> list[RollupPoint]:
    """Points from 1 m or 1 h rollup rows."""
    points = []
    for r in records:
        ifs = _decode_ifs(r.interfaces) if r.interfaces else {}
        disks = _decode_disks(r.disks) if r.disks else {}
        temps = _decode_temps(r.temperatures) if r.temperatures else {}
        gpus = _decode_gpus(r.gpus) if r.gpus else {}
        points.append(
            RollupPoint(
                timestamp=r.bucket,
                samples=r.samples,
                cpu_load=round(r.cpu_load_avg, 3),
                cpu_load_max=round(r.cpu_load_max, 3),
                memory_used_percent=_round(r.memory_used_percent_avg),
                memory_used_percent_max=_round(r.memory_used_percent_max),
                swap_used_percent=_round(r.swap_used_percent_avg),
                swap_used_percent_max=_round(r.swap_used_percent_max),
                load_average=_round(r.load_average_avg),
                load_average_max=_round(r.load_average_max),
                net_rx_bytes_per_s=_round(r.net_rx_bytes_per_s_avg),
                net_rx_bytes_per_s_max=_round(r.net_rx_bytes_per_s_max),
                net_tx_bytes_per_s=_round(r.net_tx_bytes_per_s_avg),
                net_tx_bytes_per_s_max=_round(r.net_tx_bytes_per_s_max),
                interfaces={
                    name: InterfaceRollup(
                        rx_bytes_per_s=_round(s.rx),
                        rx_bytes_per_s_max=_round(s.rx_max),
                        tx_bytes_per_s=_round(s.tx),
                        tx_bytes_per_s_max=_round(s.tx_max),
                    )
                    for name, s in ifs.items()
                },
                disks={m: round(u, 3) for m, u in disks.items()},
                temperatures={k: round(t.avg, 3) for k, t in temps.items() if t.avg is not None},
                temperatures_max={
                    k: round(t.max, 3) for k, t in temps.items() if t.max is not None
                },
                cpu_per_core=[_round(c) for c in r.cpu_per_core_avg or []],
                cpu_per_core_max=[_round(c) for c in r.cpu_per_core_max or []],
                gpus={
                    gpu: GpuRollup(
                        utilization_percent=_round(g.util),
                        utilization_percent_max=_round(g.util_max),
                        memory_used_percent=_round(g.mem),
                        memory_used_percent_max=_round(g.mem_max),
                        temperature_celsius=_round(g.temp),
                        temperature_celsius_max=_round(g.temp_max),
                    )
                    for gpu, g in gpus.items()
                },
            )
        )
    return points
