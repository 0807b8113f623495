"""MIRROR STAGE alerts service: alert rules, the alerts' life cycle, silences and notifications.

One set of operations (operations.AlertsApi) behind two doors: NATS request/reply in the
queue group ``alerts`` (endpoints.py: ``alerts.api.*``: active, list, get, ack, rules and
silences) and the HTTP API (app.py). Both are described in docs/api.md. Any replica answers
them; what the evaluating replica must hear of (an ack, a rule or silence changed) reaches it
by LISTEN/NOTIFY.

Design, in short:

- Rules (rules.py): threshold rules over the metric catalogue (catalogue.py: every metric a
  rule may name, its unit, range and resource) and the host-offline rule, each scoped by
  host ids and tags. The installation starts with the original product's thresholds (defaults.py),
  seeded once.
- Evaluation (evaluation/): one replica at a time, the one holding a lease in NATS
  (evaluation/leader.py), consumes METRICS (durable consumer ``alerts``) and runs the state
  machine ok -> pending -> firing (-> acknowledged) -> resolved per (rule, host, resource)
  (evaluation/evaluator.py: pure, timed by the samples' own timestamps). Its changes are
  published on ``alerts.events.<host>`` (publisher.py, ``Nats-Msg-Id`` = the change's id) and
  notified before the samples are acknowledged (evaluation/committer.py), then stored from the
  stream (evaluation/recorder.py): a PostgreSQL outage stops none of it.
- Resuming: the evaluator's state is saved every MIRROR_STAGE_ALERTS_SNAPSHOT_SECONDS with the
  stream position it covers; a new leader restores it, adopts the open alerts stored since and
  replays METRICS from there (evaluation/resume.py): no acknowledged sample's change is lost,
  no alert fires twice.
- Storage (migrations.py, stores/): ``alert_rules`` and ``alert_rule_defaults``, ``alerts``
  and ``alert_events`` (one row per change: who, when, what), ``silences``,
  ``evaluator_snapshot`` and ``alert_event_position``.
- Silences (silences.py): matchers over hosts, tags, rules and severities for a window; a
  silenced alert still fires and is stored, but is not notified.
- Notifications (notify/): firing alerts grouped per host into incidents, rendered in each
  receiver's format (generic webhook, Slack, ntfy), posted with retries, repeated while
  unacknowledged.
"""
