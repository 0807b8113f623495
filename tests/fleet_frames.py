"""Frames of a racked fleet as the twin builds them, for the HUD's tests and benchmark to show
on a page that follows no twin (window.mirrorStage.showFrame)."""

import random
from datetime import UTC, datetime
from typing import Any

from mirror_twin.model.layout import group_of, layer_of, positions_on_layers

ROLES = ["app", "web", "db", "cache", "batch", "gateway", "firewall", "core", "sensor"]
HOSTS_PER_RACK = 20  # the first of each rack is its switch


def fleet_frame(count: int, seed: int = 7) -> dict[str, Any]:
    """A frame of `count` hosts with one link each, as the twin would send it."""
    rng = random.Random(seed)
    now = datetime.now(UTC).isoformat()
    racks = {f"h{i:05d}": f"r{i // HOSTS_PER_RACK:03d}" for i in range(count)}
    switches = {rack: host_id for host_id, rack in reversed(racks.items())}
    tags = {
        host_id: {"role": "switch" if switches[rack] == host_id else rng.choice(ROLES)}
        for host_id, rack in racks.items()
    }
    layers = {host_id: layer_of(t) for host_id, t in tags.items()}
    positions = positions_on_layers(
        (host_id, layer, group_of(tags[host_id], racks[host_id]))
        for host_id, layer in layers.items()
    )
    hosts = []
    links = []
    for host_id, layer in layers.items():
        position = positions[host_id]
        status = rng.choices(["online", "stale", "offline"], [0.94, 0.04, 0.02])[0]
        hosts.append(
            {
                "host_id": host_id,
                "hostname": f"{host_id}.bench",
                "status": status,
                "last_seen": now,
                "layer": layer,
                "position": {"x": position.x, "y": position.y, "z": position.z},
                "tags": tags[host_id],
                "rack": racks[host_id],
                "cpu_load": rng.uniform(0, 100),
                "memory_used_percent": rng.uniform(0, 100),
                "gpu_count": 0,
                "active_alerts": 1 if rng.random() < 0.02 else 0,
            }
        )
        uplink = switches[racks[host_id]]
        target = "hub" if uplink == host_id else uplink
        capacity = rng.choice([1e9, 1e10, 2.5e10])
        throughput = capacity * rng.uniform(0, 0.95)
        links.append(
            {
                "id": f"{host_id}->{target}",
                "source": host_id,
                "target": target,
                "interface": "eth0",
                "throughput_bits_per_s": throughput,
                "capacity_bits_per_s": capacity,
                "utilization": throughput / capacity,
            }
        )
    return {
        "type": "frame",
        "twin_id": "bench",
        "generated_at": now,
        "seq": 1,
        "hosts": hosts,
        "links": links,
    }
