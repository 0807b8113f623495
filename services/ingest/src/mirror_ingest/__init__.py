"""MIRROR STAGE ingest service: the batch route for agents without NATS, and the metrics history."""
