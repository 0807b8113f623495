"""MIRROR STAGE twin service: the live state of every host, pushed to browsers, and the HUD's
one origin.

Its own API is small (routes.py: ``GET /api/twin/state``, ``GET /api/twin/hosts/{id}``,
``PUT /api/twin/hosts/{id}/placement`` and the WebSocket ``/ws/twin``), answered from the
engine's memory; it has no NATS door of its own. It also serves the HUD's static files and
forwards the HUD's calls to the services that own them as NATS requests (forward.py: the
operations mirror_schema.forwarded names, of commands, alerts and the metric history), so the
browser talks to one origin and no service calls another over HTTP. All are described in
docs/api.md.

Design, in short:

- Following (engine.py): every replica keeps the whole twin in memory from its own ordered
  consumer on METRICS; no replica depends on another, and none holds a database.
- The model (model/): each host's latest sample folded into a HostView (twin_state.py), its
  OSI layer and a stable spot on that layer (layout.py), its link to its uplink with
  throughput, capacity and utilization in bits per second (links.py, link_table.py), and its
  status, online / stale / offline, from the time since its last sample (status.py).
- Frames (mirror_schema.twin): a client gets a full frame, then coalesced diffs at most every
  MIRROR_STAGE_TWIN_DIFF_INTERVAL_MS (100 ms) carrying only the fields that changed
  (model/patches.py). A client that falls behind is resynced with a full frame, never waited
  for (broadcast.py).
- Relaying (relay.py): alert events and command status, results and output are passed on to
  every browser on the same WebSocket as they happen.
- Keeping (JetStream KV): every host's last two samples and the METRICS position they cover
  (checkpoint.py), so a restarted twin shows every host at once and resumes the stream
  instead of replaying it, written by one replica at a time and never back in time
  (writer.py); operators' placements (placements.py), followed by every replica.
"""
