"""The alerts' evaluation, on the one replica holding the leadership.

- leader.py       Leadership: a PostgreSQL advisory lock on its own connection
- engine.py       AlertsEngine: consume METRICS, evaluate in batches, sweep, snapshot
- evaluator.py    Evaluator: the state machine per (rule, host, resource); pure, no I/O
- rule_index.py   the enabled rules indexed by scope and metric
- readings.py     the (metric, resource, value) figures of one sample
- host_memory.py  what the evaluator holds per host
- firing.py       the records and messages of a fire, ack or resolve
- alert_state.py  plain values: open alerts, pending timers, changes, the snapshot
- committer.py    Committer: changes stored, published and notified, then samples acked
- resume.py       a new leader's evaluator rebuilt from PostgreSQL, its consumer repositioned
"""
