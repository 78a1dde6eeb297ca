"""Which TCP servers a piece of work opens, and where they listen."""

from __future__ import annotations

import ipaddress
import threading

import psutil


def listening() -> set[tuple[str, int]]:
    """``(address, port)`` of every listening TCP socket on this machine."""
    return {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }


def beyond_loopback(sockets) -> list[tuple[str, int]]:
    """The sockets that listen on an address other hosts can reach."""
    return sorted(s for s in sockets if not ipaddress.ip_address(s[0]).is_loopback)


class ListeningWatch:
    """Collect the listening sockets that appear while the ``with`` block runs.

    A thread samples every ``interval`` seconds, so servers that live for a moment only
    (a notebook's dask cluster) are caught too.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.seen: set[tuple[str, int]] = set()
        self._before: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        """Take the listening sockets of this moment (also called by the thread)."""
        self.seen |= listening()

    def __enter__(self) -> ListeningWatch:
        self._before = listening()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.seen -= self._before

    @property
    def opened(self) -> set[tuple[str, int]]:
        """The sockets opened during the block."""
        return set(self.seen)
