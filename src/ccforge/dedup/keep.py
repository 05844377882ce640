"""The keep rules, as pure functions over small key records (Beam calls them per group).

- Record: copies of one WARC record (the same WARC-Record-ID read from two files, or twice
  from one) are one document: the copy at the smallest (file, offset) stays, the others
  are `duplicate_record`.
- URL: of all captures of one URL, the newest (WARC-Date) wins; ties by smallest id.
- Exact: of all documents with one normalised-text hash, the smallest id wins.
- MinHash: documents that share a band bucket are linked; the connected components of
  that graph are the clusters (as datatrove's union-find makes them), and the smallest id
  of each cluster is kept. A cluster with a document whose bucket an earlier run's band
  index holds is dropped whole. Each step sees only the winners of the steps before it.

A verdict is `{"drop": reason | None, "cluster_size": n, "copy": [file, offset] | None}`;
n counts the documents that collapsed into the kept one (captures of its URL, exact copies
and the members of its cluster with their copies), like FineWeb's `minhash_cluster_size`;
`copy` names the one copy of a record read more than once that stays.

Connected components come two ways, with the same result: `union_find_stars` in one
process (the local runner), and rounds of `large_star` / `small_star` (Kiveris et al.,
"Connected Components in MapReduce and Beyond", 2014), each a shuffle of edges only, for
remote runners. Both end with every clustered document linked to its cluster's smallest id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

DUPLICATE_RECORD = "duplicate_record"
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
    source: tuple[str, int] = ("", 0)  # (file, record offset) of this copy of the record


def verdict(drop: str | None, cluster_size: int, copy: tuple[str, int] | list | None = None) -> dict:
    return {"drop": drop, "cluster_size": int(cluster_size), "copy": list(copy) if copy is not None else None}


def first_copy(records: Iterable[KeyRecord]) -> tuple[KeyRecord, int]:
    """The copy of one record that stays (smallest (file, offset)) and how many copies there were."""
    records = list(records)
    return min(records, key=lambda r: r.source), len(records)


def newest_capture(records: Iterable[KeyRecord]) -> tuple[KeyRecord, list[KeyRecord]]:
    """(winner with copies summed, losers) among the captures of one URL."""
    members = list(records)
    winner = min(members, key=lambda r: (_descending(r.date), r.id))
    losers = [r for r in members if r.id != winner.id]
    return winner._replace(copies=sum(r.copies for r in members)), losers


def smallest_id(records: Iterable[KeyRecord]) -> tuple[KeyRecord, list[KeyRecord]]:
    """(winner with copies summed, losers) among documents with one text hash."""
    members = list(records)
    winner = min(members, key=lambda r: r.id)
    losers = [r for r in members if r.id != winner.id]
    return winner._replace(copies=sum(r.copies for r in members)), losers


def bucket_links(members: Iterable[str | None]) -> tuple[list[tuple[str, str]], list[str]]:
    """One band bucket -> (edges, ids seen before). Members are ids, or None for a bucket
    found in an earlier run's band index. Edges link every member to the bucket's smallest
    (a star: as connected as all pairs, with one edge per member), as (larger, smaller)."""
    members = list(members)
    ids = sorted({m for m in members if m is not None})
    seen_before = any(m is None for m in members)
    edges = [(doc_id, ids[0]) for doc_id in ids[1:]]
    return edges, (ids if seen_before else [])


def large_star(node: str, neighbours: Iterable[str]) -> list[tuple[str, str]]:
    """Links every neighbour larger than `node` to the smallest of the node's neighbourhood."""
    around = set(neighbours)
    smallest = min(around | {node})
    return [(v, smallest) for v in sorted(around) if v > node]


def small_star(node: str, smaller: Iterable[str]) -> list[tuple[str, str]]:
    """Links the node and its smaller neighbours to the smallest of them."""
    around = set(smaller) | {node}
    smallest = min(around)
    return [(v, smallest) for v in sorted(around) if v != smallest]


def is_settled(node: str, neighbours: Iterable[str]) -> bool:
    """Whether the node is in its final place: a root (no smaller neighbour) or a leaf
    linked to exactly one smaller node and nothing else. All settled: the graph is stars."""
    around = set(neighbours)
    smaller = [v for v in around if v < node]
    return not smaller or (len(smaller) == 1 and len(around) == 1)


def union_find_stars(edges: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same stars in one process: (member, smallest id of its component) for every
    clustered id but the smallest."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return sorted((x, root(x)) for x in list(parent) if root(x) != x)


def cluster_verdicts(root: str, members: Iterable[tuple[str, int, bool]]) -> list[tuple[str, dict]]:
    """Verdicts for one cluster: members are (id, copies, seen in an earlier run)."""
    members = {doc_id: (copies, seen) for doc_id, copies, seen in members}
    size = sum(copies for copies, _ in members.values())
    dropped_whole = any(seen for _, seen in members.values())
    return [
        (doc_id, verdict(None if doc_id == root and not dropped_whole else NEAR_DUPLICATE, size))
        for doc_id in sorted(members)
    ]


def merge_verdicts(verdicts: Iterable[dict]) -> dict:
    """One verdict per id: the strongest drop reason, the largest cluster, the copy that stays."""
    drop, size, copy = None, 1, None
    for item in verdicts:
        if _REASON_RANK[item["drop"]] < _REASON_RANK[drop]:
            drop = item["drop"]
        size = max(size, item["cluster_size"])
        copy = item.get("copy") or copy
    return verdict(drop, size, copy)


def _descending(text: str) -> tuple[int, ...]:
    # Sort key that orders strings (ISO dates) from largest to smallest.
    return tuple(-ord(c) for c in text) + (1,)
