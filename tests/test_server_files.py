"""The COG file server: byte ranges as object stores answer them."""

import threading

import numpy as np
import pytest
import rasterio
import requests
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from rasterio.transform import from_origin

from cropkit.server import files
from cropkit.server.files import RangeFiles, parse_range

CONTENT = bytes(range(256)) * 40  # 10,240 bytes, every offset recognisable


class Client:
    """``requests`` against a live uvicorn serving a folder with :class:`RangeFiles`."""

    def __init__(self, folder):
        self.server = uvicorn.Server(
            uvicorn.Config(RangeFiles(folder), port=0, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            pass
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def __getattr__(self, method):
        return lambda path, **kw: requests.request(method, self.url + path, timeout=10, **kw)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("files")
    served = tmp_path / "served"
    (served / "scene").mkdir(parents=True)
    (served / "scene" / "B04.tif").write_bytes(CONTENT)
    (served / "scene" / "odd %41 name.tif").write_bytes(CONTENT[:100])
    (tmp_path / "secret.txt").write_text("outside")
    (served / "leak.txt").symlink_to(tmp_path / "secret.txt")
    data = np.arange(300 * 200, dtype="uint16").reshape(300, 200)
    profile = dict(driver="COG", width=200, height=300, count=1, dtype="uint16", blocksize=64)
    geo = dict(crs="EPSG:32631", transform=from_origin(400000, 5300000, 10, 10))
    with rasterio.open(served / "cog.tif", "w", **profile, **geo) as dst:
        dst.write(data, 1)
    client = Client(served)
    yield client
    client.stop()


def test_a_range_is_the_bytes_of_the_file_with_its_content_range(client):
    reply = client.get("/scene/B04.tif", headers={"Range": "bytes=100-4195"})
    assert reply.status_code == 206
    assert reply.content == CONTENT[100:4196]
    assert reply.headers["content-range"] == "bytes 100-4195/10240"
    assert reply.headers["content-length"] == "4096"
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["content-type"] == "image/tiff"


@pytest.mark.parametrize(
    "header, span",
    [
        ("bytes=10000-", (10000, 10240)),
        ("bytes=-16", (10224, 10240)),
        ("bytes=10200-99999", (10200, 10240)),
    ],
)
def test_open_ended_suffix_and_overlong_ranges_are_clipped_to_the_file(client, header, span):
    reply = client.get("/scene/B04.tif", headers={"Range": header})
    assert reply.status_code == 206
    assert reply.content == CONTENT[span[0] : span[1]]
    assert reply.headers["content-range"] == f"bytes {span[0]}-{span[1] - 1}/10240"


def test_head_gives_the_size_without_a_body_and_get_without_range_the_whole_file(client):
    head = client.head("/scene/B04.tif")
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "10240", b"")
    whole = client.get("/scene/B04.tif")
    assert (whole.status_code, whole.content) == (200, CONTENT)


def test_a_range_past_the_end_is_416_with_the_size(client):
    reply = client.get("/scene/B04.tif", headers={"Range": "bytes=10240-10300"})
    assert reply.status_code == 416
    assert reply.headers["content-range"] == "bytes */10240"


def test_an_invalid_range_is_ignored_as_rfc_9110_asks(client):
    for header in ("bytes=50-10", "pages=1-2", "bytes=-"):
        reply = client.get("/scene/B04.tif", headers={"Range": header})
        assert (reply.status_code, reply.content) == (200, CONTENT), header


def test_several_ranges_get_a_multipart_answer(client):
    reply = client.get("/scene/B04.tif", headers={"Range": "bytes=0-9, 20-29"})
    assert reply.status_code == 206
    assert reply.headers["content-type"].startswith("multipart/byteranges")
    assert CONTENT[0:10] in reply.content and CONTENT[20:30] in reply.content


def test_a_large_range_is_streamed_with_the_same_bytes(client, monkeypatch):
    monkeypatch.setattr(files, "STREAM_ABOVE", 1000)
    reply = client.get("/scene/B04.tif", headers={"Range": "bytes=5-5004"})
    assert (reply.status_code, reply.content) == (206, CONTENT[5:5005])


@pytest.mark.parametrize(
    "path", ["/scene/B05.tif", "/scene", "/", "/../secret.txt", "/%2e%2e/secret.txt", "/leak.txt"]
)
def test_what_is_not_a_file_under_the_folder_is_404(client, path):
    assert client.get(path).status_code == 404


def test_a_name_with_spaces_and_percent_signs_is_found_as_written(client):
    reply = client.get("/scene/odd%20%2541%20name.tif")
    assert (reply.status_code, reply.content) == (200, CONTENT[:100])


def test_other_methods_are_405(client):
    reply = client.post("/scene/B04.tif")
    assert reply.status_code == 405 and reply.headers["allow"] == "GET, HEAD"


def test_gdal_reads_a_cog_through_it_as_from_disk(client):
    """GDAL's own HTTP reads (HEAD, header, tiles) through the live server."""
    data = np.arange(300 * 200, dtype="uint16").reshape(300, 200)
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):
        with rasterio.open(f"{client.url}/cog.tif") as remote:
            window = ((70, 250), (30, 190))
            np.testing.assert_array_equal(remote.read(1, window=window), data[70:250, 30:190])


@given(first=st.integers(0, 12000), length=st.integers(1, 12000))
def test_every_satisfiable_range_is_the_slice_python_gives(first, length):
    header = f"bytes={first}-{first + length - 1}"
    if first >= len(CONTENT):
        with pytest.raises(ValueError, match="past the end"):
            parse_range(header, len(CONTENT))
    else:
        start, stop = parse_range(header, len(CONTENT))
        assert CONTENT[start:stop] == CONTENT[first : first + length]
