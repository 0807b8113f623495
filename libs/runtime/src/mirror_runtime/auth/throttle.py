"""AddressThrottle: too many failed logins from one address, whatever the user names tried.

The account lock-out stops guessing one user's password; this stops one client from trying a
few passwords on each of many users. Kept in memory by each process (a restart forgets it),
bounded in the addresses it remembers. A login reserves its place before its password is
checked (reserve), and gives it back when it turns out not to be a failure (forget).
"""

from collections import OrderedDict, deque
from datetime import datetime, timedelta
from typing import Final

MAX_ADDRESSES: Final = 10_000


class AddressThrottle:
    """Failures per address within a sliding window."""

    def __init__(self, max_failures: int, window: timedelta) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()

    def _recent(self, address: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(address)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, address: str | None, now: datetime) -> float | None:
        """Seconds until `address` may try again, or None when it may now."""
        if address is None:
            return None
        times = self._recent(address, now)
        if len(times) < self.max_failures:
            return None
        return (times[0] + self.window - now).total_seconds()

    def failed(self, address: str | None, now: datetime) -> None:
        """Count a failed login from `address`."""
        if address is None:
            return
        times = self._recent(address, now)
        times.append(now)
        while len(times) > self.max_failures:
            times.popleft()
        self._failures[address] = times
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)

    def reserve(self, address: str | None, now: datetime) -> float | None:
        """Count an attempt from `address` now, before it is checked; or, when the address is
        at its limit, the seconds until it may try again (nothing is counted then)."""
        wait = self.retry_after(address, now)
        if wait is None:
            self.failed(address, now)
        return wait

    def forget(self, address: str | None) -> None:
        """Take back the latest attempt reserved for `address` (it succeeded, or was refused
        without a check)."""
        if address is None:
            return
        times = self._failures.get(address)
        if times:
            times.pop()
