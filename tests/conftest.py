"""Shared fixtures: a tiny demo, built once per session in a private cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Keep everything the tests generate out of the user's cache."""
    path = tmp_path_factory.mktemp("cropkit-cache")
    old = os.environ.get("CROPKIT_CACHE_DIR")
    os.environ["CROPKIT_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("CROPKIT_CACHE_DIR", None)
    else:
        os.environ["CROPKIT_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def tiny_demo(private_cache):
    """Chartres 2023 on two 64 x 64 zones: every collection, a few seconds to build."""
    from cropkit.demo import build_demo

    return build_demo("chartres", 2023, profile="ci", zone_px=64, enmap_scenes=2)


@pytest.fixture(scope="session")
def stac_server(tiny_demo):
    """A local STAC API with the tiny demo loaded (skipped without PostGIS, unless CI)."""
    from cropkit.errors import MissingDependencyError
    from cropkit.server import LocalStacServer

    try:
        server = LocalStacServer().start()
    except MissingDependencyError as err:
        if os.environ.get("CROPKIT_REQUIRE_SERVER"):
            raise
        pytest.skip(f"local STAC API unavailable: {err}")
    server.add_catalog(tiny_demo)
    yield server
    server.stop()
