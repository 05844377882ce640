"""Near-duplicate clusters at scale: long chains, rounds, and what one key costs a worker.

  python benchmarks/bench_dedup_scale.py [--quick] [--chain N]

1. A chain of `--chain` texts (10,000), each the one before with one word replaced
   (200 words of letters drawn at random, seed 0): their MinHash keys through ccforge's
   FindDuplicates (Beam, in process) on both paths, the local one (union-find in one
   process) and the remote one (rounds of large-star/small-star, each a GroupByKey over
   edges only). It must end as one kept document standing for all, on both.
2. The worst shape for the rounds: a path of as many documents, ids in random order,
   each sharing one band bucket with the one before and one with the one after and
   nothing else (keys made directly). Rounds run (log2(n) + 2, `minhash_dedup.cc_rounds`
   0) against rounds until every component was a star (the unsettled-node counters).
3. Memory of the remote path's dedup steps per key: the peak Python allocation
   (tracemalloc, started and stopped around each call) while one element of a grouped
   step is processed: a band bucket's members, a node's neighbours (large star, small
   star, settle), a cluster's members, an id's verdicts. That, not the whole crawl, is
   what a remote worker must hold at once; the in-process runner used here keeps every
   PCollection in its own memory, so its process size says nothing about a worker's.
   Workloads: N documents in components of 10 (paths of 10 ids) at N = n/10 and n,
   against one path of N at the same sizes (the one of n is part 2's run).

n is 10,000 (a few minutes on two idle cores); `--quick` 2,000. Prints tables and ends
with one JSON line; no data files needed.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import string
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from ccforge.dedup import keep
from ccforge.dedup.config import ExactDedupConfig, MinhashDedupConfig
from ccforge.dedup.keys import text_hash
from ccforge.dedup.minhash import MinHasher
from ccforge.dedup.normalize import normalize_text
from ccforge.pipeline import dedup_steps
from ccforge.pipeline.metrics import counters_from_result

CONFIG = MinhashDedupConfig()


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _hash(*parts) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def row(doc_id: str, bands: list[int]) -> dict:
    return {"id": doc_id, "url": f"http://scale.bench.example/{doc_id}", "date": "2024-01-01",
            "exact_hash": _hash("text", doc_id), "minhash_bands": bands}


def text_chain(n: int, words: int = 200, seed: int = 0) -> list[dict]:
    """n texts, each the previous one with one word replaced; ids in random order."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(5000)]
    ids = [f"doc{i:07d}" for i in range(n)]
    rng.shuffle(ids)
    hasher = MinHasher(CONFIG)
    tokens = [rng.choice(vocab) for _ in range(words)]
    rows = []
    for doc_id in ids:
        text = " ".join(tokens)
        rows.append({**row(doc_id, hasher.bands(normalize_text(text))), "exact_hash": text_hash(normalize_text(text))})
        tokens[rng.randrange(words)] = rng.choice(vocab)
    return rows


