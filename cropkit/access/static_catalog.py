"""Static STAC catalogs read and written as plain JSON, exactly as published.

pystac (>= 1.15) migrates items on read (``proj:epsg`` becomes ``proj:code``), which is
right for analysis but wrong for a catalog that must look like the providers' own. The
demo therefore writes its self-contained catalog, and the local STAC API loads it,
with these two small functions that never rewrite a field.

Layout::

    catalog.json
    <collection>/collection.json
    <collection>/<item id>/<item id>.json     (assets beside it: ./B04.tif)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import DataError

__all__ = ["write_static_catalog", "read_static_catalog"]

STAC_VERSION = "1.0.0"


def _dump(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def _extent(items: list[dict]) -> dict:
    if not items:  # an empty collection still needs a valid extent
        return {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [[None, None]]},
        }
    boxes = [it["bbox"] for it in items]
    times = sorted(it["properties"]["datetime"] for it in items)
    return {
        "spatial": {
            "bbox": [
                [
                    min(b[0] for b in boxes),
                    min(b[1] for b in boxes),
                    max(b[2] for b in boxes),
                    max(b[3] for b in boxes),
                ]
            ]
        },
        "temporal": {"interval": [[times[0], times[-1]]]},
    }


def write_static_catalog(
    folder: str | Path, catalog: dict, collections: dict[str, tuple[dict, list[dict]]]
) -> Path:
    """Write a self-contained catalog.

    Parameters
    ----------
    folder : path-like
        Root folder (assets must already sit in ``<collection>/<item id>/``).
    catalog : dict
        ``id``, ``title`` and ``description`` of the root catalog.
    collections : dict
        Collection id -> (collection fields, list of item dicts). Items' extents
        fill the collection's ``extent``.

    Returns
    -------
    pathlib.Path
        Path of ``catalog.json``.
    """
    folder = Path(folder)
    root_links = [{"rel": "root", "href": "./catalog.json", "type": "application/json"}]
    for cid, (fields, items) in collections.items():
        links = [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
        ]
        for item in sorted(items, key=lambda it: (it["properties"]["datetime"], it["id"])):
            item = dict(item)
            item["collection"] = cid
            item["stac_version"] = STAC_VERSION
            item["links"] = [
                {"rel": "root", "href": "../../catalog.json", "type": "application/json"},
                {"rel": "parent", "href": "../collection.json", "type": "application/json"},
                {"rel": "collection", "href": "../collection.json", "type": "application/json"},
            ]
            _dump(folder / cid / item["id"] / f"{item['id']}.json", item)
            links.append(
                {
                    "rel": "item",
                    "href": f"./{item['id']}/{item['id']}.json",
                    "type": "application/geo+json",
                }
            )
        collection = {
            "type": "Collection",
            "stac_version": STAC_VERSION,
            "id": cid,
            **fields,
            "extent": _extent(items),
            "links": links,
        }
        _dump(folder / cid / "collection.json", collection)
        root_links.append(
            {"rel": "child", "href": f"./{cid}/collection.json", "type": "application/json"}
        )
    path = folder / "catalog.json"
    _dump(path, {"type": "Catalog", "stac_version": STAC_VERSION, **catalog, "links": root_links})
    return path


def _read_json(path: Path, kind: str) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(
            f"STAC {kind} {path} could not be read ({err}). The catalog is incomplete: "
            "rebuild it (for the demo: build_demo(..., force=True))."
        ) from err


def read_static_catalog(path: str | Path) -> Iterator[tuple[dict, list[dict]]]:
    """Yield ``(collection, items)`` of a static catalog, fields untouched.

    Asset hrefs of the items are made absolute (local paths) so that the caller can
    serve or rewrite them.

    Raises
    ------
    DataError
        If ``path`` is not a STAC catalog.
    """
    path = Path(path)
    root = _read_json(path, "catalog")
    for link in root.get("links", []):
        if link["rel"] != "child":
            continue
        cpath = (path.parent / link["href"]).resolve()
        collection = _read_json(cpath, "collection")
        items = []
        for ilink in collection.get("links", []):
            if ilink["rel"] != "item":
                continue
            ipath = (cpath.parent / ilink["href"]).resolve()
            item = _read_json(ipath, "item")
            for asset in item["assets"].values():
                if "://" not in asset["href"]:
                    asset["href"] = str((ipath.parent / asset["href"]).resolve())
            items.append(item)
        yield collection, items
