"""MIRROR STAGE commands service: command queue, dispatch, results and audit history.

One set of operations (operations.CommandsApi) behind two doors, both built from the
declarations in mirror_schema.command_operations: NATS request/reply in the queue group
``commands`` (endpoints.py) and the HTTP API (app.py). docs/api.md and docs/openapi.json
describe them.

Design, in short:

- Targets: a hostname or host id, a list, or a Selector over tags and rack, resolved against
  a host directory that every replica keeps by following METRICS (follower.py: an ordered
  consumer from the latest sample of every host, then live). A host is its subject's host id
  (what NATS vouches for); a hostname means the id derived from it, never the host whose
  samples claim it. A Selector matches the operator's labels (labels.py, table host_labels),
  never the tags and rack samples claim. Fan-out makes one command per host; commands of a
  ``targets``/``selector`` request share a batch id.
- Ids: UUIDv7 (time-ordered; valid subject tokens).
- Storage (migrations.py): ``commands`` (one row per command, its state and outcome) and
  ``command_events`` (one row per applied transition or request: who, when, what, which
  host, outcome). Search is ILIKE over command text, stdout and stderr, served by a pg_trgm
  GIN index when the extension can be installed, else a scan.
- Dispatch: a host whose last sample is younger than MIRROR_STAGE_COMMANDS_ONLINE_SECONDS
  (60 s) gets its pending commands at once, highest priority first, then oldest. An offline
  host's commands stay ``pending`` in PostgreSQL until its next sample arrives; the sweep
  (every MIRROR_STAGE_COMMANDS_SWEEP_SECONDS) expires the ones past ``expires_at`` and re-reads
  which hosts have pending commands, so a command another replica stored is not forgotten.
  A batch of up to 250 hosts is one transaction (mirror_commands.dispatcher): their commands
  are claimed (FOR UPDATE SKIP LOCKED), published on ``commands.dispatch.<host>`` with
  ``Nats-Msg-Id`` = the command's id (hosts at once, a host's commands in order) and marked
  ``dispatched``: two replicas never publish one twice, and a failed publish leaves it and
  its host's later ones pending.
- Results: the durable consumer ``commands`` on COMMAND_RESULTS moves states forward only,
  a fetched batch in a few transactions side by side; a message that never decodes, or an
  agent reporting on another host's command, is dead-lettered.
"""
