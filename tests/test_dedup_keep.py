"""The keep rules as pure functions."""

from __future__ import annotations

from ccforge.dedup.keep import (
    KeyRecord,
    bucket_verdicts,
    merge_verdicts,
    newest_capture,
    smallest_id,
    verdict,
)


def record(doc_id: str, url: str = "", date: str = "", exact_hash: int = 0, copies: int = 1) -> KeyRecord:
    return KeyRecord(doc_id, url, date, exact_hash, (), copies)


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


def test_a_record_read_twice_is_not_its_own_duplicate():
    winner, losers = smallest_id([record("a"), record("a")])
    assert winner.id == "a" and losers == []


def test_bucket_keeps_smallest_id_and_reports_its_size():
    out = dict(bucket_verdicts([("c", 1), ("a", 2), ("b", 1)]))
    assert out == {
        "a": verdict(None, 4),
        "b": verdict("near_duplicate", 4),
        "c": verdict("near_duplicate", 4),
    }
    assert bucket_verdicts([("a", 3)]) == []


def test_bucket_seen_in_an_earlier_run_drops_everyone():
    out = dict(bucket_verdicts([("a", 1), None]))
    assert out == {"a": verdict("near_duplicate", 1)}


def test_merge_prefers_a_drop_and_the_largest_cluster():
    merged = merge_verdicts([verdict(None, 3), verdict("near_duplicate", 2), verdict(None, 5)])
    assert merged == verdict("near_duplicate", 5)
    assert merge_verdicts([verdict(None, 2)]) == verdict(None, 2)
    assert merge_verdicts([verdict("near_duplicate", 1), verdict("exact_duplicate", 1)])["drop"] == "exact_duplicate"


def test_cluster_size_histogram_bins_by_powers_of_two():
    from ccforge.dedup.clusters import cluster_size_histogram

    assert cluster_size_histogram([1, 1, 2, 3, 4, 5, 8, 9, 100]) == {
        "1": 2, "2": 1, "3-4": 2, "5-8": 2, "9-16": 1, "65-128": 1,
    }
    assert cluster_size_histogram([]) == {}