def paths(n: int, length: int, seed: int = 1) -> list[dict]:
    """n documents in paths of `length` (one path when length >= n), ids in random order:
    each shares band 0 or 1 with its neighbours on the path, every other band is its own."""
    ids = [f"doc{i:07d}" for i in range(n)]
    random.Random(seed).shuffle(ids)
    rows = []
    for position, doc_id in enumerate(ids):
        component, q = divmod(position, length)
        bands = [_hash("a", component, q // 2), _hash("b", component, (q + 1) // 2)]
        bands += [_hash("own", doc_id, band) for band in range(2, CONFIG.num_bands)]
        rows.append(row(doc_id, bands))
    return rows


class KeyCosts:
    """Wraps the per-key functions of the dedup steps: largest group and peak allocation
    per call, by step (tracemalloc runs only inside the calls)."""

    STEPS = {"bucket_links": "bucket", "small_star": "small star", "cluster_verdicts": "cluster",
             "merge_verdicts": "verdicts of an id"}
    METHODS = {(dedup_steps._LargeStar, "process"): "large star", (dedup_steps._Settle, "process"): "settle"}

    def __init__(self):
        self.peak: dict[str, int] = defaultdict(int)
        self.group: dict[str, int] = defaultdict(int)
        self._saved: list[tuple] = []

    def _measure(self, label: str, fn, group_arg: int, keyed: bool = False):
        @functools.wraps(fn)
        def wrapper(*args):
            tracemalloc.start()
            try:
                args = list(args)
                values = args[group_arg]
                if keyed:  # a (key, grouped values) element
                    values = (values[0], list(values[1]))
                    size = len(values[1])
                else:
                    values = list(values)
                    size = len(values)
                args[group_arg] = values
                out = fn(*args)
                out = list(out) if out is not None and not isinstance(out, dict) else out
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            self.peak[label] = max(self.peak[label], peak)
            self.group[label] = max(self.group[label], size)
            return out
        return wrapper

    def __enter__(self):
        for name, label in self.STEPS.items():
            original = getattr(keep, name)
            group_arg = 1 if name in ("small_star", "cluster_verdicts") else 0
            wrapped = self._measure(label, original, group_arg)
            # Both names: the steps call it from dedup_steps, pickled lambdas find it in keep.
            for module in (keep, dedup_steps):
                self._saved.append((module, name, getattr(module, name)))
                setattr(module, name, wrapped)
        for (cls, name), label in self.METHODS.items():
            original = getattr(cls, name)
            self._saved.append((cls, name, original))
            setattr(cls, name, self._measure(label, original, 1, keyed=True))
        return self

    def __exit__(self, *exc):
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)


def find_duplicates(rows: list[dict], remote: bool, costs: KeyCosts | None = None) -> tuple[dict, dict, float]:
    """(verdicts, counters, seconds) of FindDuplicates in process, local or remote path."""
    rounds = CONFIG.rounds_for(len(rows)) if remote else None
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = beam.Pipeline(runner=FnApiRunner())
        _ = (
            pipeline
            | beam.Create(rows)
            | dedup_steps.FindDuplicates(ExactDedupConfig(), CONFIG, cc_rounds=rounds)
            | beam.Map(json.dumps)
            | beam.io.WriteToText(f"{tmp}/verdicts")
        )
        start = time.perf_counter()
        if costs is None:
            result = pipeline.run()
            result.wait_until_finish()
        else:
            with costs:
                result = pipeline.run()
                result.wait_until_finish()
        seconds = time.perf_counter() - start
        verdicts = {k: v for f in sorted(Path(tmp).glob("verdicts*")) for k, v in map(json.loads, f.read_text().splitlines())}
    return verdicts, counters_from_result(result), seconds


def rounds_used(counters: dict, rounds: int) -> int:
    """Rounds until every component was a star (the last round that found an unsettled node)."""
    busy = [r for r in range(rounds) if counters.get(f"minhash_dedup:cc_unsettled_round_{r:02d}", 0)]
    return busy[-1] + 1 if busy else 0


def kept_of(rows: list[dict], verdicts: dict) -> list[tuple[str, int]]:
    return [(r["id"], (verdicts.get(r["id"]) or {}).get("cluster_size", 1)) for r in rows
            if (verdicts.get(r["id"]) or {}).get("drop") is None]


def chain_case(label: str, rows: list[dict], costs: KeyCosts | None = None) -> dict:
    local, _, local_s = find_duplicates(rows, remote=False)
    remote, counters, remote_s = find_duplicates(rows, remote=True, costs=costs)
    rounds = CONFIG.rounds_for(len(rows))
    kept = kept_of(rows, remote)
    result = {
        "docs": len(rows), "kept": len(kept), "kept_cluster_size": kept[0][1] if len(kept) == 1 else None,
        "smallest_id_kept": len(kept) == 1 and kept[0][0] == min(r["id"] for r in rows),
        "rounds_run": rounds, "rounds_used": rounds_used(counters, rounds),
        "unsettled_at_end": counters.get("minhash_dedup:cc_unsettled", 0),
        "edges_shuffled": counters.get("minhash_dedup:cc_edges", 0),
        "paths_agree": local == remote, "local_s": round(local_s, 1), "remote_s": round(remote_s, 1),
    }
    print(f"{label:<34}{result['docs']:>7,}{result['kept']:>6}{result['kept_cluster_size'] or 0:>9,}"
          f"{result['rounds_used']:>4} of {result['rounds_run']:<3}{result['edges_shuffled']:>11,}"
          f"{str(result['paths_agree']):>7}{result['local_s']:>8.1f}{result['remote_s']:>9.1f}")
    return result


def memory_case(rows: list[dict], largest: int, costs: KeyCosts | None = None, done: dict | None = None) -> dict:
    """Per-key costs of the remote path on `rows` (or of the run `done` made with `costs`)."""
    if done is None:
        costs = KeyCosts()
        verdicts, counters, seconds = find_duplicates(rows, remote=True, costs=costs)
        done = {"kept": len(kept_of(rows, verdicts)), "edges_shuffled": counters.get("minhash_dedup:cc_edges", 0),
                "remote_s": round(seconds, 1)}
    step = max(costs.peak, key=costs.peak.get)
    return {"docs": len(rows), "largest_component": largest, "kept": done["kept"],
            "peak_kib_per_key": round(costs.peak[step] / 1024, 1), "peak_step": step,
            "largest_group": max(costs.group.values()),
            "peak_kib_by_step": {k: round(v / 1024, 1) for k, v in sorted(costs.peak.items())},
            "largest_group_by_step": dict(sorted(costs.group.items())),
            "edges_shuffled": done["edges_shuffled"], "remote_s": done["remote_s"]}


def print_memory(shape: str, result: dict) -> None:
    print(f"{shape:<20}{result['docs']:>8,}{result['largest_component']:>9,}{result['kept']:>7,}"
          f"{result['largest_group']:>9,}{result['peak_kib_per_key']:>10.1f}  {result['peak_step']:<18}"
          f"{result['remote_s']:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a chain of 2,000 (make bench: 10,000 by default)")
    parser.add_argument("--chain", type=int, help="documents in the chains (default 10,000; 2,000 with --quick)")
    args = parser.parse_args()
    chain_n = args.chain or (2000 if args.quick else 10000)
    small_n = max(100, chain_n // 10)
    summary: dict = {"bench": "dedup_scale", "quick": args.quick, "load_before": load_average()}
    print(f"load {summary['load_before']}; rounds run: log2(n) + 2 = {CONFIG.rounds_for(chain_n)} for n = {chain_n:,}")
    print(f"\n{'':<34}{'docs':>7}{'kept':>6}{'its size':>9}{'rounds used':>13}{'edges':>11}"
          f"{'agree':>7}{'local s':>8}{'remote s':>9}")
    start = time.perf_counter()
    texts = text_chain(chain_n)
    keys_s = time.perf_counter() - start
    summary["text_chain"] = chain_case("texts, one word changed each", texts)
    summary["text_chain"]["keys_s"] = round(keys_s, 1)
    path_costs = KeyCosts()
    path_rows = paths(chain_n, chain_n)
    summary["path"] = chain_case("path, ids in random order", path_rows, costs=path_costs)
    print("(remote s of the path: with the per-key tracing of part 3)")

    print(f"\nremote path, per key: the largest group one call holds and its tracemalloc peak (load {load_average()})")
    print(f"{'':<20}{'docs':>8}{'largest':>9}{'kept':>7}{'group':>9}{'KiB/key':>10}  {'in step':<18}{'s':>7}")
    memory = []
    for shape, n, length in (("components of 10", small_n, 10), ("components of 10", chain_n, 10),
                             ("one path", small_n, small_n)):
        memory.append({"shape": shape, **memory_case(paths(n, length), min(length, n))})
        print_memory(shape, memory[-1])
    memory.append({"shape": "one path", **memory_case(path_rows, chain_n, path_costs, summary["path"])})
    print_memory("one path", memory[-1])
    summary["memory"] = memory
    ratio = chain_n / small_n
    grow_components = memory[1]["peak_kib_per_key"] / memory[0]["peak_kib_per_key"]
    grow_path = memory[3]["peak_kib_per_key"] / memory[2]["peak_kib_per_key"]
    print(f"\n{ratio:.0f}x the documents: per-key peak x{grow_components:.2f} in components of 10, "
          f"x{grow_path:.2f} in one path")
    summary.update({"peak_growth_components_of_10": round(grow_components, 2), "peak_growth_one_path": round(grow_path, 2),
                    "load_after": load_average()})
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
