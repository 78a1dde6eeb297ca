import os

import pytest

from cropkit.core.cluster import dask_client
from cropkit.core.errors import ConfigError


def test_local_cluster_has_the_asked_workers_and_memory():
    client = dask_client(n_workers=1, memory_limit="1GiB")
    try:
        info = client.scheduler_info()
        workers = list(info["workers"].values())
        assert len(workers) == 1 and workers[0]["memory_limit"] == 2**30
        assert client.submit(sum, [1, 2, 3]).result() == 6
    finally:
        cluster = client.cluster
        client.close()
    assert cluster.status.name == "closed"


def test_threads_start_one_worker_in_this_process_with_every_thread_and_the_memory():
    client = dask_client("threads", n_workers=2, memory_limit="1GiB")
    try:
        (worker,) = client.scheduler_info()["workers"].values()
        assert worker["nthreads"] == 2 and worker["memory_limit"] == 2 * 2**30
        assert client.submit(os.getpid).result() == os.getpid()  # no worker process
    finally:
        client.close()


def test_unreachable_scheduler_is_explained():
    with pytest.raises(ConfigError, match="Could not connect to the dask scheduler"):
        dask_client("tcp://127.0.0.1:1")


def test_no_dashboard_unless_asked():
    import urllib.error
    import urllib.request

    for asked in (False, True):
        client = dask_client(n_workers=1, memory_limit="1GiB", dashboard=asked)
        try:
            port = client.scheduler_info()["services"]["dashboard"]
            assert port != 8787
            url = f"http://127.0.0.1:{port}/status"
            if asked:
                assert urllib.request.urlopen(url, timeout=10).status == 200
            else:
                with pytest.raises(urllib.error.HTTPError, match="404"):
                    urllib.request.urlopen(url, timeout=10)
        finally:
            client.close()


@pytest.mark.parametrize("address", [None, "threads"])
def test_every_server_of_a_local_cluster_listens_on_loopback_only(address):
    from sockets import ListeningWatch, beyond_loopback

    with ListeningWatch(interval=0.05) as watch:
        client = dask_client(address, n_workers=1, memory_limit="1GiB")
        try:
            assert client.submit(sum, [1, 2]).result() == 3
            watch.sample()  # while it is up, whatever the thread's timing
        finally:
            client.close()
    assert watch.opened, "the cluster opened no server: nothing was checked"
    assert beyond_loopback(watch.opened) == []


def test_the_summary_shows_no_dead_dashboard_link():
    from cropkit.core.cluster import summary

    client = dask_client("threads", n_workers=2, memory_limit="1GiB")
    try:
        assert summary(client) == {
            "scheduler": client.scheduler.address,
            "workers": 1,
            "threads": 2,
            "memory": "2.00 GiB",
            "dashboard": "off",
        }
    finally:
        client.close()
