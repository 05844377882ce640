"""Memory of a process tree from /proc (Linux), shared by the benchmarks that sample it."""

from __future__ import annotations

import os


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def process_tree(root: int) -> list[tuple[int, int]]:
    """(pid, depth) of `root` and its descendants: 0 the driver, 1 Beam's workers (or, in
    in_memory mode, the extraction children), 2 what the workers started."""
    tree, found, pending = _children_of(), [], [(root, 0)]
    while pending:
        pid, depth = pending.pop()
        found.append((pid, depth))
        pending.extend((child, depth + 1) for child in tree.get(pid, []))
    return found


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; (0, 0) once it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss
