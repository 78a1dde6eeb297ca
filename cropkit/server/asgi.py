"""ASGI application of the local STAC API: stac-fastapi-pgstac plus a COG file server.

Run by uvicorn in a child process (``uvicorn cropkit.server.asgi:create_app --factory``).
The STAC API reads its database settings from the ``PG*`` environment variables; the
folder named by ``CROPKIT_FILES_DIR`` is served under ``/files`` with HTTP Range
support, which GDAL needs to read COGs over HTTP.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from stac_fastapi.pgstac.app import create_app as create_stac_app
from starlette.staticfiles import StaticFiles

__all__ = ["create_app", "FILES_PREFIX"]

FILES_PREFIX = "/files"


def create_app() -> FastAPI:
    """Build the STAC API app with the demo files mounted under ``/files``."""
    app = create_stac_app()
    files = os.environ.get("CROPKIT_FILES_DIR")
    if files:
        app.mount(FILES_PREFIX, StaticFiles(directory=files), name="files")
    return app
