"""MIRROR STAGE alerts service: alert rules, lifecycle and notifications."""
