"""A real STAC API on localhost, serving the embedded demo.

:class:`LocalStacServer` starts a throwaway PostgreSQL + PostGIS cluster, installs
pgstac with pypgstac, registers numeric queryables, and runs stac-fastapi-pgstac with
uvicorn on 127.0.0.1; the demo's COGs are served by the same process under ``/files``
with HTTP Range support. One server can serve a whole run of notebooks (the runner
exports its address in ``CROPKIT_STAC_API`` and ``CROPKIT_STAC_DSN``), and a notebook
run on its own starts one on demand with :func:`demo_api`. A watcher process
(:mod:`cropkit.server.reaper`) stops the server and removes its cluster if the owning
process dies without stopping it, as a killed Jupyter kernel does.

Examples
--------
>>> from cropkit.demo import build_demo
>>> with LocalStacServer() as api:  # doctest: +SKIP
...     api.add_catalog(build_demo("chartres", 2023))
...     print(api.url)
http://127.0.0.1:40123
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from ..access.static_catalog import read_static_catalog
from ..core.errors import ServerError
from ..core.paths import cache_dir
from .postgres import PostgresCluster, free_port

__all__ = ["LocalStacServer", "demo_api", "NUMERIC_QUERYABLES"]

#: Item properties registered as numeric queryables (so sorting is numeric).
NUMERIC_QUERYABLES = {
    "eo:cloud_cover": {"type": "number", "minimum": 0, "maximum": 100, "title": "Cloud cover (%)"},
    "s2:nodata_pixel_percentage": {"type": "number", "minimum": 0, "maximum": 100},
    "sat:relative_orbit": {"type": "integer", "minimum": 1},
    "s1:incidence_angle": {"type": "number"},
}
_TEXT_QUERYABLES = {
    "platform": {"type": "string"},
    "s2:mgrs_tile": {"type": "string"},
    "sat:orbit_state": {"type": "string", "enum": ["ascending", "descending"]},
}

#: stac-fastapi extensions the local API enables (``query`` is what Earth Search supports).
API_EXTENSIONS = (
    "query",
    "sort",
    "fields",
    "filter",
    "pagination",
    "collection_search",
    "free_text",
)

ENV_URL = "CROPKIT_STAC_API"
ENV_DSN = "CROPKIT_STAC_DSN"
ENV_FILES = "CROPKIT_STAC_FILES"


class LocalStacServer:
    """stac-fastapi-pgstac on a throwaway PostgreSQL cluster, bound to 127.0.0.1.

    Parameters
    ----------
    files_root : path-like, optional
        Folder served under ``/files`` (the demo cache by default); catalogs added
        from inside it get HTTP asset hrefs, others keep local file paths.
    port : int, optional
        Port of the API (a free one by default).
    """

    def __init__(self, files_root: str | Path | None = None, port: int | None = None) -> None:
        self.files_root = Path(files_root or cache_dir("demo")).resolve()
        self._requested_port = port
        self.port = port or 0
        self._log = None
        self._reaper: subprocess.Popen | None = None
        self.pg: PostgresCluster | None = None
        self.process: subprocess.Popen | None = None
        self._dsn: str | None = None
        self.timings: dict[str, float] = {}

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Root URL of the STAC API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def files_url(self) -> str:
        """URL under which ``files_root`` is served."""
        return f"{self.url}/files"

    @property
    def dsn(self) -> str:
        """Connection string of the pgstac database."""
        if self._dsn is None:
            raise ServerError("The server is not running; call start() first.")
        return self._dsn

    def start(self, timeout: float = 60.0) -> LocalStacServer:
        """Start PostgreSQL, install pgstac and launch the API; returns when it answers.

        On any failure everything already started is stopped and removed.
        """
        from pypgstac.db import PgstacDB
        from pypgstac.migrate import Migrate

        t0 = time.perf_counter()
        try:
            self.pg = PostgresCluster().start()
            self._dsn = self.pg.dsn
            with PgstacDB(dsn=self._dsn) as db:
                Migrate(db).run_migration()
                self._register_queryables(db)
            env = {
                **os.environ,
                "PGUSER": "postgres",
                "PGPASSWORD": self.pg.password,  # the API's only: the cluster's secret
                "PGHOST": "127.0.0.1",
                "PGPORT": str(self.pg.port),
                "PGDATABASE": "postgres",
                "CROPKIT_FILES_DIR": str(self.files_root),
                "ENABLED_EXTENSIONS": ",".join(API_EXTENSIONS),
            }
            if self._requested_port is None:
                self.port = free_port()  # chosen as late as possible
            self._log = open(self.pg.root / "uvicorn.log", "w")  # noqa: SIM115 (closed in stop)
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "cropkit.server.asgi:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            self._wait(timeout)
            self._reaper = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cropkit.server.reaper",
                    str(os.getpid()),
                    str(self.process.pid),
                    str(self.pg.root),
                    str(self.pg.port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            self.stop()
            raise
        self.timings["start_s"] = round(time.perf_counter() - t0, 2)
        return self

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                log = (self.pg.root / "uvicorn.log").read_text() if self.pg and self.pg.root else ""
                raise ServerError(f"The STAC API exited at start-up:\n{log[-2000:]}")
            try:
                if requests.get(self.url, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise ServerError(f"The STAC API did not answer on {self.url} within {timeout:.0f} s.")

    def stop(self) -> None:
        """Stop the API and PostgreSQL and delete the cluster."""
        t0 = time.perf_counter()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.pg is not None:
            self.pg.stop()
            self.pg = None
        if self._reaper is not None:  # it sees the cluster gone and exits
            try:
                self._reaper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._reaper.kill()
            self._reaper = None
        self.timings["stop_s"] = round(time.perf_counter() - t0, 2)

    def __enter__(self) -> LocalStacServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def export_env(self) -> dict[str, str]:
        """Environment variables that let child processes (notebooks) reuse this server."""
        return {ENV_URL: self.url, ENV_DSN: self.dsn, ENV_FILES: str(self.files_root)}

    # -- content --------------------------------------------------------------------------
    @staticmethod
    def _register_queryables(db) -> None:
        rows = [(k, v, "to_float") for k, v in NUMERIC_QUERYABLES.items()]
        rows += [(k, v, "to_text") for k, v in _TEXT_QUERYABLES.items()]
        for name, definition, wrapper in rows:
            db.query_one(
                "INSERT INTO pgstac.queryables "
                "(name, definition, property_wrapper, property_index_type) "
                "VALUES (%s, %s::jsonb, %s, 'BTREE') RETURNING name",
                (name, json.dumps(definition), wrapper),
            )

    def _href(self, path: str) -> str:
        resolved = Path(path).resolve()
        try:
            rel = resolved.relative_to(self.files_root)
        except ValueError:
            return str(resolved)  # outside the served folder: GDAL reads the local file
        return f"{self.files_url}/{rel.as_posix()}"

    def add_catalog(self, catalog: str | Path | object) -> dict[str, int]:
        """Load a static STAC catalog (or a :class:`~cropkit.demo.DemoData`) into the API.

        Items are loaded as they are on disk (no pystac migration: ``proj:epsg`` stays
        ``proj:epsg``, as Earth Search serves it); asset hrefs become HTTP URLs of the
        file server. Loading is an upsert: adding the same catalog twice changes nothing.

        Returns
        -------
        dict
            Number of items loaded per collection.
        """
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods

        path = Path(getattr(catalog, "catalog_path", catalog))
        counts: dict[str, int] = {}
        with PgstacDB(dsn=self.dsn) as db:
            loader = Loader(db)
            for collection, items in read_static_catalog(path):
                collection = {k: v for k, v in collection.items() if k != "links"}
                existing = db.query_one(
                    "SELECT content FROM pgstac.collections WHERE id=%s", (collection["id"],)
                )
                if existing:
                    collection["extent"] = _merge_extents(existing["extent"], collection["extent"])
                loader.load_collections([collection], Methods.upsert)
                for item in items:
                    item["links"] = []
                    for asset in item["assets"].values():
                        asset["href"] = self._href(asset["href"])
                loader.load_items(iter(items), Methods.upsert)
                counts[collection["id"]] = len(items)
        return counts


def _merge_extents(a: dict, b: dict) -> dict:
    boxes = a["spatial"]["bbox"] + b["spatial"]["bbox"]
    union = [
        min(x[0] for x in boxes),
        min(x[1] for x in boxes),
        max(x[2] for x in boxes),
        max(x[3] for x in boxes),
    ]
    times = a["temporal"]["interval"] + b["temporal"]["interval"]
    starts = [t[0] for t in times if t and t[0]]
    ends = [t[1] for t in times if t and t[1]]
    return {
        "spatial": {"bbox": [union]},
        "temporal": {"interval": [[min(starts) if starts else None, max(ends) if ends else None]]},
    }


_ON_DEMAND: LocalStacServer | None = None


class _Attached(LocalStacServer):
    """A server started by another process (the notebook runner); never stopped here."""

    def __init__(self, url: str, dsn: str, files_root: str) -> None:
        super().__init__(files_root=files_root, port=int(url.rsplit(":", 1)[1]))
        self._dsn = dsn

    def stop(self) -> None:  # the owner stops it
        return None


def demo_api(demo=None) -> LocalStacServer:
    """The local STAC API for this process, loaded with ``demo``.

    Reuses the server named by ``CROPKIT_STAC_API`` / ``CROPKIT_STAC_DSN`` when one
    answers (``make demo`` runs every notebook against one server), else starts one
    that lives until the Python process exits.

    Parameters
    ----------
    demo : cropkit.demo.DemoData, optional
        Catalog to make available (loaded if not already).
    """
    global _ON_DEMAND
    server: LocalStacServer | None = None
    url, dsn = os.environ.get(ENV_URL), os.environ.get(ENV_DSN)
    if url and dsn:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                server = _Attached(url, dsn, os.environ.get(ENV_FILES, str(cache_dir("demo"))))
        except requests.RequestException:
            server = None
    if server is None:
        if _ON_DEMAND is None:
            _ON_DEMAND = LocalStacServer().start()
            atexit.register(_ON_DEMAND.stop)
        server = _ON_DEMAND
    if demo is not None:
        server.add_catalog(demo)
    return server
