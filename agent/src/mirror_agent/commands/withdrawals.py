"""Withdrawals: whether the commands service took a dispatched command back before it ran.

The service cannot delete a command's message from COMMANDS (no identity but the launcher's
may), so to cancel a command whose agent was away it stores a signed CommandWithdrawal on
``commands.withdrawn.<host>.<id>`` (stream COMMAND_WITHDRAWALS). The agent reads it before
running any command, whatever the order they reach it in: the command comes first in its
stream, its withdrawal later in another. One direct get by subject
(``$JS.API.DIRECT.GET.COMMAND_WITHDRAWALS.commands.withdrawn.<host>.<id>``, imported into the
agent's own account: mirror_agent.jetstream): the subject names the host, so the stack can
let the agent read its own withdrawals alone.
A withdrawal that is unsigned, signed by another key, or about another command or host is
ignored (logged and counted): it cannot stop a genuine command.
"""

import logging

import msgspec
import nats.aio.client
import nats.errors
import nats.js.errors
from nats.js.client import JetStreamContext

from mirror_agent.jetstream import agent_jetstream
from mirror_schema import codec, streams, subjects
from mirror_schema.command_signing import SignatureError, verify_withdrawal
from mirror_schema.commands import CommandWithdrawal

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_SECONDS = 5.0


class WithdrawalLookupError(Exception):
    """The bus did not say whether the command was withdrawn: it must not run yet."""


class Withdrawals:
    """Looks up the signed withdrawal of one of this host's commands."""

    def __init__(self, nc: nats.aio.client.Client, *, host_id: str, public_key: str) -> None:
        self.nc = nc
        self.js: JetStreamContext | None = None  # found at the first lookup
        self.host_id = host_id
        self.public_key = public_key
        self.forged = 0

    async def find(self, command_id: str) -> CommandWithdrawal | None:
        """The verified withdrawal of `command_id`; None when there is none, or only one that
        does not verify. Raises WithdrawalLookupError when the bus does not answer."""
        subject = subjects.commands_withdrawn(self.host_id, command_id)
        try:
            if self.js is None:
                self.js = await agent_jetstream(self.nc, api_timeout=LOOKUP_TIMEOUT_SECONDS)
            stored = await self.js.get_last_msg(
                streams.COMMAND_WITHDRAWALS.name, subject, direct=True
            )
        except nats.js.errors.NotFoundError:
            return None
        except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
            raise WithdrawalLookupError(f"{subject}: {exc!r}") from None
        try:
            withdrawal = codec.decode_command_withdrawal(stored.data or b"")
            verify_withdrawal(withdrawal, self.public_key)
        except (msgspec.DecodeError, SignatureError) as exc:
            self._ignore(command_id, str(exc))
            return None
        if (withdrawal.command_id, withdrawal.host_id) != (command_id, self.host_id):
            named = f"it names command {withdrawal.command_id} of host {withdrawal.host_id!r}"
            self._ignore(command_id, named)
            return None
        return withdrawal

    def _ignore(self, command_id: str, reason: str) -> None:
        self.forged += 1
        log.warning("command.withdrawal_ignored command_id=%s reason=%s", command_id, reason)
