"""Seekable reading of an http(s) file through Range requests.

A Common Crawl WARC is ~1 GB fetched over the internet: connections break, servers answer
503 and sockets stall. `HttpRangeReader` retries such failures with exponential backoff and
resumes from the byte it had reached, so a broken transfer costs a reconnect, not the file.
Only after `retries` failures in a row (no byte read in between) does it give up with a
one-line `ReadError` naming the URL.
"""

from __future__ import annotations

import http.client
import io
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TypeVar

from ccforge.read.errors import ReadError

USER_AGENT = "ccforge/0.1"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_BACKOFF_S = 60.0
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")

T = TypeVar("T")


class TransientError(OSError):
    """A failure worth retrying: an early close, a 5xx answer, a server ignoring Range."""


def with_retries(
    url: str, action: str, call: Callable[[], T], retries: int, backoff_s: float
) -> T:
    """Run `call` until it succeeds, sleeping backoff_s, 2*backoff_s, ... between tries."""
    failures = 0
    while True:
        try:
            return call()
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
            failures += 1
            if failures > retries:
                raise ReadError(
                    f"could not {action} {url} after {retries} retries ({_describe(exc)}); "
                    "check the URL and the network, or raise read.retries"
                ) from None
            time.sleep(min(backoff_s * 2 ** (failures - 1), MAX_BACKOFF_S))


def http_size(url: str, retries: int = 5, backoff_s: float = 1.0, timeout_s: float = 60.0) -> int:
    """The size in bytes of an http(s) file (HEAD, with retries)."""

    def head() -> int:
        request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT})
        with _urlopen(url, request, timeout_s) as response:
            length = response.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise ReadError(f"{url} gives no Content-Length; cannot read it by byte ranges")
        return int(length)

    return with_retries(url, "get the size of", head, retries, backoff_s)


class HttpRangeReader(io.RawIOBase):
    """A read-only, seekable file over HTTP. Wrap it in `io.BufferedReader` for small reads."""

    def __init__(
        self,
        url: str,
        retries: int = 5,
        backoff_s: float = 1.0,
        timeout_s: float = 60.0,
        size: int | None = None,
    ):
        super().__init__()
        self.url = url
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.size = size
        self.requests = 0  # how many GETs it took: tests check that it resumed
        self._pos = 0
        self._response: http.client.HTTPResponse | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            if self.size is None:
                self.size = http_size(self.url, self.retries, self.backoff_s, self.timeout_s)
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        if target != self._pos:
            self._disconnect()
            self._pos = target
        return self._pos

    def readinto(self, buffer) -> int:
        if len(buffer) == 0 or (self.size is not None and self._pos >= self.size):
            return 0
        return with_retries(
            self.url, f"read byte {self._pos} of", lambda: self._readinto_once(buffer),
            self.retries, self.backoff_s,
        )

    def close(self) -> None:
        self._disconnect()
        super().close()

    def _readinto_once(self, buffer) -> int:
        if self._response is None and not self._connect():
            return 0  # 416: nothing left at this offset
        assert self._response is not None
        try:
            n = self._response.readinto(buffer)
        except BaseException:
            self._disconnect()
            raise
        if n:
            self._pos += n
            return n
        remaining = self._response.length
        self._disconnect()
        if (self.size is not None and self._pos < self.size) or remaining:
            raise TransientError(f"connection closed at byte {self._pos}")
        return 0

    def _connect(self) -> bool:
        """Open a GET from the current offset to the end of the file."""
        self.requests += 1
        request = urllib.request.Request(
            self.url, headers={"Range": f"bytes={self._pos}-", "User-Agent": USER_AGENT}
        )
        try:
            response = _urlopen(self.url, request, self.timeout_s)
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # asked past the end
                if self.size is None:
                    self.size = self._pos
                return False
            raise
        try:
            self._check_range(response)
        except BaseException:
            response.close()
            raise
        self._response = response
        return True

    def _check_range(self, response: http.client.HTTPResponse) -> None:
        if response.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != self._pos:
                raise TransientError(f"bad Content-Range {response.headers.get('Content-Range')!r}")
            if match.group(3) != "*":
                self.size = int(match.group(3))
            return
        # 200: the server ignored Range and sends the whole file; skip to our offset.
        length = response.headers.get("Content-Length")
        if length and length.isdigit():
            self.size = int(length)
        to_skip = self._pos
        while to_skip:
            chunk = response.read(min(to_skip, 1 << 20))
            if not chunk:
                raise TransientError(f"connection closed while skipping to byte {self._pos}")
            to_skip -= len(chunk)

    def _disconnect(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None


def _urlopen(url: str, request: urllib.request.Request, timeout_s: float) -> http.client.HTTPResponse:
    """urlopen that turns non-retryable HTTP answers (404, 403, ...) into a ReadError."""
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in RETRY_STATUSES or exc.code == 416:
            raise
        raise ReadError(f"{url}: HTTP {exc.code} {exc.reason}") from None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
