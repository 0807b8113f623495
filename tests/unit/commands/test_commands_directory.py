"""The host directory: lookups by id and derived id, selectors over the labels it is given,
fan-out errors naming the field."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from mirror_commands.directory import HostDirectory
from mirror_commands.errors import InvalidRequestError
from mirror_schema.commands import CommandRequest

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def directory() -> HostDirectory:
    hosts = HostDirectory()
    hosts.observe("web-01", "Web-01.example.com", tags={"role": "web"}, rack="r1", seen_at=NOW)
    hosts.observe("web-02", "web-02", tags={"role": "web", "gpu": "no"}, rack="r2", seen_at=NOW)
    hosts.observe(
        "gpu-01", "gpu-01", tags={"role": "ml"}, rack="r1", seen_at=NOW - timedelta(hours=1)
    )
    return hosts


def request(**fields: object) -> CommandRequest:
    return msgspec.convert({"command": "uptime", **fields}, CommandRequest)


def test_a_host_is_found_by_id_or_derived_id_never_by_a_claimed_hostname(
    directory: HostDirectory,
) -> None:
    """A target may be the host id or a hostname (any case) that derives to it; the hostname a
    sample claims is no way to a host (web-01's samples say Web-01.example.com)."""
    for name in ("web-01", "WEB-01", "Web-01"):
        assert directory.lookup(name) == "web-01", name
    for name in ("nope", "Web-01.example.com", "web-01.EXAMPLE.com"):
        assert directory.lookup(name) is None, name
    directory.observe("gpu-01", "web-02.example.com", tags={}, rack=None, seen_at=NOW)
    assert directory.lookup("WEB-02") == "web-02"
    assert directory.lookup("web-02.example.com") is None


def test_targets_fan_out_once_per_host_in_order(directory: HostDirectory) -> None:
    """A host named twice (id and hostname) gets one command."""
    hosts = directory.resolve(request(targets=["web-02", "web-01", "Web-01"]))
    assert [h.host_id for h in hosts] == ["web-02", "web-01"]


def test_an_unknown_target_is_an_error_naming_it(directory: HostDirectory) -> None:
    """The detail names the field, its index and the value."""
    with pytest.raises(InvalidRequestError, match=r"^targets\[1\]: no known host 'ghost'"):
        directory.resolve(request(targets=["web-01", "ghost"]))
    with pytest.raises(InvalidRequestError, match=r"^hostname: no known host 'ghost'"):
        directory.resolve(request(hostname="ghost"))


def test_a_selector_takes_the_labelled_hosts_it_is_given(directory: HostDirectory) -> None:
    """The hosts whose labels match come from the caller (the operator's registry), whatever
    tags or rack the samples claim; a labelled host that never published is a target too."""
    hosts = directory.resolve(
        request(selector={"tags": {"role": "ml"}}), selected=["gpu-01", "spare-09"]
    )
    assert [(h.host_id, h.hostname) for h in hosts] == [
        ("gpu-01", "gpu-01"),
        ("spare-09", "spare-09"),
    ]


def test_a_labelled_host_is_known_by_name_before_it_publishes(directory: HostDirectory) -> None:
    """A name may be a host the operator labelled that has not published yet."""
    with pytest.raises(InvalidRequestError, match=r"^hostname: no known host 'Spare-09'"):
        directory.resolve(request(hostname="Spare-09"))
    (host,) = directory.resolve(request(hostname="Spare-09"), labelled={"spare-09"})
    assert host.host_id == "spare-09"


def test_a_selector_matching_nothing_or_everything_is_refused(directory: HostDirectory) -> None:
    """No match names the selector, whatever the samples claim; an empty selector would hit
    the whole fleet."""
    with pytest.raises(InvalidRequestError, match=r"^selector: no host is labelled with tags"):
        directory.resolve(request(selector={"tags": {"role": "web"}}), selected=[])
    with pytest.raises(InvalidRequestError, match=r"^selector: give `tags` or `rack`"):
        directory.resolve(request(selector={}), selected=["web-01"])


def test_online_is_a_recent_sample(directory: HostDirectory) -> None:
    """A host is online while its last sample is younger than the window."""
    assert directory.is_online("web-01", NOW + timedelta(seconds=30), 60)
    assert not directory.is_online("gpu-01", NOW, 60)
    assert not directory.is_online("ghost", NOW, 60)


def test_an_older_sample_does_not_roll_the_host_back(directory: HostDirectory) -> None:
    """Tags and last seen come from the newest sample, whatever the arrival order."""
    directory.observe("web-01", "web-01", tags={}, rack=None, seen_at=NOW - timedelta(minutes=1))
    entry = directory.get("web-01")
    assert entry is not None
    assert entry.tags == {"role": "web"}
    assert entry.last_seen == NOW
    directory.observe("web-01", "web-01-new", tags={"role": "db"}, rack="r9", seen_at=NOW)
    entry = directory.get("web-01")
    assert entry is not None
    assert (entry.hostname, entry.rack) == ("web-01-new", "r9")


def test_a_scraped_host_takes_no_command(directory: HostDirectory) -> None:
    """No agent runs on a host read from its node_exporter: naming it is refused, naming why;
    a selector's fan-out leaves it out, and one that matches only such hosts is refused."""
    directory.observe("db-07", "db-07", tags={}, rack="r3", seen_at=NOW, scraped=True)
    with pytest.raises(InvalidRequestError, match=r"targets\[1\]: 'db-07' is read from its node"):
        directory.resolve(request(targets=["web-01", "db-07"]))
    selector = {"tags": {"role": "db"}}
    fanned = directory.resolve(
        request(selector={"rack": "r1"}), selected=["web-01", "db-07", "gpu-01"]
    )
    assert [t.host_id for t in fanned] == ["web-01", "gpu-01"]
    with pytest.raises(InvalidRequestError, match="every host it matches is scraped"):
        directory.resolve(request(selector=selector), selected=["db-07"])
