"""Throughput and utilization from byte counters; unknown capacity stays unknown."""

from datetime import UTC, datetime, timedelta

import pytest

from mirror_derive import derive, interface_rates, parse_speed_mbps, primary_interface, total_rates
from mirror_derive.links import InterfaceRate
from mirror_schema.samples import Interface, MetricSample

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
GIGABIT = 1_000_000_000.0


def _sample(
    seconds: float,
    *interfaces: Interface,
    tags: dict[str, str] | None = None,
    boot_id: str | None = "boot-a",
    cpu_load: float = 0.0,
) -> MetricSample:
    return MetricSample(
        hostname="web-1",
        host_id="web-1",
        timestamp=T0 + timedelta(seconds=seconds),
        cpu_load=cpu_load,
        interfaces=list(interfaces),
        tags=tags or {},
        boot_id=boot_id,
    )


def _iface(name: str, sent: int = 0, recv: int = 0, speed: float | None = None) -> Interface:
    return Interface(name=name, bytes_sent=sent, bytes_recv=recv, speed_mbps=speed)


def _only(rates: list[InterfaceRate]) -> InterfaceRate:
    assert len(rates) == 1
    return rates[0]


def test_known_counters_give_exact_throughput_and_utilization() -> None:
    """125,000,000 bytes more over 10 s on a 1000 Mbit/s link is 100 Mbit/s, 0.1 utilization."""
    before = _sample(0, _iface("eth0", sent=0, recv=0, speed=1000))
    after = _sample(10, _iface("eth0", sent=25_000_000, recv=125_000_000, speed=1000))

    rate = _only(interface_rates(before, after))

    assert rate.rx_bits_per_second == 100_000_000.0
    assert rate.tx_bits_per_second == 20_000_000.0
    assert rate.capacity_bits_per_second == GIGABIT
    assert rate.utilization == pytest.approx(0.1)


def test_rates_use_the_samples_own_timestamps() -> None:
    """The same byte delta over 20 s of sample time is half the rate of 10 s."""
    before = _sample(0, _iface("eth0", recv=0))
    after = _sample(20, _iface("eth0", recv=125_000_000))

    assert _only(interface_rates(before, after)).rx_bits_per_second == 50_000_000.0


def test_counter_reset_gives_no_spike_and_no_negative() -> None:
    """A counter that went backwards gives an unknown rate and no utilization."""
    before = _sample(0, _iface("eth0", sent=10, recv=9_000_000_000, speed=1000))
    after = _sample(10, _iface("eth0", sent=20, recv=1_000, speed=1000))

    rate = _only(interface_rates(before, after))

    assert rate.rx_bits_per_second is None
    assert rate.tx_bits_per_second == 8.0
    assert rate.utilization is None


def test_boot_change_gives_no_rates() -> None:
    """A new boot_id restarted every counter: no rate is taken even if counters grew."""
    before = _sample(0, _iface("eth0", sent=0, recv=0, speed=1000), boot_id="boot-a")
    after = _sample(10, _iface("eth0", sent=5_000, recv=5_000, speed=1000), boot_id="boot-b")

    rate = _only(interface_rates(before, after))

    assert (rate.rx_bits_per_second, rate.tx_bits_per_second, rate.utilization) == (None,) * 3
    assert rate.capacity_bits_per_second == GIGABIT


def test_first_sample_and_new_interface_have_no_rates() -> None:
    """Without a previous reading of the interface there is nothing to take a rate from."""
    assert _only(interface_rates(None, _sample(0, _iface("eth0")))).rx_bits_per_second is None
    before = _sample(0, _iface("eth0"))
    after = _sample(10, _iface("eth0"), _iface("eth1", recv=100))
    assert interface_rates(before, after)[1].rx_bits_per_second is None


def test_out_of_order_sample_gives_no_rates() -> None:
    """A previous sample that is not older than the current one gives no rate."""
    before = _sample(10, _iface("eth0", recv=0))
    after = _sample(10, _iface("eth0", recv=1_000))

    assert _only(interface_rates(before, after)).rx_bits_per_second is None


def test_unknown_capacity_leaves_utilization_unknown_whatever_the_cpu_load() -> None:
    """No link speed means utilization None; a busy CPU is never turned into a utilization."""
    before = _sample(0, _iface("eth0", recv=0), cpu_load=99.0)
    after = _sample(10, _iface("eth0", recv=125_000_000), cpu_load=99.0)

    rate = _only(interface_rates(before, after))
    derived = derive(before, after)

    assert rate.rx_bits_per_second == 100_000_000.0
    assert rate.capacity_bits_per_second is None
    assert rate.utilization is None
    assert derived.primary_utilization is None


