"""Paths of a run directory, local or on an object store (gs://, s3://), through Beam's FileSystems."""

from __future__ import annotations

import shutil

from apache_beam.io.filesystems import FileSystems

from ccforge.read.sources import scheme


def is_local_path(path: str) -> bool:
    return scheme(path) == ""


def remove_tree(path: str) -> None:
    """Deletes a local directory, or every object under a gs:// / s3:// prefix."""
    if is_local_path(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        remove_matching(path.rstrip("/") + "/**")


def remove_matching(pattern: str) -> None:
    """Deletes the files (local or in an object store) that match a glob."""
    try:
        found = [m.path for r in FileSystems.match([pattern]) for m in r.metadata_list]
    except Exception:  # Beam raises when nothing matches on some filesystems
        return
    if found:
        FileSystems.delete(found)
