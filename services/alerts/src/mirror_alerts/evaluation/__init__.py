"""The alerts' evaluation, on the one replica holding the leadership.

- leader.py       Leadership: a lease in a NATS key-value bucket, renewed every second
- notices.py      ChangeNotices: LISTEN for rules, silences and acks, reconnecting
- engine.py       AlertsEngine: consume METRICS, evaluate in batches, sweep, snapshot
- evaluator.py    Evaluator: the state machine per (rule, host, resource); pure, no I/O
- rule_index.py   the enabled rules indexed by scope and metric
- readings.py     the (metric, resource, value) figures of one sample
- host_memory.py  what the evaluator holds per host
- firing.py       the records and messages of a fire, ack or resolve
- alert_state.py  plain values: open alerts, pending timers, changes, the snapshot
- committer.py    Committer: changes published and notified, then samples acked
- recorder.py     Recorder: the ALERTS stream's events stored in PostgreSQL, each once
- resume.py       a new leader's evaluator rebuilt from PostgreSQL, its consumer repositioned
"""
