"""A rule's preview: the hosts it would fire for now, from the evaluator's latest figures,
without changing anything the evaluator holds."""

from alerts_samples import at, cpu_rule, eth0, sample

from mirror_alerts.evaluation.evaluator import Evaluator
from mirror_alerts.evaluation.preview import preview_rule
from mirror_alerts.rules import OfflineRule, Scope
from mirror_schema.samples import Disk


def _fleet() -> Evaluator:
    evaluator = Evaluator([])
    for host, cpu, tier in (
        ("web-01", 95.0, "web"),
        ("web-02", 40.0, "web"),
        ("db-01", 99.0, "db"),
    ):
        evaluator.observe(sample(0, host=host, cpu_load=cpu, tags={"tier": tier}), at(0))
    return evaluator


def test_only_the_hosts_over_the_threshold_now_match() -> None:
    evaluator = _fleet()
    found = preview_rule(cpu_rule(for_seconds=600), evaluator.hosts(), at(1))
    assert [(m.host_id, m.value) for m in found.matches] == [("db-01", 99.0), ("web-01", 95.0)]
    assert (found.hosts_matching, found.hosts_in_scope, found.hosts_known) == (2, 3, 3)
    assert not found.truncated
    assert evaluator.snapshot().pending == []  # nothing of the evaluator changed


def test_the_scope_narrows_the_hosts_judged() -> None:
    rule = cpu_rule(scope=Scope(tags={"tier": "web"}))
    found = preview_rule(rule, _fleet().hosts(), at(1))
    assert [m.host_id for m in found.matches] == ["web-01"]
    assert found.hosts_in_scope == 2


def test_a_disabled_rule_is_judged_as_if_enabled() -> None:
    found = preview_rule(cpu_rule(enabled=False), _fleet().hosts(), at(1))
    assert found.hosts_matching == 2


def test_each_resource_of_a_host_is_a_match_of_its_own() -> None:
    evaluator = Evaluator([])
    disks = [
        Disk(device="sda", mountpoint="/", total_bytes=100, used_bytes=95, used_percent=95.0),
        Disk(device="sda", mountpoint="/var", total_bytes=100, used_bytes=10, used_percent=10.0),
        Disk(device="sda", mountpoint="/srv", total_bytes=100, used_bytes=97, used_percent=97.0),
    ]
    evaluator.observe(sample(0, disks=disks), at(0))
    rule = cpu_rule(metric="disk.used_percent", threshold=90.0, clear_threshold=None)
    found = preview_rule(rule, evaluator.hosts(), at(1))
    assert [m.resource for m in found.matches] == ["disk:/", "disk:/srv"]
    assert found.hosts_matching == 1


def test_hosts_without_the_figure_are_counted_apart() -> None:
    rule = cpu_rule(metric="gpu.utilization_percent", threshold=50.0, clear_threshold=None)
    found = preview_rule(rule, _fleet().hosts(), at(1))
    assert found.matches == []
    assert found.hosts_without_reading == 3


def test_interface_utilization_is_taken_against_the_sample_before() -> None:
    """1 Gb/s link, 100 MB sent in 1 s: 80 % utilization, as the evaluator would see it."""
    evaluator = Evaluator([])
    evaluator.observe(sample(0, interfaces=eth0(0)), at(0))
    evaluator.observe(sample(1, interfaces=eth0(100_000_000)), at(1))
    rule = cpu_rule(metric="interface.utilization", threshold=50.0, clear_threshold=None)
    found = preview_rule(rule, evaluator.hosts(), at(2))
    assert [(m.resource, round(m.value)) for m in found.matches] == [("if:eth0", 80)]


def test_an_offline_rule_matches_the_hosts_silent_too_long() -> None:
    evaluator = _fleet()
    evaluator.observe(sample(100, host="web-02"), at(100))
    rule = OfflineRule(id="offline", name="offline", after_intervals=3)  # 3 x 5 s
    found = preview_rule(rule, evaluator.hosts(), at(101))
    assert sorted(m.host_id for m in found.matches) == ["db-01", "web-01"]
    assert found.matches[0].value == 101.0


def test_past_the_limit_the_matches_are_cut_and_the_counts_are_not() -> None:
    evaluator = Evaluator([])
    for n in range(30):
        evaluator.observe(sample(0, host=f"h-{n:02d}", cpu_load=99.0), at(0))
    found = preview_rule(cpu_rule(), evaluator.hosts(), at(1), limit=10)
    assert [m.host_id for m in found.matches] == [f"h-{n:02d}" for n in range(10)]
    assert (found.truncated, found.hosts_matching) == (True, 30)
