"""ASGI application of the local STAC API: stac-fastapi-pgstac plus a COG file server.

Run by uvicorn in a child process (``uvicorn cropkit.server.asgi:create_app --factory``).
The STAC API reads its database settings from the ``PG*`` environment variables; the
folder named by ``CROPKIT_FILES_DIR`` is served under ``/files`` with HTTP Range
support, which GDAL needs to read COGs over HTTP, and without the API's response
compression: object stores send COG byte ranges as they are, and brotli over already
deflated tiles only costs the server time on every range request.
"""

from __future__ import annotations

import os

from stac_fastapi.pgstac.app import create_app as create_stac_app
from starlette.staticfiles import StaticFiles

__all__ = ["create_app", "FILES_PREFIX"]

FILES_PREFIX = "/files"


def create_app():
    """The STAC API, with the demo files under ``/files`` when ``CROPKIT_FILES_DIR`` is set.

    Requests under ``/files`` go straight to the file server, past the API's middleware
    (brotli compression, CORS); the rest, lifespan included, to the API.
    """
    api = create_stac_app()
    files = os.environ.get("CROPKIT_FILES_DIR")
    if not files:
        return api
    static = StaticFiles(directory=files)

    async def app(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(FILES_PREFIX + "/"):
            root = scope.get("root_path", "") + FILES_PREFIX
            await static({**scope, "root_path": root}, receive, send)
        else:
            await api(scope, receive, send)

    return app
