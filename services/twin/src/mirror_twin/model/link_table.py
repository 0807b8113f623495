"""LinkTable: every host's link to its uplink, kept up to date incrementally, and its patches."""

from collections.abc import Collection, Mapping
from typing import Protocol

from mirror_derive import Derived
from mirror_schema.samples import MetricSample
from mirror_schema.twin import LinkPatch, LinkView
from mirror_twin.model.links import link_view, rack_switches, uplink_target
from mirror_twin.model.patches import link_patch

__all__ = ["LinkTable", "Linked"]


class Linked(Protocol):
    """What a link needs of its host: the latest sample's rack and tags, and the rates."""

    latest: MetricSample
    derived: Derived


class LinkTable:
    """The links of every host, recomputed only where something changed.

    A sample recomputes its own host's link; a host arriving, leaving, or changing its rack or
    tags recomputes them all (its rack's switch, or the uplink others name, may have changed).
    Recomputing every link on every 100 ms diff took more than a core at 10,000 hosts.
    """

    def __init__(self) -> None:
        self._links: dict[str, LinkView] = {}  # by link id
        self._link_ids: dict[str, str] = {}  # each host's link id
        self._switches: dict[str, str] = {}  # rack -> its switch's host id
        self._stale: set[str] = set()  # hosts whose link must be recomputed
        self._topology_changed = False
        self._touched: set[str] = set()  # link ids recomputed since the last baseline
        self._sent: dict[str, LinkView] = {}  # as of the last frame or diff

    def host_changed(self, host_id: str, *, topology: bool) -> None:
        """``host_id`` has a new sample; ``topology``: it is new, or its rack or tags changed."""
        self._stale.add(host_id)
        self._topology_changed = self._topology_changed or topology

    def host_removed(self) -> None:
        """A host was removed: every link is recomputed."""
        self._topology_changed = True

    def current(self, hosts: Mapping[str, Linked]) -> dict[str, LinkView]:
        """Every host's link by link id, after recomputing the stale ones."""
        stale: Collection[str]
        if self._topology_changed:
            self._topology_changed = False
            self._switches = rack_switches(
                (host_id, host.latest.rack, host.latest.tags) for host_id, host in hosts.items()
            )
            for host_id in [h for h in self._link_ids if h not in hosts]:
                gone = self._link_ids.pop(host_id)
                del self._links[gone]
                self._touched.add(gone)
            stale = hosts.keys()
        else:
            stale = self._stale
        for host_id in stale:
            host = hosts.get(host_id)
            if host is None:
                continue
            target = uplink_target(
                host_id, host.latest.tags, host.latest.rack, hosts, self._switches
            )
            link = link_view(host_id, target, host.derived)
            old = self._link_ids.get(host_id)
            if old is not None and old != link.id:
                del self._links[old]
                self._touched.add(old)
            self._links[link.id] = link
            self._link_ids[host_id] = link.id
            self._touched.add(link.id)
        self._stale = set()
        return self._links

    def baseline(self, hosts: Mapping[str, Linked]) -> dict[str, LinkView]:
        """Every link, now sent whole in a frame: the next changes are relative to it."""
        links = self.current(hosts)
        self._sent = dict(links)
        self._touched = set()
        return links

    def take_changes(self, hosts: Mapping[str, Linked]) -> tuple[list[LinkPatch], list[str]]:
        """The patches of links changed since the last frame or diff, and removed link ids."""
        links = self.current(hosts)
        patches: list[LinkPatch] = []
        removed: list[str] = []
        for link in sorted(self._touched):
            if link not in links:
                if self._sent.pop(link, None) is not None:
                    removed.append(link)
                continue
            patch = link_patch(self._sent.get(link), links[link])
            self._sent[link] = links[link]
            if patch is not None:
                patches.append(patch)
        self._touched = set()
        return patches, removed
