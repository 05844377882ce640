"""Live progress of a local run: workers write running totals, the driver adds them up.

Beam's local engine reports metrics only when a pipeline ends, so for a person watching
a long local run each worker DoFn keeps its totals (bytes read, records, documents,
pieces) in a small JSON file of its own in a progress directory, rewritten at most every
`every_s` seconds; the driver sums the files while the pipeline runs (jobs/progress.py).
Remote runners have live metrics of their own, and no progress directory.
"""

from __future__ import annotations

import json
import os
import time
import uuid

FIELDS = ("planned_bytes", "planned_pieces", "pieces_done_before", "bytes_read", "records", "pages", "documents",
          "pieces_done", "failed_pieces")


class ProgressFile:
    """One DoFn instance's running totals, in `directory/<pid>-<random>.json`."""

    def __init__(self, directory: str | None, every_s: float = 2.0):
        self.directory = directory
        self.every_s = every_s
        self.totals = dict.fromkeys(FIELDS, 0)
        self._path = os.path.join(directory, f"{os.getpid()}-{uuid.uuid4().hex[:8]}.json") if directory else None
        self._written = 0.0

    def add(self, **counts: int) -> None:
        for key, value in counts.items():
            self.totals[key] += value
        self.flush()

    def flush(self, force: bool = False) -> None:
        if self._path is None or (not force and time.monotonic() - self._written < self.every_s):
            return
        self._written = time.monotonic()
        temp = f"{self._path}.tmp"
        try:
            with open(temp, "w") as handle:
                json.dump(self.totals, handle)
            os.replace(temp, self._path)
        except OSError:  # the run ended and the directory went: progress is best effort
            pass


def read_progress(directory: str) -> dict[str, int]:
    """The sum of every worker's totals (a file being replaced is skipped this time)."""
    totals = dict.fromkeys(FIELDS, 0)
    try:
        names = os.listdir(directory)
    except OSError:
        return totals
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(directory, name)) as handle:
                found = json.load(handle)
        except (OSError, ValueError):
            continue
        for key in FIELDS:
            totals[key] += int(found.get(key, 0))
    return totals
