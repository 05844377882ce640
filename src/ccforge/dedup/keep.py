"""The keep rules, as pure functions over small key records (Beam calls them per group).

- URL: of all captures of one URL, the newest (WARC-Date) wins; ties by smallest id.
- Exact: of all documents with one normalised-text hash, the smallest id wins.
- MinHash: in every band bucket, every document but the smallest id is a near duplicate;
  a bucket that an earlier run's band index holds drops all of its documents. So no two
  kept documents share a bucket. Each step sees only the winners of the steps before it.

A verdict is `{"drop": reason | None, "cluster_size": n}`; n counts the documents that
collapsed into the kept one (captures of its URL, exact copies, and the largest band
bucket with their copies), like FineWeb's `minhash_cluster_size`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

URL_DUPLICATE = "url_duplicate"
EXACT_DUPLICATE = "exact_duplicate"
NEAR_DUPLICATE = "near_duplicate"
# Which reason a merged verdict keeps when one id got several (strongest first).
_REASON_RANK = {URL_DUPLICATE: 0, EXACT_DUPLICATE: 1, NEAR_DUPLICATE: 2, None: 3}


class KeyRecord(NamedTuple):
    """What phase B shuffles about a document: its keys, never its text."""

    id: str
    url: str
    date: str
    exact_hash: int
    bands: tuple[int, ...]
    copies: int = 1  # documents it stands for after URL and exact dedup (itself included)


def verdict(drop: str | None, cluster_size: int) -> dict:
    return {"drop": drop, "cluster_size": int(cluster_size)}


def _distinct_by_id(records: Iterable[KeyRecord]) -> list[KeyRecord]:
    # A record read twice must not be its own duplicate; keep the first by sort order.
    by_id: dict[str, KeyRecord] = {}
    for record in sorted(records):
        by_id.setdefault(record.id, record)
    return list(by_id.values())


def newest_capture(records: Iterable[KeyRecord]) -> tuple[KeyRecord, list[KeyRecord]]:
    """(winner with copies summed, losers) among the captures of one URL."""
    members = _distinct_by_id(records)
    winner = min(members, key=lambda r: (_descending(r.date), r.id))
    losers = [r for r in members if r.id != winner.id]
    return winner._replace(copies=sum(r.copies for r in members)), losers


def smallest_id(records: Iterable[KeyRecord]) -> tuple[KeyRecord, list[KeyRecord]]:
    """(winner with copies summed, losers) among documents with one text hash."""
    members = _distinct_by_id(records)
    winner = min(members, key=lambda r: r.id)
    losers = [r for r in members if r.id != winner.id]
    return winner._replace(copies=sum(r.copies for r in members)), losers


def bucket_verdicts(members: Iterable[tuple[str, int] | None]) -> list[tuple[str, dict]]:
    """Verdicts for one band bucket; members are (id, copies), or None for a bucket
    found in an earlier run's band index. A bucket of one document says nothing."""
    copies: dict[str, int] = {}
    seen_before = False
    for member in members:
        if member is None:
            seen_before = True
        else:
            copies[member[0]] = member[1]
    size = sum(copies.values())
    if seen_before:
        return [(doc_id, verdict(NEAR_DUPLICATE, size)) for doc_id in sorted(copies)]
    if len(copies) < 2:
        return []
    keep = min(copies)
    return [(doc_id, verdict(None if doc_id == keep else NEAR_DUPLICATE, size)) for doc_id in sorted(copies)]


def merge_verdicts(verdicts: Iterable[dict]) -> dict:
    """One verdict per id: the strongest drop reason, and the largest cluster."""
    drop, size = None, 1
    for item in verdicts:
        if _REASON_RANK[item["drop"]] < _REASON_RANK[drop]:
            drop = item["drop"]
        size = max(size, item["cluster_size"])
    return verdict(drop, size)


def _descending(text: str) -> tuple[int, ...]:
    # Sort key that orders strings (ISO dates) from largest to smallest.
    return tuple(-ord(c) for c in text) + (1,)
