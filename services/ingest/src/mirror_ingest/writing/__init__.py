"""The history's writing side: METRICS into PostgreSQL, its rollups and its day partitions.

- writer.py      HistoryWriter: the durable ``history`` consumer, COPY in batches, ack after commit
- rows.py        a MetricSample as the row COPY writes, and the counter-rate rule
- rollups.py     1 m and 1 h rollups recomputed from the rows for exactly the buckets touched
- partitions.py  day partitions made ahead or on demand, dropped past retention
"""
