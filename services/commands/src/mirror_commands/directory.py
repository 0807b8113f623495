"""HostDirectory: the hosts that have published samples, and fan-out of a request's targets.

A host is known by the host id in the subject of its samples (``metrics.raw.<host>``), which
the NATS server vouches for: an agent may publish on its own host's subject alone. The
hostname a sample claims is the agent's say-so: shown, never used to find a host.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta

import msgspec

from mirror_commands.errors import InvalidRequestError
from mirror_schema.commands import CommandRequest, Selector
from mirror_schema.hosts import host_id_from_hostname


class HostEntry(msgspec.Struct, frozen=True, kw_only=True):
    """What the directory knows of one host, from its latest sample."""

    host_id: str
    hostname: str  # as the agent reports it: for people, never for targeting
    tags: dict[str, str] = {}
    rack: str | None = None
    last_seen: datetime


class HostDirectory:
    """Every host seen on METRICS, by host id and by hostname; no I/O (the follower feeds it)."""

    def __init__(self) -> None:
        self._hosts: dict[str, HostEntry] = {}

    def __len__(self) -> int:
        return len(self._hosts)

    def observe(
        self,
        host_id: str,
        hostname: str,
        *,
        tags: Mapping[str, str],
        rack: str | None,
        seen_at: datetime,
    ) -> bool:
        """Record a sample of `host_id`; an older sample than the one held changes nothing.

        Returns whether the host was unknown before.
        """
        known = self._hosts.get(host_id)
        if known is not None and seen_at < known.last_seen:
            return False
        self._hosts[host_id] = HostEntry(
            host_id=host_id, hostname=hostname, tags=dict(tags), rack=rack, last_seen=seen_at
        )
        return known is None

    def entries(self) -> list[HostEntry]:
        """Every known host, by host id."""
        return [self._hosts[host_id] for host_id in sorted(self._hosts)]

    def get(self, host_id: str) -> HostEntry | None:
        """The host with this id, if it has published."""
        return self._hosts.get(host_id)

    def lookup(self, name: str) -> HostEntry | None:
        """The host a target names: its host id, or the id derived from a hostname (any case).

        Never the host whose samples claim that hostname: an agent may claim any name.
        """
        found = self._hosts.get(name)
        if found is not None:
            return found
        try:
            return self._hosts.get(host_id_from_hostname(name))
        except ValueError:
            return None

    def is_online(self, host_id: str, now: datetime, window_seconds: float) -> bool:
        """Whether the host's last sample is younger than `window_seconds`."""
        entry = self._hosts.get(host_id)
        return entry is not None and now - entry.last_seen <= timedelta(seconds=window_seconds)

    def select(self, selector: Selector) -> list[HostEntry]:
        """Hosts carrying every tag of the selector (same value) and in its rack, by host id."""
        return sorted(
            (
                entry
                for entry in self._hosts.values()
                if all(entry.tags.get(k) == v for k, v in selector.tags.items())
                and (selector.rack is None or entry.rack == selector.rack)
            ),
            key=lambda entry: entry.host_id,
        )

    def resolve(self, request: CommandRequest) -> list[HostEntry]:
        """One entry per distinct host the request targets, in the order named.

        A name that matches no known host, or a selector that matches none, is an
        InvalidRequestError naming the field.
        """
        named: list[tuple[str, str]] = []
        if request.hostname is not None:
            named.append(("hostname", request.hostname))
        named += [(f"targets[{i}]", target) for i, target in enumerate(request.targets or [])]
        hosts: dict[str, HostEntry] = {}
        for field, name in named:
            entry = self.lookup(name)
            if entry is None:
                raise InvalidRequestError(
                    f"{field}: no known host {name!r}; a host is known once its agent has "
                    f"published a sample ({len(self._hosts)} hosts known)"
                )
            hosts.setdefault(entry.host_id, entry)
        if request.selector is not None:
            selector = request.selector
            if not selector.tags and selector.rack is None:
                raise InvalidRequestError(
                    "selector: give `tags` or `rack` (an empty selector would target every host)"
                )
            matches = self.select(selector)
            if not matches:
                raise InvalidRequestError(
                    f"selector: no known host has tags {selector.tags!r}"
                    + (f" in rack {selector.rack!r}" if selector.rack is not None else "")
                )
            for entry in matches:
                hosts.setdefault(entry.host_id, entry)
        return list(hosts.values())
