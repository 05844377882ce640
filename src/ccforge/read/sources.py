"""Where WARC bytes come from: local paths, file:// and http(s) URLs, and whatever
Apache Beam's FileSystems knows (s3://, gs://, ...; Beam is imported only for those).

Every opener returns a seekable binary file, so a split can start mid-file.
"""

from __future__ import annotations

import io
import os
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, BinaryIO

from ccforge.read.errors import ReadError
from ccforge.read.http import HttpRangeReader, http_size

if TYPE_CHECKING:
    from ccforge.read.reader import ReadConfig

BUFFER_BYTES = 1 << 20


def scheme(url: str) -> str:
    """The URL scheme in lower case; "" for local paths (Windows drive letters included)."""
    head, sep, _ = url.partition("://")
    return head.lower() if sep and len(head) > 1 and head.replace("+", "").isalnum() else ""


def is_http(url: str) -> bool:
    return scheme(url) in ("http", "https")


def is_beam_filesystem(url: str) -> bool:
    return scheme(url) not in ("", "file", "http", "https")


def local_path(url: str) -> str:
    """A file:// URL or a plain path as a local path."""
    if scheme(url) == "file":
        return urllib.request.url2pathname(urllib.parse.urlparse(url).path)
    return url


def open_input(url: str, config: ReadConfig) -> io.BufferedReader:
    """Open a WARC for seekable binary reading; a one-line ReadError if it cannot be opened.

    A failure while reading later is kept on `stream.raw.error` (a ReadError): the WARC
    parser reports it as its own error, and the reader must not mistake it for damage.
    """
    if is_http(url):
        inner: BinaryIO = HttpRangeReader(url, config.retries, config.backoff_s, config.timeout_s)  # type: ignore[assignment]
    elif is_beam_filesystem(url):
        inner = _beam_call(url, "open", lambda fs: fs.open(url, compression_type="uncompressed"))
    else:
        try:
            inner = open(local_path(url), "rb", buffering=0)
        except OSError as exc:
            raise ReadError(f"cannot open input {url}: {exc.strerror or exc}") from None
    return io.BufferedReader(GuardedStream(inner, url), BUFFER_BYTES)


class GuardedStream(io.RawIOBase):
    """Passes reads through, turning a failure into a ReadError it remembers."""

    def __init__(self, inner: BinaryIO, url: str):
        super().__init__()
        self.inner = inner
        self.url = url
        self.error: ReadError | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            if hasattr(self.inner, "readinto"):
                return self.inner.readinto(buffer)
            data = self.inner.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        except ReadError as exc:
            self.error = exc
            raise
        except Exception as exc:
            self.error = ReadError(f"cannot read input {self.url}: {str(exc).strip() or type(exc).__name__}"[:300])
            raise self.error from None

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.inner.seek(offset, whence)

    def tell(self) -> int:
        return self.inner.tell()

    def close(self) -> None:
        self.inner.close()
        super().close()


def raise_source_error(stream: BinaryIO) -> None:
    """Re-raise a read failure that a WARC parser reported as its own error, so that it is
    not counted as damage in the file."""
    error = getattr(getattr(stream, "raw", None), "error", None)
    if error is not None:
        raise error


def input_size(url: str, config: ReadConfig) -> int:
    """The size of a WARC in bytes."""
    if is_http(url):
        return http_size(url, config.retries, config.backoff_s, config.timeout_s)
    if is_beam_filesystem(url):
        return _beam_call(url, "get the size of", lambda fs: _beam_match(fs, url)[0][1])
    try:
        return os.path.getsize(local_path(url))
    except OSError as exc:
        raise ReadError(f"cannot read input {url}: {exc.strerror or exc}") from None


def beam_glob(pattern: str) -> list[tuple[str, int]]:
    """(path, size) of every file matching a pattern on a Beam filesystem, sorted by path."""
    return _beam_call(pattern, "list", lambda fs: _beam_match(fs, pattern))


def _beam_match(filesystems, pattern: str) -> list[tuple[str, int]]:
    results = filesystems.match([pattern])
    found = sorted((m.path, m.size_in_bytes) for r in results for m in r.metadata_list)
    if not found:
        raise ReadError(f"no input matches {pattern}")
    return found


def _beam_call(url: str, action: str, call):
    try:
        from apache_beam.io.filesystems import FileSystems
    except ImportError:  # pragma: no cover - Beam is a dependency
        raise ReadError(f"cannot {action} {url}: apache-beam is not installed") from None
    try:
        return call(FileSystems)
    except ReadError:
        raise
    except Exception as exc:  # Beam wraps every backend's errors differently
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = ""
        if "Unable to get filesystem" in message:
            hint = f"; install the extra it needs, e.g. pip install 'apache-beam[{_beam_extra(url)}]'"
            message = f"no filesystem for {scheme(url)}://"
        raise ReadError(f"cannot {action} {url}: {message[:200]}{hint}") from None


def _beam_extra(url: str) -> str:
    return {"gs": "gcp", "s3": "aws", "azfs": "azure"}.get(scheme(url), "gcp")
