"""Alerts store on a real PostgreSQL: migrations, default rules, rule CRUD, alert changes and
their history, silences, and the evaluator's snapshot."""

import asyncio
import json
from datetime import timedelta

import asyncpg
import msgspec
import pytest
from alerts_store_helpers import T0, change, user_rule

from mirror_alerts.defaults import default_rules
from mirror_alerts.evaluation.alert_state import (
    EvaluatorSnapshot,
    HostSeen,
    OpenAlert,
    PendingTimer,
    alert_id_for,
)
from mirror_alerts.evaluation.evaluator import Evaluator
from mirror_alerts.migrations import COMPONENT, MIGRATIONS, migrate
from mirror_alerts.rules import RuleError
from mirror_alerts.stores import rule_store
from mirror_alerts.stores.alert_store import (
    AlertRecord,
    apply_changes,
    get_alert,
    list_active,
    list_history,
)
from mirror_alerts.stores.snapshot_store import load_snapshot, save_snapshot
from mirror_runtime.pg import Conn


async def test_migrations_apply_once_and_are_recorded(database: str) -> None:
    """A second run applies nothing; schema_migrations lists every version for `alerts`."""
    pool = await asyncpg.create_pool(database, min_size=1, max_size=2)
    try:
        assert await migrate(pool) == [m.version for m in MIGRATIONS]
        assert await migrate(pool) == []
        rows = await pool.fetch("SELECT component, version FROM schema_migrations ORDER BY version")
        assert [(r["component"], r["version"]) for r in rows] == [
            (COMPONENT, m.version) for m in MIGRATIONS
        ]
    finally:
        await pool.close()


async def test_defaults_are_seeded_once_exactly_as_their_builtins(conn: Conn) -> None:
    """Every default rule is stored as msgspec.to_builtins(rule), created by `defaults`."""
    stored = await rule_store.list_rules(conn)
    defaults = sorted(default_rules(), key=lambda r: r.id)
    assert [s.rule for s in stored] == defaults
    assert {s.created_by for s in stored} == {rule_store.DEFAULTS_BY}
    rows = await conn.fetch("SELECT id, rule::text AS rule FROM alert_rules ORDER BY id")
    assert [json.loads(r["rule"]) for r in rows] == [msgspec.to_builtins(r) for r in defaults]


async def test_a_deleted_default_stays_deleted_on_the_next_start(
    pool: asyncpg.Pool, conn: Conn
) -> None:
    """Deleting a default, then starting again, does not bring it back nor touch the others."""
    before = {s.rule.id: s for s in await rule_store.list_rules(conn)}
    assert await rule_store.delete_rule(conn, "default-cpu-high")
    assert await migrate(pool) == []
    after = {s.rule.id: s for s in await rule_store.list_rules(conn)}
    assert "default-cpu-high" not in after
    assert after == {k: v for k, v in before.items() if k != "default-cpu-high"}


async def test_replicas_starting_together_seed_each_default_once(database: str) -> None:
    """Three replicas migrating at once: one applies the schema, the defaults appear once."""
    pools = [await asyncpg.create_pool(database, min_size=1, max_size=1) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(p) for p in pools))
        assert sorted(v for result in results for v in result) == [m.version for m in MIGRATIONS]
        assert await pools[0].fetchval("SELECT count(*) FROM alert_rules") == len(default_rules())
    finally:
        for p in pools:
            await p.close()


async def test_rules_are_created_read_replaced_and_deleted(conn: Conn) -> None:
    """CRUD keeps who created a rule, records who changed it, and refuses a taken id."""
    created = await rule_store.create_rule(conn, user_rule(), by="ana", now=T0)
    assert created.rule == user_rule()
    assert (created.created_by, created.updated_by, created.updated_at) == ("ana", "ana", T0)
    assert await rule_store.get_rule(conn, "disk-full") == created

    with pytest.raises(rule_store.DuplicateRuleError) as taken:
        await rule_store.create_rule(conn, user_rule(threshold=99.0), by="bo", now=T0)
    assert (taken.value.field, taken.value.rule_id) == ("id", "disk-full")
    assert "'disk-full' already exists" in str(taken.value)

    later = T0 + timedelta(minutes=5)
    replaced = await rule_store.replace_rule(
        conn, "disk-full", user_rule(threshold=97.0), by="bo", now=later
    )
    assert replaced is not None
    assert replaced.rule == user_rule(threshold=97.0)
    assert (replaced.created_by, replaced.updated_by) == ("ana", "bo")
    assert (replaced.created_at, replaced.updated_at) == (T0, later)

    with pytest.raises(RuleError) as other_id:
        await rule_store.replace_rule(
            conn, "disk-full", user_rule(id="disk-fuller"), by="bo", now=T0
        )
    assert other_id.value.field == "id"
    assert (
        await rule_store.replace_rule(conn, "nope", user_rule(id="nope"), by="bo", now=T0) is None
    )

    assert await rule_store.delete_rule(conn, "disk-full")
    assert not await rule_store.delete_rule(conn, "disk-full")
    assert await rule_store.get_rule(conn, "disk-full") is None


