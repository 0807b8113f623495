"""The alerts evaluator in-process: samples/s with 50 rules over a simulated fleet, one core.

    .venv/bin/python bench/bench_alerts_evaluator.py [--hosts 10000] [--ticks 6]

The 7 default rules plus 43 more over every metric (some scoped by tag or by a list of hosts,
`for` of 0, 10 or 30 s, hysteresis at 90% of the threshold), fed every host's samples tick by
tick, with an offline sweep per tick. Prints samples/s, the time one sample takes when it fires
an alert, and how many alerts are open. The service around it (NATS, PostgreSQL, publishing)
is not measured here. Asserts nothing.
"""

import argparse
import time
from datetime import UTC, datetime

from mirror_agent.simulated_fleet import SimulatedFleet
from mirror_alerts.defaults import default_rules
from mirror_alerts.evaluation.evaluator import Evaluator
from mirror_alerts.rules import Rule, Scope, ThresholdRule
from mirror_schema.samples import MetricSample

RULES = 50
INTERVAL = 5.0
# (metric, lowest threshold, highest threshold) for the generated rules.
METRICS = [
    ("cpu_load", 50, 100),
    ("memory_used_percent", 50, 100),
    ("swap_used_percent", 1, 100),
    ("load_average", 1, 64),
    ("disk.used_percent", 50, 100),
    ("temperature", 40, 100),
    ("interface.utilization", 10, 100),
    ("gpu.utilization_percent", 50, 100),
    ("gpu.temperature_celsius", 40, 100),
]


def fifty_rules(hosts: int) -> list[Rule]:
    """The defaults, then generated threshold rules up to RULES."""
    rules: list[Rule] = list(default_rules())
    n = 0
    while len(rules) < RULES:
        metric, low, high = METRICS[n % len(METRICS)]
        threshold = low + (high - low) * ((n * 37) % 100) / 100
        scope = Scope()
        if n % 5 == 3:
            scope = Scope(tags={"tier": ("web", "db", "app")[n % 3]})
        elif n % 7 == 4:
            scope = Scope(host_ids=[f"sim-{i:04d}" for i in range(n, hosts, 97)])
        rules.append(
            ThresholdRule(
                id=f"r{n}",
                name=f"rule {n}",
                metric=metric,
                operator=">=",
                threshold=threshold,
                clear_threshold=threshold * 0.9,
                for_seconds=(0, 10, 30)[n % 3],
                scope=scope,
            )
        )
        n += 1
    return rules


def measure(hosts: int, ticks: int) -> None:
    fleet = SimulatedFleet(hosts, seed=7)
    start = time.time() - ticks * INTERVAL
    samples: list[list[MetricSample]] = [fleet.tick(start + INTERVAL * k) for k in range(ticks)]
    evaluator = Evaluator(fifty_rules(hosts))
    for sample in samples[0]:  # every host's first sample: no rates yet
        evaluator.observe(sample, sample.timestamp)
    count = changes = 0
    firing_times: list[float] = []
    began = time.perf_counter()
    for batch in samples[1:]:
        now = datetime.fromtimestamp(batch[0].timestamp.timestamp(), UTC)
        for sample in batch:
            before = time.perf_counter()
            fired = evaluator.observe(sample, now)
            if any(change.kind == "fired" for change in fired):
                firing_times.append(time.perf_counter() - before)
            changes += len(fired)
        count += len(batch)
        changes += len(evaluator.sweep(now))
    elapsed = time.perf_counter() - began
    firing_times.sort()
    print(
        f"{hosts:,} hosts, {len(evaluator.rules)} rules, {count:,} samples over {ticks - 1} ticks"
    )
    print(
        f"  {count / elapsed:,.0f} samples/s on one core ({elapsed * 1e6 / count:.1f} µs a sample)"
    )
    if firing_times:
        p50 = firing_times[len(firing_times) // 2] * 1e6
        p99 = firing_times[int(len(firing_times) * 0.99)] * 1e6
        print(f"  a sample that fires an alert: p50 {p50:.0f} µs, p99 {p99:.0f} µs")
    print(f"  {changes:,} changes, {len(evaluator.open_alerts()):,} alerts open")
    print("  target: at least 10,000 samples/s on one core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=6)
    args = parser.parse_args()
    measure(args.hosts, args.ticks)


if __name__ == "__main__":
    main()
