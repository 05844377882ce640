"""Phase A's unit of work and of resumption: a piece, one byte range of one WARC.

Layout under the run directory:

    chunks/_settings.json                   the phase-A settings fingerprint of what is here
    chunks/<input>/_plan.json               the byte ranges the input was cut into (first run)
    chunks/<input>/<start>/part-*.parquet   the piece's documents and dedup keys
    chunks/<input>/<start>/_SUCCESS         the marker, written last: files, counts

`<input>` is derived from the input's URL (a readable stem plus a hash of the URL);
`<start>` is the range's first byte. A piece counts as done only when its marker exists,
names this run's settings fingerprint and lists files that exist; a rerun plans only the
others. The plan is kept so that a rerun cuts an input the same way whatever the number
of workers now: a piece is never half-covered by a differently cut one.

Runners retry bundles and may run one piece twice, even at once. Each attempt writes its
files under names of its own (`part-<attempt>-NNN.parquet`), and the marker names the
files of exactly one attempt: the first to finish wins, a later one deletes its own files.
So phase B, which reads only the files a marker names, sees one copy of every piece.
"""

from __future__ import annotations

import os
import posixpath
import re
import uuid
from dataclasses import dataclass

from apache_beam.io.filesystems import FileSystems

from ccforge.hashing import stable_hash64
from ccforge.pipeline.paths import is_local_path, remove_tree
from ccforge.pipeline.stats import read_json, write_json

CHUNKS_DIR = "chunks"
MARKER = "_SUCCESS"
PLAN = "_plan.json"
SETTINGS = "_settings.json"
SUMMARY = "_phase_a.json"  # phase A's totals over every piece of the run (pipeline/phase_a.py)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WARC_SUFFIX = re.compile(r"\.(warc|arc)(\.(gz|zst|lz4))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Piece:
    """One byte range [start, end) of one input (end None: to the end of the file)."""

    url: str
    dump: str
    start: int
    end: int | None

    @property
    def input_key(self) -> str:
        return input_key(self.url)

    @property
    def name(self) -> str:
        """Unique within a run: the input's key and the range's first byte."""
        return f"{self.input_key}/{self.start:012d}"

    def directory(self, chunks_dir: str) -> str:
        return f"{chunks_dir}/{self.name}"


def input_key(url: str) -> str:
    """A directory name for an input: its file name (readable) and a hash of the whole URL
    (two files of one name in different places stay apart)."""
    stem = _WARC_SUFFIX.sub("", url.rstrip("/").rsplit("/", 1)[-1])
    stem = _UNSAFE.sub("_", stem)[:60] or "input"
    return f"{stem}-{stable_hash64(url, 'input'):016x}"


def new_attempt() -> str:
    return uuid.uuid4().hex[:12]


def part_name(attempt: str, index: int) -> str:
    return f"part-{attempt}-{index:03d}.parquet"


# --- settings: a changed fingerprint makes every piece stale -------------------------------

def prepare_chunks_dir(chunks_dir: str, fingerprint: str) -> bool:
    """Clears `chunks_dir` when it holds pieces made with other settings; returns whether it did.

    Called by the driver before phase A, so no attempt can be writing there meanwhile.
    """
    settings = f"{chunks_dir}/{SETTINGS}"
    found = _read_or_none(settings)
    if found is not None and found.get("config") == fingerprint:
        return False
    cleared = found is not None or FileSystems.exists(chunks_dir)
    remove_tree(chunks_dir)
    write_json(settings, {"config": fingerprint})
    return cleared


# --- plans -----------------------------------------------------------------------------------

def read_plan(chunks_dir: str, url: str) -> list[tuple[int, int | None]] | None:
    """The ranges an earlier run cut this input into, or None."""
    plan = _read_or_none(f"{chunks_dir}/{input_key(url)}/{PLAN}")
    if plan is None or plan.get("url") != url:
        return None
    return [(int(start), None if end is None else int(end)) for start, end in plan["ranges"]]


