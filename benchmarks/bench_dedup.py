"""MinHash dedup on real texts: detection against theory, false merges, signature speed.

Near-duplicates are made from the gold texts of ../shared/data/bench (copies with 0.5,
1, 2, 3, 5% of words replaced); every gold text is also an unrelated document to all
others. Then:
- detection: the share of (original, copy) pairs that share a band bucket, per measured
  Jaccard bucket, beside the theoretical 1-(1-s^r)^b (averaged over the pairs' s);
- false merges: documents that FindDuplicates (Beam, in-process) dropped as near
  duplicates although no document that outranked them in a shared bucket is related:
  a copy of the same gold text, or of a gold text within Jaccard 0.5 of theirs (the
  gold set holds a few near-duplicate pages of its own). Drops whose best outranking
  match is below Jaccard 0.5 are counted too: two 5%-edited copies of one text sit
  there, correctly merged through their common original;
- speed, one core: signature docs/s (shingles -> signature) of ccforge's numpy MinHasher
  against datasketch's per-shingle `update` (and its `update_batch`) on the same texts.

    python benchmarks/bench_dedup.py [--gold PATH] [--max-docs N] [--speed-docs N]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import xxhash

from ccforge.dedup.config import ExactDedupConfig, MinhashDedupConfig
from ccforge.dedup.keys import text_hash
from ccforge.dedup.minhash import MinHasher
from ccforge.dedup.normalize import normalize_text

DEFAULT_GOLD = Path(__file__).resolve().parents[2] / "shared/data/bench/bench-gold.jsonl.gz"
RATES = (0.005, 0.01, 0.02, 0.03, 0.05)
EDGES = (0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0001)
RELATED_JACCARD = 0.5


def load_texts(path: Path, max_docs: int, min_words: int = 100) -> list[str]:
    if not path.is_file():
        sys.exit(f"gold texts not found at {path}; pass --gold PATH to bench-gold.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        texts = [json.loads(line)["gold"] for line in handle]
    texts = sorted({t for t in texts if len(t.split()) >= min_words})
    random.Random(0).shuffle(texts)
    return texts[:max_docs]


def replace_words(rng: random.Random, text: str, share: float, vocab: list[str]) -> str:
    tokens = text.split()
    for i in rng.sample(range(len(tokens)), max(1, round(share * len(tokens)))):
        tokens[i] = rng.choice(vocab)
    return " ".join(tokens)


def doc_id(name: str) -> str:
    # Random-looking ids, so originals win their buckets about as often as copies.
    return hashlib.sha1(name.encode()).hexdigest()[:16]


def theory(s: np.ndarray, rows: int, bands: int) -> np.ndarray:
    return 1.0 - (1.0 - s**rows) ** bands


def run_find_duplicates(rows: list[dict], minhash_cfg: MinhashDedupConfig) -> dict[str, dict]:
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from ccforge.pipeline.dedup_steps import FindDuplicates

    with tempfile.TemporaryDirectory() as tmp:
        with beam.Pipeline(runner=FnApiRunner()) as pipeline:
            (
                pipeline
                | beam.Create(rows)
                | FindDuplicates(ExactDedupConfig(), minhash_cfg)
                | beam.Map(json.dumps)
                | beam.io.WriteToText(f"{tmp}/verdicts")
            )
        return {k: v for f in sorted(Path(tmp).glob("verdicts*")) for k, v in map(json.loads, f.read_text().splitlines())}


def speed(texts: list[str], hasher: MinHasher, num_perm: int, seed: int) -> dict:
    import datasketch

    shingled = [hasher.shingles(normalize_text(t)) for t in texts]
    shingles_total = sum(len(s) for s in shingled)

    def per_doc_rate(fn) -> float:
        start = time.process_time()
        for shingles in shingled:
            fn(shingles)
        return len(shingled) / (time.process_time() - start)

    # datasketch with the same shingle hash as ours, so both compute the same signature.
    hashfunc = xxhash.xxh32_intdigest if hasher.config.shingle_hash == "xxh32" else datasketch.hashfunc.sha1_hash32

    def datasketch_update(shingles):
        m = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=hashfunc)
        for s in shingles:
            m.update(s)

    def datasketch_batch(shingles):
        datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=hashfunc).update_batch(shingles)

    ours = max(per_doc_rate(hasher.signature) for _ in range(3))
    sha1_hasher = MinHasher(dataclasses.replace(hasher.config, shingle_hash="sha1"))
    ours_sha1 = max(per_doc_rate(sha1_hasher.signature) for _ in range(2))
    reference = per_doc_rate(datasketch_update)
    batch = max(per_doc_rate(datasketch_batch) for _ in range(2))
    start = time.process_time()
    for text in texts:
        normalized = normalize_text(text)
        text_hash(normalized)
        hasher.bands(normalized)
    keys_rate = len(texts) / (time.process_time() - start)
    return {
        "speed_docs": len(texts),
        "mean_shingles": round(shingles_total / len(texts), 1),
        "shingle_hash": hasher.config.shingle_hash,
        "signature_docs_per_s": round(ours, 1),
        "signature_sha1_docs_per_s": round(ours_sha1, 1),
        "datasketch_update_docs_per_s": round(reference, 1),
        "datasketch_update_batch_docs_per_s": round(batch, 1),
        "speedup_vs_update": round(ours / reference, 1),
        "dedup_keys_docs_per_s": round(keys_rate, 1),
    }


def build_corpus(texts: list[str]) -> list[tuple[str, str, int]]:
    """(id, text, origin): each gold text, then one copy of it per edit rate."""
    vocab = sorted({w for t in texts for w in t.split()})
    rng = random.Random(1)
    docs = []
    for origin, text in enumerate(texts):
        docs.append((doc_id(f"orig{origin}"), text, origin))
        for rate in RATES:
            docs.append((doc_id(f"copy{origin}-{rate}"), replace_words(rng, text, rate, vocab), origin))
    return docs


class Corpus:
    """Shingle sets and band hashes of every document, and exact Jaccard between two."""

    def __init__(self, docs: list[tuple[str, str, int]], hasher: MinHasher):
        self.origin_of = {name: origin for name, _, origin in docs}
        self.originals = {origin: name for name, _, origin in docs[:: len(RATES) + 1]}
        self.shingle_sets, self.bands, self.rows = {}, {}, []
        for i, (name, text, _) in enumerate(docs):
            normalized = normalize_text(text)
            shingles = hasher.shingles(normalized)
            self.shingle_sets[name] = set(shingles)
            self.bands[name] = hasher.band_hashes(hasher.signature(shingles))
            self.rows.append({"id": name, "url": f"http://bench.example/{i}", "date": "2024-01-01",
                              "exact_hash": text_hash(normalized), "minhash_bands": self.bands[name]})
        self.buckets = defaultdict(list)
        for name, bands in self.bands.items():
            for band, band_hash in enumerate(bands):
                self.buckets[(band, band_hash)].append(name)

    def jaccard(self, a: str, b: str) -> float:
        x, y = self.shingle_sets[a], self.shingle_sets[b]
        return len(x & y) / len(x | y)

    def related(self, a: str, b: str) -> bool:
        # Copies of one text, or of two gold texts that are near duplicates themselves.
        oa, ob = self.origin_of[a], self.origin_of[b]
        return oa == ob or self.jaccard(self.originals[oa], self.originals[ob]) >= RELATED_JACCARD

    def outranking(self, name: str) -> set[str]:
        """Documents with a smaller id in one of its buckets: those that can drop it."""
        return {m for b, h in enumerate(self.bands[name]) for m in self.buckets[(b, h)] if m < name}


def detection_table(corpus: Corpus, cfg: MinhashDedupConfig) -> tuple[list[dict], float | None]:
    """Per measured-Jaccard bucket: share of (original, copy) pairs sharing a band bucket."""
    similarity, hit = [], []
    for name, origin in corpus.origin_of.items():
        original = corpus.originals[origin]
        if name != original:
            similarity.append(corpus.jaccard(original, name))
            hit.append(any(a == b for a, b in zip(corpus.bands[original], corpus.bands[name])))
    s, hit = np.array(similarity), np.array(hit)
    rows, gaps = [], []
    print(f"{'jaccard':>13} {'pairs':>6} {'detected':>9} {'theory':>7}")
    for lo, hi in zip(EDGES[:-1], EDGES[1:]):
        mask = (s >= lo) & (s < hi)
        if not mask.any():
            continue
        rate = float(hit[mask].mean())
        expected = float(theory(s[mask], cfg.rows_per_band, cfg.num_bands).mean())
        rows.append({"jaccard": [lo, min(hi, 1.0)], "pairs": int(mask.sum()), "detected": round(rate, 4),
                     "theory": round(expected, 4)})
        if mask.sum() >= 50:  # smaller buckets are too noisy to hold against the curve
            gaps.append(abs(rate - expected))
        print(f"[{lo:.2f},{min(hi, 1.0):.2f}) {int(mask.sum()):>6} {rate:>9.3f} {expected:>7.3f}")
    return rows, (round(max(gaps), 4) if gaps else None)


def merge_quality(corpus: Corpus, verdicts: dict[str, dict], originals: int) -> dict:
    near = [k for k, v in verdicts.items() if v["drop"] == "near_duplicate"]
    false_merges = low_similarity = 0
    for name in near:
        outranking = corpus.outranking(name)
        if not any(corpus.related(name, m) for m in outranking):
            false_merges += 1
        if max((corpus.jaccard(name, m) for m in outranking), default=0.0) < RELATED_JACCARD:
            low_similarity += 1
    kept = {name for name in corpus.origin_of if verdicts.get(name, {}).get("drop") is None}
    # Per edit rate: the share of (original, copy) pairs of which at most one survived.
    names = list(corpus.origin_of)
    step = len(RATES) + 1
    collapsed_by_rate = {}
    for k, rate in enumerate(RATES):
        both = sum(1 for i in range(0, len(names), step) if names[i] in kept and names[i + k + 1] in kept)
        collapsed_by_rate[f"{rate:.3f}"] = round(1 - both / originals, 4)
    kept_per_origin = defaultdict(int)
    for name in kept:
        kept_per_origin[corpus.origin_of[name]] += 1
    return {
        "near_duplicates_dropped": len(near),
        "exact_duplicates_dropped": sum(1 for v in verdicts.values() if v["drop"] == "exact_duplicate"),
        "pairs_collapsed_by_edit_rate": collapsed_by_rate,
        # Whole clusters (a text and its five copies) that kept exactly one document.
        "clusters_collapsed_to_one": round(sum(1 for n in kept_per_origin.values() if n == 1) / originals, 4),
        "false_merges": false_merges,
        "false_merge_rate": round(false_merges / len(corpus.origin_of), 6),
        "drops_below_jaccard_0.5": low_similarity,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--max-docs", type=int, default=3000, help="gold texts (each gets one copy per rate)")
    parser.add_argument("--speed-docs", type=int, default=300)
    args = parser.parse_args()

    cfg = MinhashDedupConfig()
    hasher = MinHasher(cfg)
    texts = load_texts(args.gold, args.max_docs)
    t0 = time.perf_counter()
    corpus = Corpus(build_corpus(texts), hasher)
    keys_s = time.perf_counter() - t0
    detection, max_gap = detection_table(corpus, cfg)
    t0 = time.perf_counter()
    verdicts = run_find_duplicates(corpus.rows, cfg)
    find_s = time.perf_counter() - t0

    summary = {
        "bench": "dedup",
        "originals": len(texts),
        "docs": len(corpus.rows),
        "detection": detection,
        "max_gap_vs_theory": max_gap,
        **merge_quality(corpus, verdicts, len(texts)),
        "keys_s": round(keys_s, 1),
        "find_duplicates_s": round(find_s, 1),
        **speed(texts[: args.speed_docs], hasher, cfg.num_perm, cfg.seed),
    }
    print(
        f"false merges {summary['false_merges']}/{summary['docs']} ({summary['false_merge_rate']:.4%}); "
        f"signature {summary['signature_docs_per_s']} docs/s vs datasketch update "
        f"{summary['datasketch_update_docs_per_s']} docs/s ({summary['speedup_vs_update']}x), one core"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
