"""The operations the HUD may call through the twin, which forwards each over NATS to its
owning service (mirror_twin.forward); nothing else of the services' APIs is reachable there."""

from __future__ import annotations

from typing import Any, Final

from mirror_schema import alert_operations, command_operations, metrics_operations
from mirror_schema.api import Operation

__all__ = ["FORWARDED"]

FORWARDED: Final[tuple[Operation[Any, Any], ...]] = (
    command_operations.CREATE,
    command_operations.LIST,
    command_operations.GET,
    command_operations.CANCEL,
    command_operations.RETRY,
    alert_operations.ACTIVE,
    alert_operations.LIST,
    alert_operations.ACK,
    alert_operations.RULES_LIST,
    metrics_operations.HISTORY,
)
