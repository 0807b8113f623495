"""Ports for the servers the tests start, each pytest worker from its own block.

`mirror_stage.ports.free_port` picks outside the kernel's ephemeral range (no client connection
can take the port before the server binds it) but at random, so two workers could pick the same
port in the same moment. Here each worker counts through its own block of 10000-19999, which
`mirror-stage up` never uses, and skips a port still bound.
"""

import itertools
import os
import random

from mirror_stage.ports import port_is_free

TEST_PORTS = range(10000, 20000)
BLOCKS = 10  # pytest-xdist workers gw0..gw9 each own one; more wrap around
BLOCK_SIZE = len(TEST_PORTS) // BLOCKS


def worker_number() -> int:
    """This pytest-xdist worker's number (0 without xdist)."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = name.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


_BLOCK_START = TEST_PORTS.start + (worker_number() % BLOCKS) * BLOCK_SIZE
_NEXT = itertools.count(random.randrange(BLOCK_SIZE))


def free_port(host: str = "127.0.0.1") -> int:
    """The next port of this worker's block that nothing is bound to (the caller binds it soon
    after); a block is long enough that a port comes round again only long after its test."""
    for _ in range(BLOCK_SIZE):
        port = _BLOCK_START + next(_NEXT) % BLOCK_SIZE
        if port_is_free(port, host):
            return port
    raise RuntimeError(f"no free port in {_BLOCK_START}-{_BLOCK_START + BLOCK_SIZE - 1}")
