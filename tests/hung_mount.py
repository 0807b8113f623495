"""A real hung mount: a FUSE filesystem whose server never answers, as a dead NFS server or a
wedged FUSE daemon leaves one. statvfs and every other call on it block in the kernel until
the server's end (/dev/fuse) is closed, then fail with ENOTCONN."""

import contextlib
import ctypes
import ctypes.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

MNT_DETACH = 2


@contextlib.contextmanager
def hung_mount(where: Path) -> Iterator[Path]:
    """`where` mounted hung for as long as the block runs; released (calls on it fail
    instead of waiting) and unmounted after."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    where.mkdir(parents=True, exist_ok=True)
    try:
        server = os.open("/dev/fuse", os.O_RDWR)
    except OSError as exc:
        pytest.fail(f"no /dev/fuse to make a hung mount with: {exc}")
    options = f"fd={server},rootmode=40000,user_id=0,group_id=0".encode()
    # A device name of its own: the agent reads each device once, and another hung mount
    # (a test killed before it unmounted) must not hide this one.
    device = f"hung-{uuid.uuid4().hex[:12]}".encode()
    if libc.mount(device, str(where).encode(), b"fuse.hung", 0, options) != 0:
        errno = ctypes.get_errno()
        os.close(server)
        pytest.fail(f"mount of a FUSE filesystem failed: {os.strerror(errno)} (root needed)")
    try:
        yield where
    finally:
        os.close(server)  # what is blocked on the mount fails with ENOTCONN now
        libc.umount2(str(where).encode(), MNT_DETACH)
