"""Free TCP ports on the loopback interface.

A port is picked, then bound a moment later by another process. The kernel's own pick
(binding port 0) comes from the ephemeral range, the same range every outgoing connection
takes its local port from: on a busy machine a client's connection can take the port in that
moment, and the server then fails with "address already in use". The ports picked here lie
below the ephemeral range, where only a listener that asks for a port by number can be.
"""

import secrets
import socket
from pathlib import Path

# Where `mirror-stage up` puts the parts it numbers itself (PostgreSQL, a cluster's extra nodes
# and routes). The test suite picks its own from 10000-19999 (tests/loopback_ports.py).
STACK_PORTS = range(20000, 32768)
LINUX_EPHEMERAL = range(32768, 61000)


def ephemeral_ports() -> range:
    """The ports the kernel hands to outgoing connections (Linux's setting, or its default)."""
    try:
        low, high = (
            int(part) for part in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        )
    except (OSError, ValueError):
        return LINUX_EPHEMERAL
    return range(low, high + 1)


def free_port(host: str = "127.0.0.1", among: range = STACK_PORTS) -> int:
    """A port in `among`, outside the ephemeral range, that nothing listens on right now (the
    caller binds it soon after); the kernel's pick when `among` has none."""
    ephemeral = ephemeral_ports()
    start = secrets.randbelow(len(among))
    for step in range(min(len(among), 500)):
        port = among[(start + step) % len(among)]
        if port not in ephemeral and port_is_free(port, host):
            return port
    return kernel_pick(host)


def kernel_pick(host: str = "127.0.0.1") -> int:
    """A port the kernel chooses: free now, but from the ephemeral range."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server can listen on `port` at `host` now.

    Bound as the servers bind (uvicorn, nats-server and PostgreSQL all set SO_REUSEADDR): a
    port whose last connections linger in TIME_WAIT after a stop is free to them, and to this
    check, so a stack can start again at once.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
