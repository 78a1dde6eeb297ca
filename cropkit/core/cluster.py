"""The dask.distributed client that cropkit computes on.

By default a ``LocalCluster`` of processes on this machine, with a memory limit per
worker so that a zone larger than memory spills and streams instead of failing; or
:data:`THREADS`, one worker inside this process with a thread per core (GDAL and numpy
release the GIL and nothing is copied between processes: a little faster on the ``ci``
composites of ``benchmarks/bench_pipeline.py`` and on ``benchmarks/large_zone.py``, but
this process's own memory counts against the worker's limit); or any existing
scheduler, by address, for users with a real cluster.

Examples
--------
>>> client = dask_client()                           # doctest: +SKIP
>>> client = dask_client("threads")                  # doctest: +SKIP
>>> client = dask_client("tcp://scheduler:8786")     # doctest: +SKIP
"""

from __future__ import annotations

import os

from .errors import ConfigError

__all__ = ["THREADS", "dask_client", "memory_budget", "summary"]

#: The ``address`` that starts one worker in this process, with threads.
THREADS = "threads"


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
        ``LocalCluster`` of worker processes; :data:`THREADS` (``"threads"``) starts one
        worker in this process with ``n_workers * threads_per_worker`` threads and
        ``n_workers`` times the memory limit (which then counts this process's memory too).
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
    from dask.utils import parse_bytes
    from distributed import Client

    if address and address != THREADS:
        try:
            return Client(address, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise ConfigError(
                f"Could not connect to the dask scheduler at {address!r} ({err}). "
                "Check the address, or leave it empty to start a local cluster."
            ) from err
    workers = n_workers or min(os.cpu_count() or 1, 4)
    local = {  # every HTTP server on loopback: the scheduler's and the workers'
        "dashboard_address": "127.0.0.1:0",
        "worker_dashboard_address": "127.0.0.1:0",
        "scheduler_kwargs": {"dashboard": dashboard},
    }
    # a client that starts its own LocalCluster also shuts it down on client.close()
    if address == THREADS:
        client = Client(
            n_workers=1,
            threads_per_worker=workers * threads_per_worker,
            memory_limit=workers * parse_bytes(memory_limit),
            processes=False,
            **local,
        )
    else:
        client = Client(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            memory_limit=memory_limit,
            processes=True,
            host="127.0.0.1",  # the scheduler's and workers' TCP servers (threads: in-process)
            **local,
        )
    client.cropkit_dashboard = dashboard  # read by summary()
    return client


def summary(client) -> dict[str, object]:
    """What a client computes on, to show in a notebook in place of its repr.

    The client's own repr links its dashboard even when the dashboard is off (a dead
    link in a saved page); this names the workers, threads, memory and the dashboard's
    address only when there is one.

    Returns
    -------
    dict
        ``scheduler``, ``workers``, ``threads``, ``memory`` (e.g. ``"8.0 GiB"``) and
        ``dashboard`` (an address, or ``"off"``).
    """
    from dask.utils import format_bytes

    info = client.scheduler_info()
    workers = list(info.get("workers", {}).values())
    served = getattr(client, "cropkit_dashboard", True)  # False: started here without one
    return {
        "scheduler": client.scheduler.address,
        "workers": len(workers),
        "threads": sum(w.get("nthreads", 0) for w in workers),
        "memory": format_bytes(sum(w.get("memory_limit", 0) or 0 for w in workers)),
        "dashboard": client.dashboard_link if served else "off",
    }


def memory_budget() -> int:
    """Bytes a dataset may take in memory before it is streamed from its store.

    ``CROPKIT_MEMORY_LIMIT`` if set (bytes, or with a unit: ``"2GB"``, ``"512MiB"``),
    else half the memory available now.

    Raises
    ------
    ConfigError
        If ``CROPKIT_MEMORY_LIMIT`` is not a size.
    """
    import psutil
    from dask.utils import parse_bytes

    limit = os.environ.get("CROPKIT_MEMORY_LIMIT")
    if limit:
        try:
            return int(parse_bytes(limit))
        except ValueError:
            raise ConfigError(
                f"CROPKIT_MEMORY_LIMIT={limit!r} is not a size: give bytes or e.g. 2GB."
            ) from None
    return int(psutil.virtual_memory().available // 2)