async def test_every_rule_change_is_announced_to_listeners(pool: asyncpg.Pool, conn: Conn) -> None:
    """Create, replace and delete each notify RULES_CHANNEL with the rule id; a refused
    change notifies nothing."""
    heard: asyncio.Queue[str] = asyncio.Queue()

    def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
        heard.put_nowait(str(payload))

    async with pool.acquire() as listener:
        await listener.add_listener(rule_store.RULES_CHANNEL, on_notify)
        await rule_store.create_rule(conn, user_rule(), by="ana", now=T0)
        with pytest.raises(RuleError):
            await rule_store.create_rule(conn, user_rule(), by="ana", now=T0)
        await rule_store.create_rule(conn, user_rule(id="disk-fuller"), by="ana", now=T0)
        await rule_store.replace_rule(conn, "disk-full", user_rule(threshold=97.0), by="bo", now=T0)
        await rule_store.delete_rule(conn, "disk-fuller")
        assert not await rule_store.delete_rule(conn, "disk-fuller")
        await rule_store.create_rule(conn, user_rule(id="last"), by="ana", now=T0)
        async with asyncio.timeout(5):
            payloads = [await heard.get() for _ in range(5)]
        await listener.remove_listener(rule_store.RULES_CHANNEL, on_notify)
    assert payloads == ["disk-full", "disk-fuller", "disk-full", "disk-fuller", "last"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"metric": "disk.usd_percent"}, "metric"),
        ({"id": "Disk Full"}, "id"),
        ({"clear_threshold": 99.0}, "clear_threshold"),
        ({"threshold": 250.0}, "threshold"),
    ],
)
async def test_a_bad_rule_is_refused_naming_the_field(
    conn: Conn, bad: dict[str, object], field: str
) -> None:
    """A rule the rules module rejects is not stored; the error names the field."""
    with pytest.raises(RuleError) as refused:
        await rule_store.create_rule(conn, user_rule(**bad), by="ana", now=T0)
    assert refused.value.field == field
    assert await conn.fetchval("SELECT count(*) FROM alert_rules") == len(default_rules())


async def test_fired_acknowledged_resolved_give_one_alert_and_its_events(
    conn: Conn,
) -> None:
    """Each change updates the alert and adds an event; a replayed fire changes nothing."""
    fired = change("fired", T0 + timedelta(seconds=60))
    assert await apply_changes(conn, [fired]) == [fired]
    assert await apply_changes(conn, [fired, fired]) == []
    assert await conn.fetchval("SELECT count(*) FROM alerts") == 1

    acked_at = T0 + timedelta(seconds=90)
    acked = change("acknowledged", acked_at, acknowledged_by="ana", message="acknowledged by ana")
    resolved_at = T0 + timedelta(seconds=300)
    resolved = change("resolved", resolved_at, value=60.0, duration_seconds=240.0)
    assert await apply_changes(conn, [acked, acked, resolved, resolved]) == [acked, resolved]

    alert = await get_alert(conn, fired.alert_id)
    assert alert is not None
    assert (alert.state, alert.value, alert.threshold, alert.message) == (
        "resolved",
        93.0,
        80.0,
        fired.message,
    )
    assert (alert.fired_at, alert.acknowledged_by, alert.acknowledged_at) == (
        fired.at,
        "ana",
        acked_at,
    )
    assert (alert.resolved_at, alert.duration_seconds) == (resolved_at, 240.0)
    assert [(e.kind, e.state, e.actor, e.value, e.at) for e in alert.events] == [
        ("fired", "firing", "alerts", 93.0, fired.at),
        ("acknowledged", "acknowledged", "ana", 93.0, acked_at),
        ("resolved", "resolved", "alerts", 60.0, resolved_at),
    ]
    assert await get_alert(conn, "no-such-alert") is None


async def test_a_batch_is_stored_all_or_none(conn: Conn) -> None:
    """When one change of a batch fails, the changes before it are rolled back too."""
    fired = change("fired", T0)
    broken = change("resolved", T0, duration_seconds=-1.0)
    with pytest.raises(asyncpg.CheckViolationError):
        await apply_changes(conn, [fired, broken])
    assert await conn.fetchval("SELECT count(*) FROM alerts") == 0
    assert await conn.fetchval("SELECT count(*) FROM alert_events") == 0


