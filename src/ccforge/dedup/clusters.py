"""The cluster-size histogram of a run's report: how many kept documents stood for how
many copies (the documents Parquet column `minhash_cluster_size`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def cluster_size_bin(size: int) -> str:
    """"1", "2", then powers of two: "3-4", "5-8", "9-16", ..."""
    if size <= 2:
        return str(max(size, 1))
    upper = 1 << (size - 1).bit_length()
    return f"{upper // 2 + 1}-{upper}"


def cluster_size_histogram(sizes: Iterable[int]) -> dict[str, int]:
    """Kept documents per cluster-size bin, bins in increasing order."""
    counts = Counter(int(size) for size in sizes)
    histogram: dict[str, int] = {}
    for size in sorted(counts):
        label = cluster_size_bin(size)
        histogram[label] = histogram.get(label, 0) + counts[size]
    return histogram
