"""Supervised: start a part, wait until its probe passes, restart it with backoff if it dies."""

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from mirror_schema.backoff import Backoff
from mirror_stage.child_processes import signal_group, spawn, stop_process, tail

log = structlog.get_logger()

Probe = Callable[[], Awaitable[bool]]


class PartFailedError(RuntimeError):
    """A part exited or never became healthy; the message carries its log's last lines."""

    def __init__(self, name: str, reason: str, log_path: Path) -> None:
        self.name = name
        self.reason = reason
        self.log_path = log_path
        super().__init__(
            f"{name} {reason}; its log is {log_path}, which ends with:\n{tail(log_path)}"
        )


@dataclass(frozen=True, kw_only=True)
class PartSpec:
    """How to run one part of the stack and how to tell that it is healthy."""

    name: str
    argv: list[str]
    log_path: Path
    probe: Probe
    address: str
    env: Mapping[str, str] | None = None
    user: int | None = None
    group: int | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    ready_timeout_seconds: float = 30.0
    stop_grace_seconds: float = 10.0


@dataclass(kw_only=True)
class RestartPolicy:
    """Exponential backoff between restarts; give up after `max_failures` quick deaths in a row."""

    first_delay_seconds: float = 0.5
    max_delay_seconds: float = 30.0
    max_failures: int = 5
    # A part that stayed up this long is considered fixed: its failure count starts over.
    healthy_reset_seconds: float = 60.0


@dataclass
class Supervised:
    """One running part: started, probed, restarted when it dies, stopped on request."""

    spec: PartSpec
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    on_ready: Callable[["Supervised"], None] | None = None
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    _stopping: bool = False

    def stopping(self) -> bool:
        """Whether stop() was called; a method so checks after an await are not narrowed away."""
        return self._stopping

    @property
    def pid(self) -> int | None:
        """The pid of the current process, if one runs."""
        if self.process is None or self.process.returncode is not None:
            return None
        return self.process.pid

    async def start(self) -> None:
        """Start the part and return once its probe passes; raise PartFailedError otherwise."""
        spec = self.spec
        self.process = await spawn(
            spec.argv, log_path=spec.log_path, env=spec.env, user=spec.user, group=spec.group
        )
        log.debug("part.started", part=spec.name, pid=self.process.pid)
        deadline = time.monotonic() + spec.ready_timeout_seconds
        while True:
            if self.process.returncode is not None:
                raise PartFailedError(
                    spec.name, f"exited with code {self.process.returncode}", spec.log_path
                )
            if await self._probe():
                break
            if time.monotonic() > deadline:
                await stop_process(self.process, stop_signal=signal.SIGKILL, grace_seconds=1)
                raise PartFailedError(
                    spec.name,
                    f"was not healthy within {spec.ready_timeout_seconds:.0f} s",
                    spec.log_path,
                )
            await asyncio.sleep(0.1)
        if self.on_ready is not None:
            self.on_ready(self)

    async def _probe(self) -> bool:
        try:
            async with asyncio.timeout(2.0):
                return await self.spec.probe()
        except (OSError, TimeoutError):
            return False

    async def watch(self) -> None:
        """Restart the part whenever it dies, until stop(); raise when it keeps failing."""
        backoff = Backoff(first=self.policy.first_delay_seconds, cap=self.policy.max_delay_seconds)
        while not self.stopping():
            assert self.process is not None
            started = time.monotonic()
            code = await self.process.wait()
            if self.stopping():
                return
            # Whatever the dead part left in its process group would hold ports or files.
            signal_group(self.process, signal.SIGKILL)
            if time.monotonic() - started > self.policy.healthy_reset_seconds:
                backoff.reset()
            delay = backoff.next()
            failures = backoff.failures
            log.error(
                "part.died",
                part=self.spec.name,
                exit_code=code,
                restart_in_seconds=delay,
                failures=failures,
            )
            if failures > self.policy.max_failures:
                raise PartFailedError(
                    self.spec.name, f"died {failures} times in a row", self.spec.log_path
                )
            await asyncio.sleep(delay)
            if self.stopping():
                return
            try:
                await self.start()
            except PartFailedError as exc:
                log.error("part.restart_failed", part=self.spec.name, reason=exc.reason)
                continue
            self.restarts += 1
            log.info("part.restarted", part=self.spec.name, pid=self.pid, restarts=self.restarts)

    async def stop(self) -> int | None:
        """Stop the part (its whole process group) and return its exit code."""
        self._stopping = True
        if self.process is None:
            return None
        return await stop_process(
            self.process,
            stop_signal=self.spec.stop_signal,
            grace_seconds=self.spec.stop_grace_seconds,
        )
