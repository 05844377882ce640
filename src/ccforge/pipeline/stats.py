"""The run's funnel and stats.json."""

from __future__ import annotations

import json
import os
import uuid

from apache_beam.io.filesystems import FileSystems

from ccforge.config import RunConfig
from ccforge.pipeline.metrics import funnel_from_counters
from ccforge.stages import STAGE_NAMES


def add_counters(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value
    return total


def build_funnel(counters: dict[str, int], config: RunConfig) -> list[dict]:
    """One row per public stage in flow order; a skipped stage passes on what it got."""
    counted = {row["name"]: row for row in funnel_from_counters(counters, STAGE_NAMES)}
    rows, flowing = [], 0
    for name in STAGE_NAMES:
        row = counted.get(name)
        if row is None:
            row = {"name": name, "in": flowing, "kept": flowing, "dropped": {}}
            if not config.stage_enabled(name):
                row["skipped"] = True
        rows.append(row)
        flowing = row["kept"]
    _add_dedup_keys_time(rows, counters, config)
    return rows


def _add_dedup_keys_time(rows: list[dict], counters: dict[str, int], config: RunConfig) -> None:
    """Dedup's hashing runs in phase A (`dedup_keys`); its time belongs to the dedup stage
    that needs it, MinHash when on (shingling dominates), else exact dedup."""
    spent_ms = counters.get("dedup_keys:time_ms")
    if spent_ms is None:
        return
    owner = "minhash_dedup" if config.stage_enabled("minhash_dedup") else "exact_dedup"
    for row in rows:
        if row["name"] == owner and not row.get("skipped"):
            row["time_s"] = round(row.get("time_s", 0) + spent_ms / 1000, 3)


def check_funnel(rows: list[dict]) -> list[str]:
    """Names of stages where in != kept + sum(dropped) (an internal error if any)."""
    return [r["name"] for r in rows if r["in"] != r["kept"] + sum(r["dropped"].values())]


FUNNEL_KEYS = ("name", "in", "kept", "dropped", "skipped")


def funnel_without_timing(rows: list[dict]) -> list[dict]:
    """The funnel proper (in, kept, dropped per stage), what a manifest holds and stays
    reproducible: stage times and the stages' extra counts (some measure time or count
    restarts after timeouts) stay in stats.json."""
    return [{key: row[key] for key in FUNNEL_KEYS if key in row} for row in rows]


def write_json(path: str, data: dict) -> None:
    """Write JSON whole or not at all: a temporary name renamed into place (a run killed
    mid-write leaves no half file). Object stores (gs://, s3://) publish an object only
    when it is closed, so there it is written directly."""
    payload = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if "://" in path:
        with FileSystems.create(path) as stream:
            stream.write(payload)
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    with open(tmp, "wb") as stream:
        stream.write(payload)
    os.replace(tmp, path)


def read_json(path: str) -> dict:
    with FileSystems.open(path) as stream:
        return json.loads(stream.read().decode("utf-8"))