def write_plan(chunks_dir: str, url: str, ranges: list[tuple[int, int | None]], size: int | None) -> None:
    write_json(f"{chunks_dir}/{input_key(url)}/{PLAN}", {"url": url, "size": size, "ranges": ranges})


# --- markers ---------------------------------------------------------------------------------

def marker_path(chunks_dir: str, piece: Piece) -> str:
    return f"{piece.directory(chunks_dir)}/{MARKER}"


def read_marker(chunks_dir: str, piece: Piece, fingerprint: str) -> dict | None:
    """The piece's marker when it is valid for these settings, else None (absent, cut short
    by a kill, made with other settings, or naming a file that is gone)."""
    marker = _read_or_none(marker_path(chunks_dir, piece))
    if marker is None or marker.get("config") != fingerprint or marker.get("piece") != piece.name:
        return None
    directory = piece.directory(chunks_dir)
    if not all(FileSystems.exists(f"{directory}/{entry['name']}") for entry in marker["files"]):
        return None
    return marker


def commit_piece(chunks_dir: str, piece: Piece, marker: dict) -> dict:
    """Writes the marker unless another attempt committed first; returns the marker that holds.

    Then removes from the piece's directory what no marker names: files of attempts that
    were killed, failed, or lost the race.
    """
    committed = read_marker(chunks_dir, piece, marker["config"])
    if committed is None:
        committed = _write_marker_first(chunks_dir, piece, marker)
    keep = {entry["name"] for entry in committed["files"]} | {MARKER}
    directory = piece.directory(chunks_dir)
    stale = [path for path in list_files(directory) if posixpath.basename(path) not in keep]
    if stale:
        FileSystems.delete(stale)
    return committed


def _write_marker_first(chunks_dir: str, piece: Piece, marker: dict) -> dict:
    """Writes the marker; on a local disk only if no valid one appeared meanwhile (a hard
    link cannot replace an existing name, so of two attempts finishing together exactly
    one wins). Object stores publish whole objects but offer no create-if-absent through
    Beam's FileSystems: there the last of two simultaneous attempts wins, and the other's
    files may be cleared under its marker (a rerun redoes that piece)."""
    path = marker_path(chunks_dir, piece)
    if not is_local_path(path):
        write_json(path, marker)
        return marker
    temp = f"{path}.{new_attempt()}"
    write_json(temp, marker)
    try:
        os.link(temp, path)
        return marker
    except FileExistsError:  # another attempt's marker, or one a kill left cut short
        committed = read_marker(chunks_dir, piece, marker["config"])
        if committed is not None:
            return committed
        os.replace(temp, path)
        return marker
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def piece_files(chunks_dir: str, piece: Piece, marker: dict) -> list[tuple[str, int]]:
    """(path, row groups) of the files a marker names."""
    directory = piece.directory(chunks_dir)
    return [(f"{directory}/{entry['name']}", int(entry["row_groups"])) for entry in marker["files"]]


def committed_row_groups(item: tuple[str, str], chunks_dir: str, fingerprint: str) -> list[tuple[str, int]]:
    """(path, row group) of every committed piece of one input: phase B's unit of reading.
    An input that could not even be sized was one piece, starting at 0."""
    url, dump = item
    found = []
    for start, end in read_plan(chunks_dir, url) or [(0, None)]:
        piece = Piece(url, dump, start, end)
        marker = read_marker(chunks_dir, piece, fingerprint)
        if marker is not None:
            found += [(path, index) for path, groups in piece_files(chunks_dir, piece, marker)
                      for index in range(groups)]
    return found


def list_files(directory: str) -> list[str]:
    try:
        return [m.path for r in FileSystems.match([f"{directory}/*"]) for m in r.metadata_list]
    except Exception:  # some filesystems raise when nothing matches
        return []


def _read_or_none(path: str) -> dict | None:
    """A JSON file, or None when absent or unreadable (a write cut short by a kill)."""
    try:
        if not FileSystems.exists(path):
            return None
        return read_json(path)
    except (ValueError, OSError):
        return None


def summary_path(chunks_dir: str) -> str:
    return f"{chunks_dir}/{SUMMARY}"
