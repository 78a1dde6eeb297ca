from pathlib import Path

import numpy as np
import pytest
import rasterio
import requests

from cropkit.access.static_catalog import read_static_catalog
from cropkit.core.errors import MissingDependencyError
from cropkit.server import LocalStacServer
from cropkit.server import postgres as pg_module
from cropkit.server.reaper import alive

pytestmark = pytest.mark.server


def search(server, **body):
    r = requests.post(f"{server.url}/search", json={"limit": 500, **body}, timeout=30)
    r.raise_for_status()
    return r.json()["features"]


def test_reference_search_returns_exactly_these_items(stac_server):
    features = search(
        stac_server,
        collections=["sentinel-2-c1-l2a"],
        datetime="2023-06-01T00:00:00Z/2023-06-10T23:59:59Z",
        sortby=[{"field": "properties.datetime", "direction": "asc"}],
    )
    assert [f["id"] for f in features] == [
        "S2A_T31UCP_20230601T105629_L2A",
        "S2A_T31UCP_20230604T105629_L2A",
        "S2B_T31UCP_20230606T105629_L2A",
        "S2B_T31UCP_20230609T105629_L2A",
    ]
    s1 = search(
        stac_server,
        collections=["sentinel-1-rtc"],
        datetime="2023-06-01T00:00:00Z/2023-06-14T23:59:59Z",
    )
    assert sorted(f["id"] for f in s1) == [
        "S1A_IW_GRDH_1SDV_20230606T174514_31UCP_rtc",
        "S1A_IW_GRDH_1SDV_20230611T055414_31UCP_rtc",
    ]


def _catalog_cloud_cover(tiny_demo):
    for collection, items in read_static_catalog(tiny_demo.catalog_path):
        if collection["id"] == "sentinel-2-c1-l2a":
            return {it["id"]: it["properties"]["eo:cloud_cover"] for it in items}
    raise AssertionError("no sentinel-2-c1-l2a collection")


def test_cloud_cover_query_filters_exactly(stac_server, tiny_demo):
    cover = _catalog_cloud_cover(tiny_demo)
    expected = {i for i, c in cover.items() if c < 20}
    assert 5 < len(expected) < len(cover)
    got = search(
        stac_server, collections=["sentinel-2-c1-l2a"], query={"eo:cloud_cover": {"lt": 20}}
    )
    assert {f["id"] for f in got} == expected


def test_sorting_by_cloud_cover_is_numeric(stac_server, tiny_demo):
    got = search(
        stac_server,
        collections=["sentinel-2-c1-l2a"],
        sortby=[{"field": "properties.eo:cloud_cover", "direction": "asc"}],
    )
    values = [f["properties"]["eo:cloud_cover"] for f in got]
    assert len(values) == len(_catalog_cloud_cover(tiny_demo))
    assert values == sorted(values)
    assert any(v < 10 for v in values) and any(v > 10 for v in values)  # text order would fail


def test_items_are_served_as_published(stac_server):
    item = search(
        stac_server, ids=["S2A_T31UCP_20230601T105629_L2A"], collections=["sentinel-2-c1-l2a"]
    )[0]
    assert item["properties"]["proj:epsg"] == 32631
    assert item["assets"]["red"]["raster:bands"][0]["offset"] == -0.1
    assert item["assets"]["red"]["href"].startswith(f"{stac_server.url}/files/")


def test_cogs_are_read_over_http_with_ranges(stac_server, tiny_demo):
    item = search(
        stac_server, ids=["S2A_T31UCP_20230601T105629_L2A"], collections=["sentinel-2-c1-l2a"]
    )[0]
    href = item["assets"]["nir"]["href"]
    head = requests.get(href, headers={"Range": "bytes=0-15"}, timeout=10)
    assert head.status_code == 206 and len(head.content) == 16
    # byte ranges go out as stored, as object stores send them: not brotli'd by the API
    from cropkit.server.asgi import SERVED_PATH

    counters = stac_server.url + SERVED_PATH
    before = requests.get(counters, timeout=10).json()
    ranged = requests.get(
        href, headers={"Range": "bytes=100-4195", "Accept-Encoding": "br, gzip"}, timeout=10
    )
    assert ranged.status_code == 206 and "content-encoding" not in ranged.headers
    after = requests.get(counters, timeout=10).json()
    assert (after["requests"] - before["requests"], after["bytes"] - before["bytes"]) == (1, 4096)
    local = tiny_demo.root / "sentinel-2-c1-l2a" / item["id"] / "B08.tif"
    assert ranged.content == local.read_bytes()[100:4196]
    api = requests.get(stac_server.url + "/collections", headers={"Accept-Encoding": "br"})
    assert api.headers.get("content-encoding") == "br"  # the API's own middleware is kept
    with rasterio.open(href) as remote, rasterio.open(local) as disk:
        window = ((5, 25), (10, 40))
        np.testing.assert_array_equal(remote.read(1, window=window), disk.read(1, window=window))


