"""ASGI application of the local STAC API: stac-fastapi-pgstac plus a COG file server.

Run by uvicorn in a child process (``uvicorn cropkit.server.asgi:create_app --factory``).
The STAC API reads its database settings from the ``PG*`` environment variables; the
folder named by ``CROPKIT_FILES_DIR`` is served under ``/files`` by
:class:`cropkit.server.files.RangeFiles` (HTTP byte ranges, which GDAL needs to read COGs
over HTTP, answered as object stores answer them), without the API's response
compression: object stores send COG byte ranges as they are, and brotli over already
deflated tiles only costs the server time on every range request.

``GET /_cropkit/files-served`` counts the file requests and the bytes sent since the
server started: what reading the demo costs in transfer, as a remote archive would
bill it (``benchmarks/bench_pipeline.py``).
"""

from __future__ import annotations

import os

from stac_fastapi.pgstac.app import create_app as create_stac_app
from starlette.responses import JSONResponse

from .files import RangeFiles

__all__ = ["create_app", "FILES_PREFIX", "SERVED_PATH"]

FILES_PREFIX = "/files"
#: Counters of the file server: ``{"requests": n, "bytes": b}`` since it started.
SERVED_PATH = "/_cropkit/files-served"


def create_app():
    """The STAC API, with the demo files under ``/files`` when ``CROPKIT_FILES_DIR`` is set.

    Requests under ``/files`` go straight to the file server, past the API's middleware
    (brotli compression, CORS); the rest, lifespan included, to the API.
    """
    api = create_stac_app()
    files = os.environ.get("CROPKIT_FILES_DIR")
    if not files:
        return api
    static = RangeFiles(files)
    served = {"requests": 0, "bytes": 0}

    async def app(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(FILES_PREFIX + "/"):
            served["requests"] += 1

            async def counted(message):
                if message["type"] == "http.response.body":
                    served["bytes"] += len(message.get("body", b""))
                await send(message)

            root = scope.get("root_path", "") + FILES_PREFIX
            await static({**scope, "root_path": root}, receive, counted)
        elif scope["type"] == "http" and path == SERVED_PATH:
            await JSONResponse(dict(served))(scope, receive, send)
        else:
            await api(scope, receive, send)

    return app
