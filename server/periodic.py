"""A background pass run on a thread every ``interval_s`` seconds (sooner when woken), until stopped. The
webhook and LTI deliverers, the retention job and the orphaned-session sweep each run one on every node; what
keeps their work from being done twice across nodes is in the pass itself (row locks and leases), not here."""

from __future__ import annotations

import logging
import threading
from typing import Callable


class Periodic:
    def __init__(self, name: str, run_pass: Callable[[], object], interval_s: float, log: logging.Logger) -> None:
        self.name = name
        self.run_pass = run_pass
        self.interval_s = interval_s
        self.log = log
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pass()
            except Exception:  # keep going after a database hiccup: the next pass tries again
                self.log.exception("%s pass failed", self.name)
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name.replace(" ", "-"), daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