def test_a_file_that_is_not_there_is_a_404_as_object_stores_answer(stac_server):
    """GDAL asks for sidecar files (``.msk``, ``.aux.xml``) that do not exist: it must be
    told "not found", not that the server failed."""
    item = search(
        stac_server, ids=["S2A_T31UCP_20230601T105629_L2A"], collections=["sentinel-2-c1-l2a"]
    )[0]
    sidecar = item["assets"]["nir"]["href"] + ".msk"
    for method in (requests.get, requests.head):
        assert method(sidecar, timeout=10).status_code == 404
    assert requests.get(stac_server.url + "/files/../secret", timeout=10).status_code == 404


def test_queryables_are_registered(stac_server):
    props = requests.get(f"{stac_server.url}/queryables", timeout=10).json()["properties"]
    assert props["eo:cloud_cover"]["type"] == "number"
    assert props["sat:orbit_state"]["enum"] == ["ascending", "descending"]


def test_loading_twice_changes_nothing(stac_server, tiny_demo):
    before = len(search(stac_server, collections=["sentinel-2-c1-l2a"]))
    counts = stac_server.add_catalog(tiny_demo)
    assert (
        counts["sentinel-2-c1-l2a"]
        == before
        == len(search(stac_server, collections=["sentinel-2-c1-l2a"]))
    )


def test_stop_leaves_nothing_behind(tiny_demo):
    server = LocalStacServer().start()
    root, process, port = server.pg.root, server.process, server.port
    assert root.exists()
    server.stop()
    assert not root.exists()
    assert process.poll() is not None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}", timeout=2)
    assert server.timings["stop_s"] < 10


def test_shared_server_is_reused_by_demo_api(stac_server, monkeypatch):
    from cropkit import server as server_module

    for key, value in stac_server.export_env().items():
        monkeypatch.setenv(key, value)
    api = server_module.demo_api()
    assert api.url == stac_server.url
    api.stop()  # an attached server is never stopped by a guest
    assert requests.get(stac_server.url, timeout=5).status_code == 200


def test_missing_postgis_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(pg_module.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pg_module.shutil, "which", lambda name: None)
    monkeypatch.delenv("CROPKIT_PG_BINDIR", raising=False)
    with pytest.raises(MissingDependencyError, match="apt-get install postgresql"):
        pg_module.find_postgres()
    (tmp_path / "postgres").touch()
    (tmp_path / "initdb").touch()
    monkeypatch.setenv("CROPKIT_PG_BINDIR", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="without the PostGIS extension"):
        pg_module.find_postgres()


def test_start_failure_cleans_up(monkeypatch):
    server = LocalStacServer()

    def fail(timeout):
        raise RuntimeError("boom")

    monkeypatch.setattr(server, "_wait", fail)
    with pytest.raises(RuntimeError, match="boom"):
        server.start()
    assert server.pg is None and server.process is None


def test_reaper_cleans_up_after_a_killed_owner(tmp_path):
    """A server whose owner is SIGKILLed (a killed kernel) is stopped by its watcher."""
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import time; from cropkit.server import LocalStacServer\n"
        "s = LocalStacServer().start()\n"
        "print(s.pg.root, s.port, s.process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    root, port, uvicorn_pid = owner.stdout.readline().split()
    assert requests.get(f"http://127.0.0.1:{port}", timeout=5).status_code == 200
    owner.send_signal(signal.SIGKILL)  # no atexit, no stop()
    owner.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(root).exists():
        time.sleep(0.5)
    assert not Path(root).exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}", timeout=2)
    assert not alive(int(uvicorn_pid))


def test_the_database_refuses_anyone_without_the_runs_password(stac_server):
    import psycopg

    pg = stac_server.pg
    with psycopg.connect(pg.dsn) as conn:  # the run's own connection string works
        assert conn.execute("select 1").fetchone() == (1,)
    no_secret = f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
    for dsn in (no_secret, no_secret.replace("postgres@", "postgres:guess@")):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(dsn, connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match="password"):  # nor over the socket
        psycopg.connect(host=str(pg.root), port=pg.port, user="postgres", dbname="postgres")
    assert pg.root.stat().st_mode & 0o077 == 0  # no other user may enter the socket's folder
    assert not (pg.root / "password").exists()  # read by initdb, then gone


def test_the_api_and_the_database_listen_on_loopback_only(stac_server):
    from sockets import beyond_loopback, listening

    ours = {s for s in listening() if s[1] in (stac_server.port, stac_server.pg.port)}
    assert {port for _, port in ours} == {stac_server.port, stac_server.pg.port}
    assert beyond_loopback(ours) == []
