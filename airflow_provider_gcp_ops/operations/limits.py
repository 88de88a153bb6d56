"""Size bounds on what a server may send us, and the one body decoder both clients feed (sans-IO).

A hostile or broken server must not exhaust memory: a response body is read in pieces and decompressed here with
a cap on the *decompressed* size (a gzip bomb stops at the cap, not at the end of the bomb). Both clients ask for
``Accept-Encoding: gzip`` and hand the raw bytes to :class:`BodyDecoder`; nothing else decompresses.
"""

from __future__ import annotations

import zlib

from .errors import MalformedResponseError, OperationsError

# The largest response body we accept, after decompression. A ListOperations page of 1,000 long-running
# operations with rich metadata stays well under it; a page of that size parses to ~10x its size in objects.
MAX_BODY_BYTES = 4 * 1024 * 1024
# At most this many pages in one listing (each page also has to fit MAX_BODY_BYTES); ``list(max_pages=...)``.
MAX_PAGES = 1000
# How many raw bytes a client reads at a time (and so the most one decompression step is fed).
READ_CHUNK = 64 * 1024

ACCEPT_ENCODING = "gzip, deflate"


class ResponseTooLarge(MalformedResponseError):
    """The response body (decompressed) passed :data:`MAX_BODY_BYTES`."""


class ListingTooLong(OperationsError):
    """A listing went on past its page bound (``max_pages``): a server that always hands out a next page."""


class BodyDecoder:
    """Feed raw body chunks as they arrive; :meth:`finish` returns the decoded body. Raises a typed error on an
    unknown encoding, a corrupt stream, or more than ``limit`` decoded bytes."""

    def __init__(self, content_encoding: str | None, *, limit: int = MAX_BODY_BYTES) -> None:
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise MalformedResponseError(f"unsupported Content-Encoding {encoding[:40]!r}")
        self._encoding = encoding
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        if self._zlib is None:
            self._keep(chunk)
            return
        data = chunk
        while data:
            try:
                out = self._zlib.decompress(data, self._limit - self._size + 1)
            except zlib.error:
                raise MalformedResponseError(f"corrupt {self._encoding} response body") from None
            self._keep(out)
            data = self._zlib.unconsumed_tail
            if not out and data:  # pragma: no cover - zlib always makes progress while input remains
                break

    def finish(self) -> bytes:
        if self._zlib is not None:
            try:
                self._keep(self._zlib.flush())
            except zlib.error:  # pragma: no cover - flush after a clean stream does not fail
                raise MalformedResponseError(f"corrupt {self._encoding} response body") from None
            if not self._zlib.eof and self._size:
                raise MalformedResponseError(f"truncated {self._encoding} response body")
        return b"".join(self._parts)

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limit:
            raise ResponseTooLarge(f"response body larger than {self._limit} bytes")
        if data:
            self._parts.append(data)
