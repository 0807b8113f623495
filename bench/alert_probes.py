"""The alert-delay probe the benches share: a threshold rule on hosts of the bench's own, and
the two samples, 6 s apart, on the second of which its `for` elapses."""

from datetime import UTC, datetime, timedelta

import msgspec

PROBE_RULE = {
    "kind": "threshold",
    "id": "bench-probe",
    "name": "probe: CPU above 90 % for 5 s",
    "metric": "cpu_load",
    "operator": ">",
    "threshold": 90.0,
    "clear_threshold": 80.0,
    "for_seconds": 5.0,
    "severity": "critical",
    "scope": {"tags": {"bench": "probe"}},
}


def probe_samples(host: str, interval: float) -> list[bytes]:
    """Two samples of `host` above the threshold, 6 s apart, the second stamped now."""
    now = datetime.now(UTC)
    return [
        msgspec.json.encode(
            {
                "hostname": host,
                "host_id": host,
                "timestamp": at.isoformat(),
                "interval_seconds": interval,
                "cpu_load": 95.0,
                "tags": {"bench": "probe"},
            }
        )
        for at in (now - timedelta(seconds=6), now)
    ]
