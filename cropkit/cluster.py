"""The dask.distributed client that cropkit computes on.

By default a ``LocalCluster`` on this machine, with a memory limit per worker so that a
zone larger than memory spills and streams instead of failing; or any existing
scheduler, by address, for users with a real cluster.

Examples
--------
>>> client = dask_client()                           # doctest: +SKIP
>>> client = dask_client("tcp://scheduler:8786")     # doctest: +SKIP
"""

from __future__ import annotations

import os

from .errors import ConfigError

__all__ = ["dask_client"]


def dask_client(
    address: str | None = None,
    n_workers: int | None = None,
    memory_limit: str = "4GiB",
    threads_per_worker: int = 1,
    dashboard: bool = False,
):
    """Connect to a dask scheduler, or start a local cluster.

    Parameters
    ----------
    address : str, optional
        Address of a running scheduler (``tcp://host:8786``); ``None`` starts a
        ``LocalCluster``.
    n_workers : int, optional
        Local workers (default: one per CPU, at most 4).
    memory_limit : str
        Memory per local worker; beyond it workers spill to disk.
    threads_per_worker : int
        Threads per local worker.
    dashboard : bool
        Serve the dask dashboard (on a free port of 127.0.0.1). Off by default: the
        scheduler then keeps only its health endpoint, on a free port of 127.0.0.1
        (never 8787, never another interface).

    Returns
    -------
    distributed.Client
    """
    from distributed import Client

    if address:
        try:
            return Client(address, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise ConfigError(
                f"Could not connect to the dask scheduler at {address!r} ({err}). "
                "Check the address, or leave it empty to start a local cluster."
            ) from err
    workers = n_workers or min(os.cpu_count() or 1, 4)
    # a client that starts its own LocalCluster also shuts it down on client.close()
    return Client(
        n_workers=workers,
        threads_per_worker=threads_per_worker,
        memory_limit=memory_limit,
        processes=True,
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": dashboard},
    )
