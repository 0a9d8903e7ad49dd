"""Sign-in throttling: failed sign-ins counted per account (the e-mail, whether or not it exists, so a lockout
reveals nothing) and per client address in a sliding window.

An account with ``max_failures`` failures is locked for ``lockout_s`` (a college admin can lift it early); an
address with ``address_max_failures`` failures in the window gets 429 until the oldest one ages out. A
sign-in holds a *pending* slot while its password is being checked, so a burst of parallel tries cannot all
slip past the limit before the first failure is counted. State is in memory, per server process.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class _Entry:
    failures: deque[float] = field(default_factory=deque)
    pending: int = 0
    locked_until: float = 0.0


@dataclass(frozen=True)
class Refusal:
    retry_after_s: int
    reason: str  # "account_locked" | "address_throttled"


class SignInThrottle:
    def __init__(self, max_failures: int = 5, lockout_s: float = 900.0, address_max_failures: int = 20,
                 window_s: float = 900.0, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000):
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.address_max_failures = address_max_failures
        self.window_s = window_s
        self.clock = clock
        self.max_entries = max_entries
        self._accounts: dict[str, _Entry] = {}
        self._addresses: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def account_key(email: str) -> str:
        return email.strip().lower()

    def _entry(self, table: dict[str, _Entry], key: str) -> _Entry:
        e = table.get(key)
        if e is None:
            if len(table) >= self.max_entries:
                self._prune(table)
            e = table[key] = _Entry()
        return e

    def _prune(self, table: dict[str, _Entry]) -> None:
        now = self.clock()
        for key in [k for k, e in table.items() if not e.pending and e.locked_until <= now
                    and (not e.failures or e.failures[-1] < now - self.window_s)]:
            del table[key]

    def _age(self, e: _Entry, now: float) -> None:
        while e.failures and e.failures[0] < now - self.window_s:
            e.failures.popleft()

    def begin(self, email: str, address: str | None) -> Refusal | None:
        """Take a pending slot for one try, or say why (and how long) the try is refused."""
        now = self.clock()
        with self._lock:
            acc = self._entry(self._accounts, self.account_key(email))
            self._age(acc, now)
            if acc.locked_until > now:
                return Refusal(max(1, math.ceil(acc.locked_until - now)), "account_locked")
            if len(acc.failures) + acc.pending >= self.max_failures:
                return Refusal(max(1, math.ceil(self.lockout_s)) if len(acc.failures) >= self.max_failures
                               else 1, "account_locked")
            addr = None
            if address:
                addr = self._entry(self._addresses, address)
                self._age(addr, now)
                if len(addr.failures) + addr.pending >= self.address_max_failures:
                    wait = (addr.failures[0] + self.window_s - now) if addr.failures else 1
                    return Refusal(max(1, math.ceil(wait)), "address_throttled")
                addr.pending += 1
            acc.pending += 1
            return None

    def end(self, email: str, address: str | None, ok: bool) -> None:
        """Release the pending slot: a success clears the account's failures, a failure counts (and may lock)."""
        now = self.clock()
        with self._lock:
            acc = self._entry(self._accounts, self.account_key(email))
            acc.pending = max(0, acc.pending - 1)
            addr = self._entry(self._addresses, address) if address else None
            if addr is not None:
                addr.pending = max(0, addr.pending - 1)
            if ok:
                acc.failures.clear()
                return
            acc.failures.append(now)
            self._age(acc, now)
            if len(acc.failures) >= self.max_failures:
                acc.locked_until = now + self.lockout_s
            if addr is not None:
                addr.failures.append(now)

    def is_locked(self, email: str) -> bool:
        now = self.clock()
        with self._lock:
            e = self._accounts.get(self.account_key(email))
            return e is not None and e.locked_until > now

    def unlock(self, email: str) -> bool:
        """Lift an account's lockout and forget its failures; True if it was locked."""
        with self._lock:
            e = self._accounts.get(self.account_key(email))
            if e is None:
                return False
            was = e.locked_until > self.clock()
            e.failures.clear()
            e.locked_until = 0.0
            return was