def test_zero_speed_is_unknown_capacity() -> None:
    """psutil reports 0 for an unknown speed; that must not become a capacity."""
    before = _sample(0, _iface("eth0", speed=0))
    after = _sample(10, _iface("eth0", recv=1_000, speed=0))

    assert _only(interface_rates(before, after)).utilization is None


def test_primary_speed_tag_gives_the_primary_interface_a_capacity() -> None:
    """tags.primary_interface_speed_mbps is the capacity of the interface tags name as primary."""
    tags = {"primary_interface": "ens3", "primary_interface_speed_mbps": "10000"}
    before = _sample(0, _iface("ens3"), _iface("ens4"), tags=tags)
    after = _sample(10, _iface("ens3", recv=625_000_000), _iface("ens4", recv=1), tags=tags)

    ens3, ens4 = interface_rates(before, after)
    derived = derive(before, after)

    assert ens3.capacity_bits_per_second == 10 * GIGABIT
    assert ens3.utilization == pytest.approx(0.05)
    assert ens4.capacity_bits_per_second is None
    assert derived.primary_interface == "ens3"
    assert derived.primary_utilization == pytest.approx(0.05)


def test_interface_speed_wins_over_primary_speed_tag() -> None:
    """The interface's own reported speed comes before the tag."""
    tags = {"primary_interface": "eth0", "primary_interface_speed_mbps": "10"}
    after = _sample(0, _iface("eth0", speed=1000), tags=tags)

    assert _only(interface_rates(None, after)).capacity_bits_per_second == GIGABIT


@pytest.mark.parametrize("text", ["", "fast", "nan", "inf", "-100", "0", "1e9999"])
def test_bad_speed_tag_is_unknown(text: str) -> None:
    """Speed tag text that is not a finite positive number is an unknown capacity."""
    assert parse_speed_mbps(text) is None
    tags = {"primary_interface": "eth0", "primary_interface_speed_mbps": text}
    assert _only(interface_rates(None, _sample(0, _iface("eth0"), tags=tags))).utilization is None


def test_speed_tag_parses_with_spaces_and_decimals() -> None:
    """' 2500.5 ' is 2500.5 Mbit/s."""
    assert parse_speed_mbps(" 2500.5 ") == 2500.5


def test_utilization_is_capped_at_one() -> None:
    """Timing jitter that makes an interval look faster than the wire reads as saturated."""
    before = _sample(0, _iface("eth0", speed=1))
    after = _sample(1, _iface("eth0", recv=1_000_000, speed=1))

    assert _only(interface_rates(before, after)).utilization == 1.0


def test_totals_sum_non_loopback_interfaces() -> None:
    """Totals add every interface but loopback, whose traffic never leaves the host."""
    before = _sample(0, _iface("lo"), _iface("eth0"), _iface("eth1"))
    after = _sample(
        10,
        _iface("lo", sent=10**9, recv=10**9),
        _iface("eth0", sent=1_000, recv=2_000),
        _iface("eth1", sent=3_000, recv=4_000),
    )

    assert total_rates(interface_rates(before, after)) == (4_800.0, 3_200.0)


def test_totals_are_unknown_when_any_counted_rate_is_unknown() -> None:
    """A partial sum would understate the traffic, so an unknown rate makes the total unknown."""
    before = _sample(0, _iface("eth0", recv=100), _iface("eth1"))
    after = _sample(10, _iface("eth0", recv=0), _iface("eth1", sent=80))

    assert total_rates(interface_rates(before, after)) == (None, 64.0)


def test_totals_without_interfaces_are_unknown() -> None:
    """A host reporting only loopback (or nothing) has unknown totals, not zero."""
    assert total_rates([]) == (None, None)
    rates = interface_rates(_sample(0, _iface("lo")), _sample(1, _iface("lo", recv=5)))
    assert total_rates(rates) == (None, None)


def test_primary_interface_without_tag_is_the_busiest_non_loopback() -> None:
    """Untagged, the non-loopback interface that moved the most bytes since boot is primary."""
    after = _sample(
        0,
        _iface("lo", sent=10**12),
        _iface("eth0", sent=5, recv=5),
        _iface("wlan0", sent=100),
    )

    assert primary_interface(after) == "wlan0"


def test_primary_tag_naming_a_missing_interface_falls_back() -> None:
    """A primary_interface tag for an interface the sample lacks is ignored."""
    after = _sample(0, _iface("eth0"), tags={"primary_interface": "bond0"})

    assert primary_interface(after) == "eth0"
    assert primary_interface(_sample(0, _iface("lo"))) is None
