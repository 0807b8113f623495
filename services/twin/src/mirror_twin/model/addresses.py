"""A host's address as the HUD shows and finds it: its primary interface's."""

import ipaddress

from mirror_schema.samples import MetricSample


def primary_address(sample: MetricSample) -> str | None:
    """The primary interface's first IPv4 address (else its first IPv6): how an operator
    names the host when not by name. The primary interface is the one the agent tagged (its
    default route), else the first interface that has an address."""
    primary = sample.tags.get("primary_interface")
    ordered = sorted(sample.interfaces, key=lambda i: i.name != primary)
    for family in ("ipv4", "ipv6"):
        for interface in ordered:
            for address in interface.addresses:
                if address.family == family and not _local(address.address):
                    return address.address
    return None


def _local(address: str) -> bool:
    """Loopback or link-local: no way to name a host from elsewhere."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    return parsed.is_loopback or parsed.is_link_local
