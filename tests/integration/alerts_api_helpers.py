"""Helpers of the alerts API tests: a host that fires the test rule, and the doors' plumbing.

Shared by test_alerts_api.py and test_alerts_api_rules.py.
"""

from datetime import timedelta

import httpx
import msgspec
from alerts_helpers import T0, TIMEOUT, AlertsStack, cpu_rule

from callers import as_admin
from mirror_schema.alerts import AlertEvent
from waiting import wait_until

RULE_ID = "cpu-test"


class Host:
    """One host's samples, in increasing sample time, 30.5 s apart (the rule's 60 s `for`
    elapses at the third sample over its threshold)."""

    def __init__(self, alerts: AlertsStack, host_id: str) -> None:
        self.alerts = alerts
        self.host_id = host_id
        self.at = T0

    async def sample(self, cpu: float) -> None:
        self.at += timedelta(seconds=30.5)
        await self.alerts.sample(self.host_id, self.at, cpu=cpu)

    def events(self, state: str) -> list[AlertEvent]:
        found = self.alerts.events.of(state=state, host_id=self.host_id)
        return [e for e in found if e.rule_id == RULE_ID]

    async def until(self, state: str, cpu: float) -> AlertEvent:
        """Publish samples at ``cpu`` until the test rule's ``state`` event is seen.

        A new rule reaches the evaluator a moment after POST returns (LISTEN/NOTIFY), so
        samples keep coming until it has it, as an agent's would.
        """

        async def seen() -> bool:
            if self.events(state):
                return True
            await self.sample(cpu)
            return False

        await wait_until(seen, timeout=TIMEOUT, what=f"{RULE_ID} {state} on {self.host_id}")
        (event,) = self.events(state)
        return event


async def fire(alerts: AlertsStack, host_id: str) -> tuple[Host, AlertEvent]:
    """Add the test's CPU rule (> 90 for 60 s, clear 80) and make it fire on ``host_id``."""
    await alerts.add_rule(cpu_rule(RULE_ID))
    host = Host(alerts, host_id)
    return host, await host.until("firing", cpu=95)


def detail(answer: httpx.Response) -> str:
    """The ``detail`` of an error response."""
    text: str = answer.json()["detail"]
    return text


async def request(alerts: AlertsStack, subject: str, body: object | bytes) -> bytes:
    """One NATS request to the service; the raw reply."""
    data = body if isinstance(body, bytes) else msgspec.json.encode(body)
    reply = await alerts.nc.request(as_admin(subject), data, timeout=5)
    return reply.data
