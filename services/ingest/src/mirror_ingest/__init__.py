"""MIRROR STAGE ingest service: HTTP gateway for agents without NATS, and metrics history."""
