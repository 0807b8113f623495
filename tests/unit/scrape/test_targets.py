"""The scraper's targets file (Prometheus file_sd): host ids from labels or addresses, tags,
and every error naming where it is."""

from pathlib import Path

import pytest

from mirror_scrape.targets import Target, TargetsError, TargetsFile, parse_targets


def test_targets_take_their_host_id_from_the_label_or_the_address() -> None:
    content = b"""[
      {"targets": ["10.0.0.7:9100"], "labels": {"host_id": "db-7", "rack": "r2"}},
      {"targets": ["Web-1.example.com:9100"],
       "labels": {"__scheme__": "https", "__metrics_path__": "/node", "__meta_x": "y"}},
      {"targets": ["[::1]:9100"], "labels": {"host_id": "v6"}}
    ]"""
    assert parse_targets(content, "t.json") == [
        Target(host_id="db-7", url="http://10.0.0.7:9100/metrics", rack="r2"),
        Target(host_id="web-1-example-com", url="https://Web-1.example.com:9100/node"),
        Target(host_id="v6", url="http://[::1]:9100/metrics"),
    ]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"{", "t.json: not a file_sd target list"),
        (b'[{"targets": ["nohost"]}]', "t.json: [0].targets[0]: 'nohost' is not HOST:PORT"),
        (b'[{"targets": ["a:99999"]}]', "[0].targets[0]: 'a:99999' is not HOST:PORT"),
        (b'[{"targets": ["a:1"], "labels": {"host_id": "Bad Id"}}]', "invalid host id 'Bad Id'"),
        (b'[{"targets": ["a:1", "a:2"]}]', "host id 'a' is a:1's already"),
        (b'[{"targets": ["a:1"], "labels": {"__scheme__": "ftp"}}]', "is not http(s)"),
        (b'[{"targets": ["a:1"], "extra": 1}]', "not a file_sd target list"),
        (b'[{"targets": ["::1:9100"]}]', "is not HOST:PORT ([IPv6]:PORT)"),
        ('[{"targets": ["a:\u00b2"]}]'.encode(), "is not HOST:PORT"),
        (b'[{"targets": ["user@a:1"]}]', "is not HOST:PORT"),
        (b'[{"targets": ["[zz]:9100"]}]', "is no URL"),
    ],
)
def test_a_bad_file_is_refused_naming_where(content: bytes, named: str) -> None:
    with pytest.raises(TargetsError) as caught:
        parse_targets(content, "t.json")
    assert named in str(caught.value)


def test_a_file_is_read_again_when_it_changes_and_a_broken_one_keeps_the_last(
    tmp_path: Path,
) -> None:
    path = tmp_path / "targets.json"
    path.write_text('[{"targets": ["a:1"]}]')
    targets = TargetsFile(path)
    assert [t.host_id for t in targets.current()[0]] == ["a"]
    assert targets.current()[1] is False  # unchanged: not read again
    path.write_text('[{"targets": ["a:1", "b:2"]}]')
    assert [t.host_id for t in targets.current()[0]] == ["a", "b"]
    path.write_text("[{")
    with pytest.raises(TargetsError):
        targets.current()
    assert [t.host_id for t in targets.current()[0]] == ["a", "b"]
