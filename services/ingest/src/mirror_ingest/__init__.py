"""MIRROR STAGE ingest service: the batch route for agents without NATS, and the metric history.

Two jobs. The batch route: ``POST /api/metrics/batch`` (batch_routes.py) validates a batch
(validation.py), checks the agent's token (tokens.py) and its host's rate (ratelimit.py), and
publishes the samples to METRICS (batch.py). The history API: its operations (operations.py:
the history of a host, the hosts there are), declared in mirror_schema.metrics_operations,
behind the HTTP door (app.py: ``GET /api/metrics/history`` and ``GET /api/hosts``) and the NATS
door (endpoints.py: ``metrics.api.history`` in the queue group ``ingest``, which the twin
forwards the HUD's sparklines to). All are described in docs/api.md; the reply's Structs are
the contract in mirror_schema.history.

Design, in short:

- Gateway: a batch is accepted whole or refused whole, with one status and reason per kind of
  problem; a token posts samples for its own host only (the tokens file holds each token's
  SHA-256, re-read when it changes); per-host token buckets are debited for the whole batch;
  the answer (202) comes once JetStream has acknowledged every sample.
- Writing (writing/): the durable consumer ``history`` (writing/writer.py, shared by replicas)
  pulls METRICS in batches, COPYs them into day-partitioned ``metric_samples`` and acks after
  commit; a message that never decodes or is refused is dead-lettered, a transient failure
  retried with backoff.
- Rollups (writing/rollups.py): the minutes and hours that new rows touched are marked in the
  same transaction and recomputed from the rows about once a second, so ``metric_rollup_1m``
  and ``metric_rollup_1h`` always equal what the raw rows give; rates come from consecutive
  samples of a host (writing/rows.py).
- Retention (writing/partitions.py): day partitions are made ahead and dropped past
  MIRROR_STAGE_HISTORY_RETENTION_DAYS (30); hour rollups are kept 400 days.
- Reading (series.py): the step a range gets (raw up to 2 h, 1 m up to 3 days, 1 h beyond),
  at most 10,000 points, throughput in bytes per second.
- Storage (migrations.py, store.py): ``hosts``, ``metric_samples``, ``metric_rollup_1m``,
  ``metric_rollup_1h`` and the rollups' pending marks; partitions only through functions of
  the schema's owner.
"""
