"""The scrape targets: a file in Prometheus' `file_sd` format, read again when it changes.

    [{"targets": ["10.0.0.7:9100"], "labels": {"host_id": "db-7", "rack": "r2"}}]

Each target is a node_exporter's `host:port`; its host id is the `host_id` label, else the
one derived from the target's host (mirror_schema.hosts.host_id_from_hostname). The label
`__scheme__` (http, the default, or https) and `__metrics_path__` (default /metrics) are
Prometheus' own; `rack` places the host in the twin; every other label becomes a tag of the
host's samples. Two targets may not
claim one host id. An unreadable or invalid file is refused as a whole, naming what is
wrong; the scraper then keeps the targets it had.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import httpx
import msgspec

from mirror_schema.errors import InvalidHostId
from mirror_schema.hosts import host_id_from_hostname, validate_host_id

__all__ = ["Target", "TargetsError", "TargetsFile", "parse_targets"]

MAX_TARGETS: Final = 10_000
_RESERVED: Final = ("__scheme__", "__metrics_path__", "host_id", "rack")
_NOT_IN_HOST: Final = frozenset("@/?#\\ \t")


class TargetsError(ValueError):
    """The targets file is unreadable or invalid; the message names where."""


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """One node_exporter to read, and the host it is."""

    host_id: str
    url: str
    tags: dict[str, str] = {}
    rack: str | None = None


class _Group(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    targets: list[str]
    labels: dict[str, str] = {}


def parse_targets(content: bytes, source: str) -> list[Target]:
    """The targets of a file_sd file's `content`; TargetsError naming the problem."""
    try:
        groups = msgspec.json.decode(content, type=list[_Group])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise TargetsError(f"{source}: not a file_sd target list: {exc}") from None
    found: list[Target] = []
    owners: dict[str, str] = {}
    for g, group in enumerate(groups):
        scheme = group.labels.get("__scheme__", "http")
        if scheme not in ("http", "https"):
            raise TargetsError(f"{source}: [{g}].labels.__scheme__: {scheme!r} is not http(s)")
        path = group.labels.get("__metrics_path__", "/metrics")
        if not path.startswith("/"):
            raise TargetsError(f"{source}: [{g}].labels.__metrics_path__ must start with /")
        # Prometheus' own labels (`__meta_*`, `__param_*`...) are no tags.
        tags = {
            k: v for k, v in group.labels.items() if k not in _RESERVED and not k.startswith("__")
        }
        for t, address in enumerate(group.targets):
            where = f"{source}: [{g}].targets[{t}]"
            host, colon, port = address.rpartition(":")
            bare = host.removeprefix("[").removesuffix("]")
            if (
                not colon
                or not bare
                or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536)
                or any(c in _NOT_IN_HOST or not c.isprintable() for c in host)
                or (":" in bare and not host.startswith("["))  # IPv6 goes in brackets
            ):
                raise TargetsError(f"{where}: {address!r} is not HOST:PORT ([IPv6]:PORT)")
            url = f"{scheme}://{address}{path}"
            try:
                httpx.URL(url)
            except httpx.InvalidURL as exc:
                raise TargetsError(f"{where}: {url!r} is no URL: {exc}") from None
            try:
                host_id = (
                    validate_host_id(group.labels["host_id"])
                    if "host_id" in group.labels
                    else host_id_from_hostname(host.strip("[]"))
                )
            except (InvalidHostId, ValueError) as exc:
                raise TargetsError(f"{where}: {exc}") from None
            if host_id in owners:
                raise TargetsError(
                    f"{where}: host id {host_id!r} is {owners[host_id]}'s already; give each "
                    "target its own `host_id` label"
                )
            owners[host_id] = address
            found.append(
                Target(
                    host_id=host_id,
                    url=url,
                    tags=tags,
                    rack=group.labels.get("rack"),
                )
            )
    if len(found) > MAX_TARGETS:
        raise TargetsError(f"{source}: {len(found)} targets, more than {MAX_TARGETS:,}")
    return found


class TargetsFile:
    """The targets of one file, read again when its modification time or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._targets: list[Target] = []

    def current(self) -> tuple[list[Target], bool]:
        """The targets, and whether they were read anew; TargetsError when the file changed
        into something invalid (the previous targets stay current)."""
        try:
            info = self.path.stat()
        except OSError as exc:
            raise TargetsError(f"{self.path}: {exc.strerror}") from None
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return self._targets, False
        try:
            content = self.path.read_bytes()
        except OSError as exc:
            raise TargetsError(f"{self.path}: {exc.strerror}") from None
        self._stamp = stamp  # an invalid file is reported once, not at every check
        self._targets = parse_targets(content, str(self.path))
        return self._targets, True
