"""The alerts service's PostgreSQL access, one module per kind of row: SQL constants and small
functions returning Structs.

- rule_store.py      alert rules (alert_rules), the defaults' seeding, the rules' NOTIFY channel
- alert_store.py     alerts and alert_events: the evaluator's changes applied, acks, queries
- silence_store.py   silences: create, expire, list, the silences' NOTIFY channel
- snapshot_store.py  the evaluator's snapshot and the METRICS position it covers
- delivery_store.py  each notification receiver's latest delivery
"""
