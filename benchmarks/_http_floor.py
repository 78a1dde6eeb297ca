"""The HTTP floor: the windows of COGs a pipeline needs, read over HTTP with the least work.

A perfect reader of a window of a tiled COG over HTTP makes one range request for the
header (the file's first :data:`HEADER_BYTES`, as GDAL's first read; the file's size
comes back in ``Content-Range``, so no ``HEAD``), then one request per run of tiles that
lie next to each other in the file (none for tiles inside the header's bytes), and
decodes each tile (deflate and the predictor, by :mod:`tifffile`), over kept-alive
connections of :mod:`urllib3` (one pool per thread). No GDAL, no xarray, no dask:
``bench_pipeline.py`` times this with as many requests in flight as cropkit's reading
uses, as the least any reader could take over the same server.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tifffile
import urllib3

__all__ = ["HEADER_BYTES", "RangeFile", "read_window", "read_windows", "tile_runs"]

#: Bytes of the header request (GDAL_INGESTED_BYTES_AT_OPEN's default).
HEADER_BYTES = 16384
#: Tiles at most this many bytes apart are fetched in one request (a COG's tiles are
#: separated by GDAL's 4-byte leader and trailer).
MERGE_GAP = 1024


class RangeFile(io.RawIOBase):
    """A file on an HTTP server as a seekable binary file, read by byte ranges.

    The first :data:`HEADER_BYTES` are fetched at once; a read beyond them is a range
    request of its own. ``requests`` and ``received`` count what was fetched.
    """

    def __init__(self, http: urllib3.PoolManager, url: str, header_bytes: int = HEADER_BYTES):
        super().__init__()
        self.http, self.url = http, url
        self.requests = self.received = 0
        self.size = 0
        self._pos = 0
        self.header = self.fetch(0, header_bytes)

    def fetch(self, start: int, stop: int) -> bytes:
        """Bytes ``[start, stop)`` of the file, in one range request."""
        answer = self.http.request(
            "GET", self.url, headers={"Range": f"bytes={start}-{stop - 1}"}, timeout=60
        )
        if answer.status not in (200, 206):
            raise OSError(f"HTTP {answer.status} for bytes {start}-{stop - 1} of {self.url}")
        body = answer.data
        self.requests += 1
        self.received += len(body)
        if answer.status == 206:
            self.size = int(answer.headers["Content-Range"].rsplit("/", 1)[1])
        else:  # the server sent the whole file
            self.size, body = len(body), body[start:stop]
        return body

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self.size - self._pos))
        if n == 0:
            return 0
        stop = self._pos + n
        if stop <= len(self.header):
            data = self.header[self._pos : stop]
        else:
            data = self.fetch(self._pos, stop)
        buffer[:n] = data
        self._pos = stop
        return n


def tile_runs(
    indices: Sequence[int], offsets: Sequence[int], counts: Sequence[int], gap: int = MERGE_GAP
) -> list[list[int]]:
    """Tiles grouped into runs that lie within ``gap`` bytes of each other in the file.

    Examples
    --------
    >>> tile_runs([0, 1, 4], offsets=[100, 208, 300, 400, 5000], counts=[100, 50, 50, 50, 50])
    [[0, 1], [4]]
    """
    runs: list[list[int]] = []
    for i in sorted(indices, key=lambda k: offsets[k]):
        if runs and 0 <= offsets[i] - (offsets[runs[-1][-1]] + counts[runs[-1][-1]]) <= gap:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def read_window(
    http: urllib3.PoolManager, url: str, window: tuple[tuple[int, int], tuple[int, int]]
) -> tuple[np.ndarray, int, int]:
    """The pixels of ``window`` of a single-band tiled COG, at full resolution.

    Parameters
    ----------
    http : urllib3.PoolManager
    url : str
    window : tuple
        ``((row_start, row_stop), (col_start, col_stop))`` inside the file.

    Returns
    -------
    pixels : numpy.ndarray
        ``(rows, cols)`` in the file's data type.
    requests : int
    received : int
        Range requests made and bytes received.
    """
    (r0, r1), (c0, c1) = window
    with RangeFile(http, url) as fh, tifffile.TiffFile(fh) as tif:
        page = tif.pages.first
        height, width = page.shape[:2]
        if not (0 <= r0 < r1 <= height and 0 <= c0 < c1 <= width):
            raise ValueError(f"window {window} is not inside {url}'s {height} x {width} pixels")
        th, tw = page.tilelength, page.tilewidth
        across = -(-width // tw)
        wanted = [
            r * across + c
            for r in range(r0 // th, (r1 - 1) // th + 1)
            for c in range(c0 // tw, (c1 - 1) // tw + 1)
        ]
        offsets, counts = page.dataoffsets, page.databytecounts
        out = np.empty((r1 - r0, c1 - c0), dtype=page.dtype)
        for run in tile_runs(wanted, offsets, counts):
            start, stop = offsets[run[0]], offsets[run[-1]] + counts[run[-1]]
            # tiles the header request brought along (a small file) are not fetched again
            blob = fh.header[start:stop] if stop <= len(fh.header) else fh.fetch(start, stop)
            for i in run:
                at = offsets[i] - start
                tile = page.decode(blob[at : at + counts[i]], i)[0][0, :, :, 0]
                top, left = (i // across) * th, (i % across) * tw
                y0, y1 = max(r0, top), min(r1, top + th)
                x0, x1 = max(c0, left), min(c1, left + tw)
                out[y0 - r0 : y1 - r0, x0 - c0 : x1 - c0] = tile[
                    y0 - top : y1 - top, x0 - left : x1 - left
                ]
        return out, fh.requests, fh.received


def read_windows(
    reads: Iterable[tuple[str, tuple[tuple[int, int], tuple[int, int]]]], in_flight: int
) -> tuple[list[np.ndarray], int, int]:
    """:func:`read_window` of every ``(url, window)``, ``in_flight`` at a time.

    One :class:`urllib3.PoolManager` (a kept-alive connection) per thread. Returns the
    pixels in order, the requests made and the bytes received.
    """
    local, pools = threading.local(), []

    def one(read):
        if not hasattr(local, "http"):
            local.http = urllib3.PoolManager(maxsize=1)
            pools.append(local.http)
        return read_window(local.http, *read)

    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        done = list(pool.map(one, reads))
    for http in pools:
        http.clear()
    return [d[0] for d in done], sum(d[1] for d in done), sum(d[2] for d in done)
