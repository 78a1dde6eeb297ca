import pytest

from cropkit.cluster import dask_client
from cropkit.errors import ConfigError


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


def test_unreachable_scheduler_is_explained():
    with pytest.raises(ConfigError, match="Could not connect to the dask scheduler"):
        dask_client("tcp://127.0.0.1:1")
