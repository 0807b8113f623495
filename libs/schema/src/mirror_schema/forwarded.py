"""The operations the HUD may call through the twin, which forwards each over NATS to its
owning service (mirror_twin.forward); nothing else of the services' APIs is reachable there."""

from __future__ import annotations

from typing import Any, Final

from mirror_schema import (
    account_operations,
    alert_operations,
    command_operations,
    metrics_operations,
)
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
    # Rules, silences and receivers: the HUD's admin panel. The fixed paths come before
    # /api/alerts/rules/{id}.
    alert_operations.RULES_LIST,
    alert_operations.RULES_PREVIEW,
    alert_operations.RULES_GET,
    alert_operations.RULES_CREATE,
    alert_operations.RULES_UPDATE,
    alert_operations.RULES_DELETE,
    alert_operations.SILENCES_LIST,
    alert_operations.SILENCES_CREATE,
    alert_operations.SILENCES_EXPIRE,
    alert_operations.RECEIVERS_LIST,
    metrics_operations.HISTORY,
    # Users and API tokens: an admin's alone (mirror_runtime.auth.policy).
    *account_operations.OPERATIONS,
)
