"""The demo's COG file server: byte ranges read with one ``pread``, as object stores serve them.

GDAL reads a COG over HTTP as a HEAD (its size), the header's first bytes, then one
range request per run of tiles: a season of a demo region is thousands of small range
requests. Starlette's ``StaticFiles`` answers each by opening, seeking, reading in
64 KiB pieces and closing the file in a worker thread, a thread hop per step: 1.5-1.9 ms
of server CPU per request here, against 0.04-0.05 ms for one ``os.pread`` on the event
loop (``benchmarks/bench_pipeline.py`` reads 2843 ranges for the ``ci`` season, the
``large`` zone about 20,000). The files are local and small pieces of them are read, so
the loop is never held for long; ranges over :data:`STREAM_ABOVE` bytes and multi-range
requests (``multipart/byteranges``) are left to ``StaticFiles``, which streams them.

Answers as object stores do: ``206`` with ``Content-Range`` for a range, ``200`` with the
whole file without one, ``416`` for a range that starts past the end, ``404`` for a path
that is not a file under the served folder (GDAL asks for ``.msk`` sidecars), ``405`` for
a method other than GET and HEAD.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
from email.utils import formatdate
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles

__all__ = ["RangeFiles", "STREAM_ABOVE", "parse_range"]

#: Bodies larger than this (bytes) are streamed by Starlette instead of read at once.
STREAM_ABOVE = 16 * 1024 * 1024

_SINGLE_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The ``[start, stop)`` byte span of a single-range ``Range`` header.

    Parameters
    ----------
    header : str
        ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` (the last ``n`` bytes).
    size : int
        Size of the file.

    Returns
    -------
    tuple of int or None
        ``(start, stop)``, ``stop`` clipped to ``size``; ``None`` when the header is not
        a single byte range (a server then ignores it and sends the whole file).

    Raises
    ------
    ValueError
        When the range cannot be satisfied (it starts at or past the end of the file,
        or asks for the last 0 bytes): the server answers 416.

    Examples
    --------
    >>> parse_range("bytes=0-15", 100), parse_range("bytes=90-", 100), parse_range("bytes=-10", 100)
    ((0, 16), (90, 100), (90, 100))
    """
    match = _SINGLE_RANGE.match(header)
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # suffix: the last n bytes
        length = int(last)
        if length == 0 or size == 0:
            raise ValueError(f"range {header!r} asks for no bytes of a {size}-byte file")
        return max(size - length, 0), size
    start = int(first)
    stop = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        return None  # invalid: ignored, as RFC 9110 asks
    if start >= size:
        raise ValueError(f"range {header!r} starts past the end of a {size}-byte file")
    return start, stop


class RangeFiles:
    """ASGI app serving the files under ``directory``, single byte ranges with ``pread``.

    Parameters
    ----------
    directory : path-like
        The folder served; a request path is a path relative to it.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.root = Path(directory).resolve()
        self._streaming = StaticFiles(directory=self.root)

    def _file(self, scope) -> tuple[Path, os.stat_result] | None:
        """The file a request names and its status, or None if not a file under the root."""
        path = scope.get("path", "")
        root_path = scope.get("root_path", "")
        # ASGI gives the path percent-decoded already: decoding it again would misname files
        relative = path[len(root_path) :] if path.startswith(root_path) else path
        full = (self.root / relative.lstrip("/")).resolve()
        if self.root not in full.parents:
            return None
        try:
            status = full.stat()
        except OSError:
            return None
        return (full, status) if stat.S_ISREG(status.st_mode) else None

    async def __call__(self, scope, receive, send) -> None:
        """Answer one HTTP request (ASGI)."""
        if scope["method"] not in ("GET", "HEAD"):
            reply = PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "GET, HEAD"})
            return await reply(scope, receive, send)
        found = self._file(scope)
        if found is None:
            return await PlainTextResponse("Not Found", 404)(scope, receive, send)
        full, status = found
        size = status.st_size
        header = dict(scope.get("headers", [])).get(b"range", b"").decode("latin-1")
        try:
            span = parse_range(header, size) if header else None
        except ValueError:
            headers = {"Content-Range": f"bytes */{size}"}
            return await PlainTextResponse("Range Not Satisfiable", 416, headers=headers)(
                scope, receive, send
            )
        start, stop = span if span else (0, size)
        if (header and span is None and "," in header) or stop - start > STREAM_ABOVE:
            return await self._streamed(scope, receive, send)
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Length": str(stop - start),
            "Content-Type": mimetypes.guess_type(full.name)[0] or "application/octet-stream",
            "Last-Modified": formatdate(status.st_mtime, usegmt=True),
        }
        if span:
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        body = b""
        if scope["method"] == "GET":
            fd = os.open(full, os.O_RDONLY)
            try:
                body = os.pread(fd, stop - start, start)
            finally:
                os.close(fd)
        await Response(body, 206 if span else 200, headers=headers)(scope, receive, send)

    async def _streamed(self, scope, receive, send) -> None:
        """Multi-range and very large requests: Starlette's ``StaticFiles``."""
        try:
            await self._streaming(scope, receive, send)
        except HTTPException as err:  # outside a Starlette app nothing turns it into a reply
            reply = PlainTextResponse(err.detail, err.status_code, headers=err.headers)
            await reply(scope, receive, send)
