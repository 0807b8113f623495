"""CPU seconds used by a bench and the processes it started, summed per part of the stack."""

from collections.abc import Sequence

import psutil


def cpu_by_part(parts: Sequence[tuple[str, str]]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by this process, as "bench", and by its children.

    ``parts`` are (name, marker) pairs: a child counts towards the first part whose marker is
    in its command line; a child matching none is left out.
    """
    own = psutil.Process().cpu_times()
    used = {"bench": own.user + own.system}
    for child in psutil.Process().children(recursive=True):
        try:
            line = " ".join(child.cmdline())
            times = child.cpu_times()
        except psutil.Error:
            continue  # ended meanwhile
        for name, marker in parts:
            if marker in line:
                used[name] = used.get(name, 0.0) + times.user + times.system
                break
    return used