async def test_a_storm_of_mixed_changes_is_stored_in_order(conn: Conn) -> None:
    """A batch with many hosts firing, some resolving and one firing again, in one go: every
    change stored once, in order, the second incident of a host beside its first."""
    hosts = [f"h{i:03d}" for i in range(300)]
    fired = [change("fired", T0 + timedelta(seconds=60), host_id=h) for h in hosts]
    resolved = [
        change("resolved", T0 + timedelta(seconds=90), host_id=h, duration_seconds=30.0)
        for h in hosts[:100]
    ]
    again = change(
        "fired", T0 + timedelta(seconds=200), host_id="h000", started_at=T0 + timedelta(seconds=140)
    )
    batch = [*fired, *resolved, fired[5], again]
    assert await apply_changes(conn, batch) == [*fired, *resolved, again]
    states = dict(await conn.fetch("SELECT alert_id, state FROM alerts"))
    assert len(states) == 301
    assert sum(1 for state in states.values() if state == "resolved") == 100
    assert states[again.alert_id] == "firing"
    kinds = await conn.fetch("SELECT kind, count(*) AS n FROM alert_events GROUP BY kind")
    assert {row["kind"]: row["n"] for row in kinds} == {"fired": 301, "resolved": 100}


async def test_active_lists_open_alerts_and_history_filters(conn: Conn) -> None:
    """Active: firing and acknowledged, newest first. History: by host, state, since, limit."""
    t1, t2, t3 = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    web_cpu = change("fired", t1, started_at=T0)
    web_mem = change("fired", t2, rule_id="default-memory-high", started_at=T0)
    db_cpu = change("fired", t3, host_id="db-01", started_at=T0)
    await apply_changes(conn, [web_cpu, web_mem, db_cpu])
    await apply_changes(
        conn,
        [
            change("resolved", t3, started_at=T0, duration_seconds=120.0),
            change("acknowledged", t3, host_id="db-01", started_at=T0, acknowledged_by="bo"),
        ],
    )

    active = await list_active(conn)
    assert [(a.alert_id, a.state) for a in active] == [
        (db_cpu.alert_id, "acknowledged"),
        (web_mem.alert_id, "firing"),
    ]
    assert [a.events for a in active] == [[], []]  # events only with get_alert

    def ids(alerts: list[AlertRecord]) -> list[str]:
        return [a.alert_id for a in alerts]

    assert ids(await list_history(conn)) == [db_cpu.alert_id, web_mem.alert_id, web_cpu.alert_id]
    assert ids(await list_history(conn, host_id="web-01")) == [web_mem.alert_id, web_cpu.alert_id]
    assert ids(await list_history(conn, state="resolved")) == [web_cpu.alert_id]
    assert ids(await list_history(conn, since=t2)) == [db_cpu.alert_id, web_mem.alert_id]
    assert ids(await list_history(conn, host_id="web-01", since=t2)) == [web_mem.alert_id]
    assert ids(await list_history(conn, limit=1)) == [db_cpu.alert_id]
    with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
        await list_history(conn, limit=0)


async def test_snapshot_save_and_load_round_trip(conn: Conn) -> None:
    """What is saved loads back equal, a second save replaces the first, and an evaluator
    restored from it has the same open alerts."""
    assert await load_snapshot(conn) is None
    alert = OpenAlert(
        alert_id=alert_id_for("default-cpu-high", "web-01", "", T0),
        rule_id="default-cpu-high",
        host_id="web-01",
        resource="",
        metric="cpu_load",
        severity="warning",
        started_at=T0,
        fired_at=T0 + timedelta(seconds=60),
        value=93.5,
        threshold=80.0,
        acknowledged_by="ana",
        acknowledged_at=T0 + timedelta(seconds=90),
    )
    snapshot = EvaluatorSnapshot(
        open_alerts=[alert],
        pending=[
            PendingTimer(
                rule_id="default-memory-high",
                host_id="web-01",
                resource="",
                started_at=T0 + timedelta(seconds=30),
            )
        ],
        hosts=[
            HostSeen(
                host_id="web-01",
                last_arrival_at=T0 + timedelta(seconds=95),
                last_sample_at=T0 + timedelta(seconds=94),
                interval_seconds=5.0,
                tags={"role": "web"},
            )
        ],
    )
    await save_snapshot(conn, EvaluatorSnapshot(), saved_at=T0)
    saved_at = T0 + timedelta(seconds=100)
    await save_snapshot(conn, snapshot, saved_at=saved_at)
    loaded = await load_snapshot(conn)
    assert loaded is not None
    assert (loaded.snapshot, loaded.saved_at) == (snapshot, saved_at)
    assert await conn.fetchval("SELECT count(*) FROM evaluator_snapshot") == 1
    assert await load_snapshot(conn, "shard-2") is None

    evaluator = Evaluator(default_rules())
    assert evaluator.restore(loaded.snapshot, saved_at) == []
    assert evaluator.open_alerts() == [alert]
    assert evaluator.snapshot() == snapshot
