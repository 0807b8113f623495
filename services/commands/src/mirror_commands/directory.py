"""HostDirectory: the hosts that have published samples, and fan-out of a request's targets.

A host is known by the host id in the subject of its samples (``metrics.raw.<host>``), which
the NATS server vouches for: an agent may publish on its own host's subject alone. What a
sample says of its host (hostname, tags, rack) is the agent's say-so: shown, never used to
find a host. A hostname target means the host id derived from it; a selector matches the
operator's labels (labels.py), which the caller looks up and hands in.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

import msgspec

from mirror_commands.errors import InvalidRequestError
from mirror_commands.query import host_ids_for
from mirror_schema.commands import CommandRequest, Selector


class HostEntry(msgspec.Struct, frozen=True, kw_only=True):
    """What the directory knows of one host, from its latest sample."""

    host_id: str
    # As the agent reports them: for people, never for targeting.
    hostname: str
    tags: dict[str, str] = {}
    rack: str | None = None
    last_seen: datetime
    # Read from its node_exporter by the scraper: no agent runs commands there.
    scraped: bool = False


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """One host a request targets; `hostname` is for people (as reported, else the id)."""

    host_id: str
    hostname: str


class HostDirectory:
    """Every host seen on METRICS, by host id; no I/O (the follower feeds it)."""

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
        scraped: bool = False,
    ) -> bool:
        """Record a sample of `host_id`; an older sample than the one held changes nothing.

        Returns whether the host was unknown before.
        """
        known = self._hosts.get(host_id)
        if known is not None and seen_at < known.last_seen:
            return False
        self._hosts[host_id] = HostEntry(
            host_id=host_id,
            hostname=hostname,
            tags=dict(tags),
            rack=rack,
            last_seen=seen_at,
            scraped=scraped,
        )
        return known is None

    def entries(self) -> list[HostEntry]:
        """Every known host, by host id."""
        return [self._hosts[host_id] for host_id in sorted(self._hosts)]

    def get(self, host_id: str) -> HostEntry | None:
        """The host with this id, if it has published."""
        return self._hosts.get(host_id)

    def lookup(self, name: str, labelled: Collection[str] = ()) -> str | None:
        """The host id a target names: the host id itself, or the id derived from a hostname
        (any case), if that host has published or is `labelled` by the operator.

        Never the host whose samples claim that hostname: an agent may claim any name.
        """
        for host_id in host_ids_for(name):
            if host_id in self._hosts or host_id in labelled:
                return host_id
        return None

    def is_online(self, host_id: str, now: datetime, window_seconds: float) -> bool:
        """Whether the host's last sample is younger than `window_seconds`."""
        entry = self._hosts.get(host_id)
        return entry is not None and now - entry.last_seen <= timedelta(seconds=window_seconds)

    def target(self, host_id: str) -> Target:
        """`host_id` as a target, with the hostname its agent reports when it has published."""
        entry = self._hosts.get(host_id)
        return Target(host_id=host_id, hostname=entry.hostname if entry else host_id)

    def resolve(
        self,
        request: CommandRequest,
        *,
        labelled: Collection[str] = (),
        selected: Sequence[str] | None = None,
    ) -> list[Target]:
        """One target per distinct host the request names, in the order named.

        `labelled`: host ids the operator has labelled (known even before they publish);
        `selected`: the host ids whose labels match the request's selector. A name that
        matches no known host, or a selector that matches none, is an InvalidRequestError
        naming the field.
        """
        named: list[tuple[str, str]] = []
        if request.hostname is not None:
            named.append(("hostname", request.hostname))
        named += [(f"targets[{i}]", target) for i, target in enumerate(request.targets or [])]
        hosts: dict[str, Target] = {}
        for field, name in named:
            host_id = self.lookup(name, labelled)
            if host_id is None:
                raise InvalidRequestError(
                    f"{field}: no known host {name!r}; name a host id, or a hostname whose "
                    "derived id is one; a host is known once its agent has published a sample "
                    f"or an operator has labelled it ({len(self._hosts)} hosts have published)"
                )
            if self._scraped(host_id):
                raise InvalidRequestError(
                    f"{field}: {name!r} is read from its node_exporter by the scraper: no agent "
                    "runs there to take commands"
                )
            hosts.setdefault(host_id, self.target(host_id))
        if request.selector is not None:
            if not selecting(request.selector):
                raise InvalidRequestError(
                    "selector: give `tags` or `rack` (an empty selector would target every host)"
                )
            if not selected:
                raise InvalidRequestError(
                    f"selector: no host is labelled with tags {request.selector.tags!r}"
                    + (
                        f" in rack {request.selector.rack!r}"
                        if request.selector.rack is not None
                        else ""
                    )
                    + "; an operator sets a host's tags and rack with "
                    "PUT /api/commands/hosts/{host_id}/labels"
                )
            # A scraped host has no agent: a fan-out leaves it out.
            for host_id in selected:
                if not self._scraped(host_id):
                    hosts.setdefault(host_id, self.target(host_id))
            if not hosts:
                raise InvalidRequestError(
                    "selector: every host it matches is scraped (no agent runs commands there)"
                )
        return list(hosts.values())

    def _scraped(self, host_id: str) -> bool:
        entry = self._hosts.get(host_id)
        return entry is not None and entry.scraped


def selecting(selector: Selector) -> bool:
    """Whether `selector` narrows anything (an empty one would match every host)."""
    return bool(selector.tags) or selector.rack is not None
