"""The IGN WFS client against a local server that answers like the Géoplateforme."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from cropkit.access.rpg import fetch_rpg, rpg_layer
from cropkit.core.errors import DataError, ServiceConnectionError


def rpg_feature(i):
    x, y = 1.40 + 0.001 * i, 48.40
    ring = [[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y + 0.001], [x, y]]
    return {
        "type": "Feature",
        "id": f"parcelles_graphiques.{i}",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {
            "id_parcel": f"{1000 + i}",
            "surf_parc": 0.81,
            "code_cultu": ["BTH", "MIS", "XYZ"][i % 3],
            "code_group": "1",
            "culture_d1": None,
            "culture_d2": None,
        },
    }


class FakeWfs(BaseHTTPRequestHandler):
    features = [rpg_feature(i) for i in range(7)]
    requests: list = []
    mode = "ok"

    def do_GET(self):  # noqa: N802 (http.server API)
        query = {k.upper(): v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        type(self).requests.append(query)
        if self.mode == "error":
            return self._send(500, b"<ExceptionReport>Unknown TYPENAMES</ExceptionReport>")
        if self.mode == "html":
            return self._send(200, b"<html>maintenance</html>")
        start, count = int(query["STARTINDEX"]), int(query["COUNT"])
        page = self.features[start : start + count]
        if self.mode == "wrong-layer":
            page = [{**f, "properties": {"nom": "x"}} for f in page]
        body = {"type": "FeatureCollection", "features": page}
        self._send(200, json.dumps(body).encode(), "application/json")

    def _send(self, status, body, kind="text/xml"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def wfs():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWfs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeWfs.requests, FakeWfs.mode = [], "ok"
    yield f"http://127.0.0.1:{server.server_port}/wfs/ows"
    server.shutdown()


def test_fetch_pages_through_the_service_and_renames_columns(wfs):
    parcels = fetch_rpg((1.40, 48.39, 1.42, 48.41), 2023, url=wfs, page_size=3)
    assert parcels["ID_PARCEL"].tolist() == [str(1000 + i) for i in range(7)]
    assert list(parcels.columns) == [
        "ID_PARCEL",
        "CODE_CULTU",
        "CODE_GROUP",
        "SURF_PARC",
        "geometry",
    ]
    assert parcels.crs.to_epsg() == 4326
    assert [r["STARTINDEX"] for r in FakeWfs.requests] == ["0", "3", "6", "7"]  # until empty
    first = FakeWfs.requests[0]
    assert first["TYPENAMES"] == "RPG.2023:parcelles_graphiques"
    assert first["BBOX"] == "48.39,1.4,48.41,1.42,urn:ogc:def:crs:EPSG::4326"  # lat first


def test_fetched_parcels_go_through_the_parcel_check(wfs):
    from cropkit.compute.labels import check_parcels

    parcels = fetch_rpg((1.40, 48.39, 1.42, 48.41), 2023, url=wfs)
    with pytest.warns(UserWarning, match=r"5 of 7 parcels kept.*XYZ: 2"):
        kept, report = check_parcels(parcels)
    assert report.unknown_codes == {"XYZ": 2} and len(kept) == 5


def test_service_errors_are_clear(wfs):
    FakeWfs.mode = "error"
    with pytest.raises(ServiceConnectionError, match="answered HTTP 500.*Unknown TYPENAMES"):
        fetch_rpg((1.4, 48.4, 1.5, 48.5), 2023, url=wfs)
    FakeWfs.mode = "html"
    with pytest.raises(DataError, match="did not answer GeoJSON"):
        fetch_rpg((1.4, 48.4, 1.5, 48.5), 2023, url=wfs)
    FakeWfs.mode = "wrong-layer"
    with pytest.raises(DataError, match=r"lacks the RPG fields \['code_cultu'"):
        fetch_rpg((1.4, 48.4, 1.5, 48.5), 2023, url=wfs)
    FakeWfs.mode = "ok"
    with pytest.raises(DataError, match="More than 4 RPG parcels"):
        fetch_rpg((1.4, 48.4, 1.5, 48.5), 2023, url=wfs, page_size=5, max_features=4)
    with pytest.raises(ServiceConnectionError, match="Could not reach"):
        fetch_rpg((1.4, 48.4, 1.5, 48.5), 2023, url="http://127.0.0.1:9/wfs", timeout=2)
    with pytest.raises(DataError, match="from 2015 on"):
        rpg_layer(2012)


def test_an_empty_area_says_so(wfs):
    FakeWfs.features = []
    try:
        with pytest.raises(DataError, match="has no parcel in"):
            fetch_rpg((1.4, 48.4, 1.5, 48.5), 2023, url=wfs)
    finally:
        FakeWfs.features = [rpg_feature(i) for i in range(7)]
