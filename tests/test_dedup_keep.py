"""The keep rules as pure functions."""

from __future__ import annotations

import random

from ccforge.dedup.keep import (
    KeyRecord,
    bucket_links,
    cluster_verdicts,
    first_copy,
    is_settled,
    large_star,
    merge_verdicts,
    newest_capture,
    small_star,
    smallest_id,
    union_find_stars,
    verdict,
)


def record(doc_id: str, url: str = "", date: str = "", exact_hash: int = 0, copies: int = 1,
           source=("a.warc.gz", 0)) -> KeyRecord:
    return KeyRecord(doc_id, url, date, exact_hash, (), copies, source)


def test_newest_capture_of_a_url_wins_and_counts_the_others():
    winner, losers = newest_capture(
        [record("b", "u", "2024-01-01T00:00:00Z"), record("a", "u", "2024-03-01T00:00:00Z"), record("c", "u", "")]
    )
    assert winner.id == "a" and winner.copies == 3
    assert sorted(r.id for r in losers) == ["b", "c"]


def test_newest_capture_ties_go_to_the_smallest_id():
    winner, _ = newest_capture([record("z", "u", "2024"), record("m", "u", "2024")])
    assert winner.id == "m"


def test_smallest_id_wins_exact_group_and_sums_copies():
    winner, losers = smallest_id([record("b", copies=2), record("a"), record("c")])
    assert (winner.id, winner.copies, [r.id for r in losers]) == ("a", 4, ["b", "c"])


def test_copies_of_one_record_keep_the_smallest_file_and_offset():
    kept, count = first_copy([record("a", source=("b.warc.gz", 10)), record("a", source=("a.warc.gz", 900)),
                              record("a", source=("a.warc.gz", 20))])
    assert kept.source == ("a.warc.gz", 20) and count == 3


def test_bucket_links_every_member_to_its_smallest():
    assert bucket_links(["c", "a", "b", "a"]) == ([("b", "a"), ("c", "a")], [])
    assert bucket_links(["a"]) == ([], [])
    assert bucket_links(["b", None, "a"]) == ([("b", "a")], ["a", "b"])  # an earlier run holds this bucket


def components(edges):
    """Reference: the components of an edge list, by breadth-first search."""
    around = {}
    for a, b in edges:
        around.setdefault(a, set()).add(b)
        around.setdefault(b, set()).add(a)
    seen, found = set(), []
    for start in sorted(around):
        if start in seen:
            continue
        group, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node not in group:
                group.add(node)
                todo.extend(around[node] - group)
        seen |= group
        found.append(group)
    return found


def stars_by_rounds(edges, rounds):
    """large-star then small-star, `rounds` times, as the Beam steps do; then each member's root."""
    edges = {(max(a, b), min(a, b)) for a, b in edges}
    for _ in range(rounds):
        around = {}
        for a, b in edges:
            around.setdefault(a, set()).add(b)
            around.setdefault(b, set()).add(a)
        large = {e for node, ns in around.items() for e in large_star(node, ns)}
        smaller = {}
        for a, b in large:
            smaller.setdefault(a, set()).add(b)
        edges = {e for node, ns in smaller.items() for e in small_star(node, ns)}
    around = {}
    for a, b in edges:
        around.setdefault(a, set()).add(b)
        around.setdefault(b, set()).add(a)
    assert all(is_settled(node, ns) for node, ns in around.items())
    return sorted(edges)


def test_both_ways_of_finding_clusters_give_the_components():
    rng = random.Random(7)
    ids = [f"doc{i:04d}" for i in range(300)]
    chain = [(ids[i], ids[i + 1]) for i in range(0, 40)]  # a chain: each a near copy of the one before
    others = [tuple(rng.sample(ids[40:], 2)) for _ in range(120)]
    edges = chain + others
    expected = sorted((m, min(group)) for group in components(edges) for m in group if m != min(group))
    assert union_find_stars(edges) == expected
    rounds = len(ids).bit_length() + 2
    assert stars_by_rounds(edges, rounds) == expected


def test_a_chain_settles_in_about_log2_rounds():
    ids = [f"{i:05d}" for i in range(1000)]
    shuffled = random.Random(3).sample(ids, len(ids))  # ids in no order along the chain
    edges = list(zip(shuffled, shuffled[1:]))
    assert stars_by_rounds(edges, 1000 .bit_length() + 2) == [(i, min(ids)) for i in sorted(ids)[1:]]


def test_cluster_keeps_its_smallest_id_and_counts_every_copy():
    out = dict(cluster_verdicts("a", [("c", 1, False), ("a", 2, False), ("b", 1, False)]))
    assert out == {"a": verdict(None, 4), "b": verdict("near_duplicate", 4), "c": verdict("near_duplicate", 4)}


def test_cluster_an_earlier_run_holds_is_dropped_whole():
    out = dict(cluster_verdicts("a", [("a", 1, False), ("b", 1, True)]))
    assert {doc: v["drop"] for doc, v in out.items()} == {"a": "near_duplicate", "b": "near_duplicate"}


def test_merge_prefers_a_drop_and_the_largest_cluster():
    merged = merge_verdicts([verdict(None, 3), verdict("near_duplicate", 2), verdict(None, 5)])
    assert merged == verdict("near_duplicate", 5)
    assert merge_verdicts([verdict(None, 2)]) == verdict(None, 2)
    assert merge_verdicts([verdict("near_duplicate", 1), verdict("exact_duplicate", 1)])["drop"] == "exact_duplicate"
    assert merge_verdicts([verdict(None, 1, ("f", 3)), verdict("near_duplicate", 2)]) == verdict(
        "near_duplicate", 2, ("f", 3))


def test_cluster_size_histogram_bins_by_powers_of_two():
    from ccforge.dedup.clusters import cluster_size_histogram

    assert cluster_size_histogram([1, 1, 2, 3, 4, 5, 8, 9, 100]) == {
        "1": 2, "2": 1, "3-4": 2, "5-8": 2, "9-16": 1, "65-128": 1,
    }
    assert cluster_size_histogram([]) == {}
