"""Silences in the alerts store: their window, their matchers, and bad ones refused by field."""

from datetime import timedelta

import msgspec
import pytest
from alerts_store_helpers import T0, change

from mirror_alerts.silences import SilenceError, SilenceMatchers, is_silenced
from mirror_alerts.stores.alert_store import (
    apply_changes,
    get_alert,
)
from mirror_alerts.stores.silence_store import create_silence, expire_silence, list_active_silences
from mirror_runtime.pg import Conn
from mirror_schema.alerts import AlertEvent


async def test_silences_hold_only_inside_their_window_and_expire(conn: Conn) -> None:
    """A silence is listed from its start until (not at) its end, or until it is expired;
    expiring keeps its record."""
    starts, ends = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    silence = await create_silence(
        conn,
        SilenceMatchers(host_ids=["web-01"]),
        starts_at=starts,
        ends_at=ends,
        by="ana",
        now=T0,
        comment="kernel upgrade",
    )
    assert (silence.created_by, silence.comment) == ("ana", "kernel upgrade")
    assert await list_active_silences(conn, T0) == []
    assert await list_active_silences(conn, starts) == [silence]
    assert await list_active_silences(conn, ends - timedelta(microseconds=1)) == [silence]
    assert await list_active_silences(conn, ends) == []

    middle = starts + timedelta(minutes=30)
    assert await expire_silence(conn, silence.id, middle)
    assert not await expire_silence(conn, silence.id, middle)
    assert await list_active_silences(conn, middle) == []
    assert await conn.fetchval("SELECT ends_at FROM silences") == middle


async def test_a_silence_yet_to_start_expires_without_ever_holding(conn: Conn) -> None:
    """Expiring a future silence leaves an empty window: never active, record kept."""
    starts = T0 + timedelta(hours=1)
    silence = await create_silence(
        conn,
        SilenceMatchers(rule_ids=["default-cpu-high"]),
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        by="ana",
        now=T0,
    )
    assert await expire_silence(conn, silence.id, T0)
    assert await list_active_silences(conn, starts) == []
    assert await conn.fetchval("SELECT count(*) FROM silences") == 1


async def test_a_bad_silence_is_refused_naming_the_field(conn: Conn) -> None:
    """No matchers (would silence everything), an end not after the start, or an end already
    past are refused; nothing is stored."""
    web = SilenceMatchers(host_ids=["web-01"])
    hour = T0 + timedelta(hours=1)
    cases = [
        (SilenceMatchers(), T0, hour, T0, "matchers"),
        (SilenceMatchers(host_ids=["Not A Host"]), T0, hour, T0, "matchers"),
        (web, T0, T0, T0, "ends_at"),
        (web, T0, hour, hour + timedelta(hours=1), "ends_at"),
    ]
    for matchers, starts_at, ends_at, now, field in cases:
        with pytest.raises(SilenceError) as refused:
            await create_silence(
                conn, matchers, starts_at=starts_at, ends_at=ends_at, by="ana", now=now
            )
        assert refused.value.field == field, matchers
    assert await conn.fetchval("SELECT count(*) FROM silences") == 0


async def test_is_silenced_matches_every_given_field_inside_the_window(
    conn: Conn,
) -> None:
    """Each non-empty matcher must match (a list: any entry; tags: every one); outside the
    window nothing is silenced."""
    starts, ends = T0, T0 + timedelta(hours=1)
    inside = T0 + timedelta(minutes=1)
    silence = await create_silence(
        conn,
        SilenceMatchers(
            host_ids=["web-01", "web-02"],
            tags={"role": "web"},
            rule_ids=["default-cpu-high"],
            severities=["warning", "critical"],
        ),
        starts_at=starts,
        ends_at=ends,
        by="ana",
        now=T0,
    )
    silences = await list_active_silences(conn, inside)
    alert = AlertEvent(
        alert_id="a1",
        rule_id="default-cpu-high",
        host_id="web-02",
        severity="warning",
        state="firing",
        message="cpu",
        timestamp=inside,
    )
    web = {"role": "web", "zone": "eu"}
    assert is_silenced(silences, alert, web, now=inside)
    assert not is_silenced(silences, alert, web, now=ends)
    assert not is_silenced(silences, alert, {"role": "db"}, now=inside)
    assert not is_silenced(silences, alert, {}, now=inside)
    for other in (
        {"host_id": "web-03"},
        {"rule_id": "default-memory-high"},
        {"severity": "info"},
    ):
        assert not is_silenced(silences, msgspec.structs.replace(alert, **other), web, now=inside)
    stored = await apply_changes(conn, [change("fired", inside, host_id="web-01")])
    record = await get_alert(conn, stored[0].alert_id)
    assert record is not None
    assert is_silenced([silence], record, web, now=inside)
