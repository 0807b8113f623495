"""Picking ports for servers: never one a client connection can take before the server binds."""

import socket

import pytest

from loopback_ports import _BLOCK_START, BLOCK_SIZE
from loopback_ports import free_port as worker_port
from mirror_stage.ports import STACK_PORTS, ephemeral_ports, free_port, port_is_free


def test_the_stack_picks_a_free_port_below_the_ephemeral_range() -> None:
    ephemeral = ephemeral_ports()
    picks = {free_port() for _ in range(20)}
    assert all(port in STACK_PORTS and port not in ephemeral for port in picks), picks
    assert all(port_is_free(port) for port in picks)


def test_a_taken_port_is_passed_over() -> None:
    port = worker_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert not port_is_free(port)
        # The only candidate is taken: the kernel's pick, free but from the ephemeral range.
        fallback = free_port(among=range(port, port + 1))
    assert fallback != port
    assert fallback in ephemeral_ports()


def test_a_test_worker_counts_through_its_own_block() -> None:
    block = range(_BLOCK_START, _BLOCK_START + BLOCK_SIZE)
    picks = [worker_port() for _ in range(5)]
    assert all(port in block for port in picks), picks
    assert len(set(picks)) == 5


def test_a_port_whose_connections_linger_in_time_wait_is_free() -> None:
    """After a stop, connections the servers closed sit in TIME_WAIT for a minute. The servers
    bind with SO_REUSEADDR and would listen again at once; so must the check allow it."""
    port = worker_port()
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server closes first: its side of the port goes to TIME_WAIT
        client.recv(1)
        client.close()
    with socket.socket() as plain, pytest.raises(OSError, match="in use"):
        plain.bind(("127.0.0.1", port))  # the lingering connection is there
    assert port_is_free(port)
    with socket.socket() as server:  # and a server binding as the servers do gets it
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
