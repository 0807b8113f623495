"""Notifications: alert events grouped into incidents, rendered per format, posted to webhooks.

Pure parts (no I/O, no clock of their own): `grouping`, `formats`, `slack`, `ntfy`,
`receivers`, `webhook.backoff`. The I/O edge: `webhook.deliver` and `dispatcher`.
"""
