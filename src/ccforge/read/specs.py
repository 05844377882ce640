"""Input SPECs -> the WARCs to read, each with its crawl id ("dump").

A SPEC is one of:
  a local path (a directory means the WARC/ARC files under it) or a glob;
  an http(s) URL, or a file:// URL;
  an s3://, gs:// (any Beam filesystem) path or glob;
  @FILE: a file listing SPECs, one per line, `#` starting a comment;
  a Common Crawl crawl id, e.g. CC-MAIN-2024-10: the WARCs in
  `<cc_base_url>crawl-data/<id>/warc.paths.gz`.
`max_files` caps how many files each SPEC contributes (the first ones, in listed or
sorted order). A file named by several SPECs is read once. Remote URLs are not probed
here (a crawl lists 90,000): a missing one fails when it is opened, naming it.
"""

from __future__ import annotations

import glob
import gzip
import logging
import os
import re
from typing import TYPE_CHECKING

from ccforge.read.errors import ReadError
from ccforge.read.sources import (
    beam_glob,
    is_beam_filesystem,
    is_http,
    local_path,
    open_input,
    scheme,
)

if TYPE_CHECKING:
    from ccforge.read.reader import ReadConfig

log = logging.getLogger(__name__)
CRAWL_ID = re.compile(r"^CC-MAIN-\d{4}-\d{2}$")
_DUMP_IN_PATH = re.compile(r"CC-MAIN-\d{4}-\d{2}(?!\d)")
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz", ".warc.zst", ".warc.lz4")
_GLOB_CHARS = ("*", "?", "[")
_COMMENT = re.compile(r"(?:^|\s)#")  # a line or a trailing comment; URL fragments stay


def resolve_inputs(
    specs: list[str], config: ReadConfig, max_files: int | None = None
) -> list[tuple[str, str]]:
    """(url_or_path, dump) for every WARC the specs name, in order, without repeats."""
    seen: set[str] = set()
    inputs: list[tuple[str, str]] = []
    for spec in specs:
        for url, dump in _resolve(spec.strip(), config, max_files, in_list=False):
            if url not in seen:
                seen.add(url)
                inputs.append((url, dump))
    return inputs


def dump_of(url: str) -> str:
    """The crawl id in a Common Crawl path (crawl-data/CC-MAIN-2024-10/...), else ""."""
    match = _DUMP_IN_PATH.search(url)
    return match.group(0) if match else ""


def _resolve(spec: str, config: ReadConfig, max_files: int | None, in_list: bool) -> list[tuple[str, str]]:
    if not spec:
        raise ReadError("empty input spec; give a path, glob, URL, @list file or crawl id")
    if spec.startswith("@"):
        if in_list:
            raise ReadError(f"input list entry '{spec}' is itself a list; lists do not nest")
        return _cap(_from_list(spec[1:], config, max_files), max_files)
    if CRAWL_ID.match(spec):
        return [(url, spec) for url in _crawl_files(spec, config, max_files)]
    if is_http(spec):
        return [(spec, dump_of(spec))]
    if is_beam_filesystem(spec):
        found = beam_glob(spec) if _is_glob(spec) else [(spec, 0)]
        return _cap([(path, dump_of(path)) for path, _ in found], max_files)
    return _cap([(path, dump_of(path)) for path in _local_files(spec)], max_files)


def _from_list(list_path: str, config: ReadConfig, max_files: int | None) -> list[tuple[str, str]]:
    try:
        with open(list_path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        raise ReadError(f"cannot read input list @{list_path}: {exc.strerror or exc}") from None
    inputs = []
    for line in lines:
        entry = _COMMENT.split(line, 1)[0].strip()
        if entry:
            inputs.extend(_resolve(entry, config, max_files, in_list=True))
    if not inputs:
        raise ReadError(f"input list @{list_path} names no files")
    return inputs


def _crawl_files(crawl_id: str, config: ReadConfig, max_files: int | None) -> list[str]:
    """The first max_files WARC URLs of a Common Crawl crawl, from its warc.paths.gz."""
    base = config.cc_base_url if config.cc_base_url.endswith("/") else config.cc_base_url + "/"
    listing = f"{base}crawl-data/{crawl_id}/warc.paths.gz"
    try:
        with open_input(listing, config) as raw:
            text = gzip.decompress(raw.read()).decode("utf-8")
    except ReadError as exc:
        raise ReadError(f"cannot resolve crawl id {crawl_id}: {exc}") from None
    except (OSError, EOFError, UnicodeDecodeError):
        raise ReadError(f"cannot resolve crawl id {crawl_id}: {listing} is not a gzip list of paths") from None
    paths = [line.strip() for line in text.splitlines() if line.strip()]
    if not paths:
        raise ReadError(f"crawl id {crawl_id}: {listing} lists no files")
    return [base + path.lstrip("/") for path in paths[:max_files]]


def _local_files(spec: str) -> list[str]:
    path = local_path(spec)
    if os.path.isfile(path):
        return [path]
    if _is_glob(path):
        found = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
        if not found:
            raise ReadError(f"no file matches input glob '{spec}'")
        return found
    if os.path.isdir(path):
        every = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
        found = sorted(p for p in every if p.lower().endswith(WARC_SUFFIXES))
        if not found:
            raise ReadError(f"input directory '{spec}' holds no WARC files ({', '.join(WARC_SUFFIXES)})")
        if len(every) > len(found):
            log.warning("input directory %s: %d WARC/ARC file(s) taken, %d other file(s) skipped",
                        spec, len(found), len(every) - len(found))
        return found
    hint = " (crawl ids look like CC-MAIN-2024-10)" if spec.upper().startswith("CC-MAIN") else ""
    kind = f"{scheme(spec)}:// URL" if scheme(spec) == "file" else "file, glob, URL or crawl id"
    raise ReadError(f"input '{spec}' not found: no such {kind}{hint}")


def _is_glob(path: str) -> bool:
    return any(char in path for char in _GLOB_CHARS)


def _cap(items: list[tuple[str, str]], max_files: int | None) -> list[tuple[str, str]]:
    return items if max_files is None else items[:max_files]
