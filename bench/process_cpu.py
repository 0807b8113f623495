"""CPU seconds used by a bench and the processes it started, summed per part of the stack."""

from collections.abc import Mapping, Sequence

import psutil

SERVERS = frozenset({"nats-server", "postgres"})
# The default stack's processes (`mirror-stage up`), each by a marker in its command line.
STACK_PARTS: Sequence[tuple[str, str]] = (
    ("commands", "mirror_commands"),
    ("twin", "mirror_twin"),
    ("ingest", "mirror_ingest"),
    ("alerts", "mirror_alerts"),
    ("agent", "mirror_agent"),
    ("nats", "nats-server"),
    ("postgres", "postgres"),
)


def cpu_by_part(parts: Sequence[tuple[str, str]]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by this process, as "bench", and by its children.

    ``parts`` are (name, marker) pairs: a child counts towards the first part whose marker is
    in its command line; a child matching none is left out. The servers go by their
    executable's name: a PostgreSQL backend's title names the role it serves (`postgres:
    mirror_ingest ...`), which would count the database's work as the service's.
    """
    own = psutil.Process().cpu_times()
    used = {"bench": own.user + own.system}
    for child in psutil.Process().children(recursive=True):
        try:
            executable = child.name()
            line = executable if executable in SERVERS else " ".join(child.cmdline())
            times = child.cpu_times()
        except psutil.Error:
            continue  # ended meanwhile
        for name, marker in parts:
            if marker in line:
                used[name] = used.get(name, 0.0) + times.user + times.system
                break
    return used


def cpu_report(
    parts: Sequence[tuple[str, str]],
    before: Mapping[str, float],
    after: Mapping[str, float],
    wall: float,
    during: str = "the phase",
) -> str:
    """Each part's share of one core over `wall` seconds (200 % = both cores of this machine),
    in the order of `parts`, then any other measured ("wrk"), then the bench itself."""
    named = [name for name, _ in parts]
    names = [*named, *(n for n in after if n not in named and n != "bench"), "bench"]
    shares = [
        f"{name} {100 * (after[name] - before.get(name, 0.0)) / wall:.0f}%"
        for name in names
        if name in after
    ]
    return f"CPU over {during} (100% = one core): " + ", ".join(shares)
