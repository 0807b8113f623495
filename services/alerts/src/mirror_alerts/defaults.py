"""The rules every installation starts with, carrying the original product's thresholds.

Sources: the original MIRROR STAGE backend, ``ego/backend/src/alerts/alerts.service.ts``
(``evaluateSample``, ``handleThreshold``, ``handleThroughput``):

- CPU: ``cpu_load >= 80`` fires, ``<= 70`` clears, warning.
- memory: ``memory_used_percent >= 90`` fires, ``<= 80`` clears, warning.
- temperature: ``gpu_temperature >= 80`` fires, ``<= 70`` clears, warning. The original had one
  GPU temperature per host; here it applies to each GPU, and the same 80/70 is extended to
  every temperature sensor (the original had no sensor rule of its own).
- link congestion: ``throughput / capacity >= 0.9`` fires as warning, ``>= 1.0`` as critical,
  ``<= 0.7`` clears. Utilization is a percent here (see the catalogue), so 90/100/70.

Differences, on purpose: the original fired on a single sample (no ``for``), the most common
cause of alert storms; these rules wait ``for_seconds`` (ours: 60 s for load and links, 120 s
for memory and temperatures, which move slowly). Our clear is strict for ``>=`` (clears
below 70, the original at 70 or below): only a value of exactly 70 behaves differently.

Host offline is not in the original; 12 intervals matches the twin's ``StatusPolicy``
(``offline_after_intervals=12``), so the alert and the HUD call a host offline together.
"""

from __future__ import annotations

from mirror_alerts.rules import OfflineRule, Rule, ThresholdRule

__all__ = ["default_rules"]


def default_rules() -> list[Rule]:
    """Return the default rules, in a stable order."""
    return [
        ThresholdRule(
            id="default-cpu-high",
            name="CPU usage high",
            metric="cpu_load",
            operator=">=",
            threshold=80.0,
            clear_threshold=70.0,
            for_seconds=60.0,
            severity="warning",
        ),
        ThresholdRule(
            id="default-memory-high",
            name="Memory usage high",
            metric="memory_used_percent",
            operator=">=",
            threshold=90.0,
            clear_threshold=80.0,
            for_seconds=120.0,
            severity="warning",
        ),
        ThresholdRule(
            id="default-gpu-temperature-high",
            name="GPU temperature high",
            metric="gpu.temperature_celsius",
            operator=">=",
            threshold=80.0,
            clear_threshold=70.0,
            for_seconds=120.0,
            severity="warning",
        ),
        ThresholdRule(
            id="default-temperature-high",
            name="Temperature high",
            metric="temperature",
            operator=">=",
            threshold=80.0,
            clear_threshold=70.0,
            for_seconds=120.0,
            severity="warning",
        ),
        ThresholdRule(
            id="default-link-congested",
            name="Link congested",
            metric="interface.utilization",
            operator=">=",
            threshold=90.0,
            clear_threshold=70.0,
            for_seconds=60.0,
            severity="warning",
        ),
        ThresholdRule(
            id="default-link-saturated",
            name="Link saturated",
            metric="interface.utilization",
            operator=">=",
            threshold=100.0,
            clear_threshold=70.0,
            for_seconds=60.0,
            severity="critical",
        ),
        OfflineRule(
            id="default-host-offline",
            name="Host offline",
            after_intervals=12.0,
            severity="critical",
        ),
    ]
