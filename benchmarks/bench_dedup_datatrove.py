"""ccforge's MinHash dedup against datatrove's four MinHash steps on identical texts.

  python benchmarks/bench_dedup_datatrove.py [--originals N] [--unrelated N]

Texts: gold texts of ../shared/data/bench (100 words or more), `--originals` of them each
with copies at 0.5, 1, 2, 3 and 5% of words replaced (as benchmarks/bench_dedup.py makes
them), and `--unrelated` other gold texts once; in a shuffled order, document i has
datatrove index i and ccforge id "i" zero-padded, so ids sort as indexes do.

datatrove (its own venv, benchmarks/datatrove_venv.py) runs MinhashDedupSignature,
MinhashDedupBuckets (one task per bucket), MinhashDedupCluster (save_cluster_id) and
MinhashDedupFilter with its defaults, FineWeb's: word 5-grams of simplify_text and its
English word tokenizer, xxhash64 mod 2^61-1, 14 buckets of 8 hashes, seed 1; ccforge runs
with the same 14 bands of 8 here (its default is 16 of 7).

The two hash families differ (ccforge: xxh32 of the 5-grams of its own word split, then
datasketch's permutations; datatrove: xxhash64 of its tokenizer's 5-grams, mod 2^61-1),
so near the threshold each side detects a pair by its own luck. The fair comparison
feeds datatrove's own signatures (read from its bucket files) to ccforge's
FindDuplicates (Beam, in process; exact dedup off, as datatrove's MinHash steps have
none): (A) same signatures. (B) ccforge's own signatures, for scale. For each, against
datatrove's clusters and kept documents:

  same cluster: documents whose cluster (the set of its members; alone counts) is the
    same on both sides;
  same number kept: datatrove clusters of which ccforge keeps as many documents (one);
  keep/drop: documents with the same verdict, the disagreements printed. datatrove keeps
    the root of its union-find (union by size, so usually the first document of the
    first pair that started the larger half), ccforge the smallest id of the component:
    in one cluster they may keep different members.

ccforge's verdicts come from both of its paths (the local one-process union-find and the
remote large-star/small-star rounds), which must agree. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import struct
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dedup import RATES, replace_words  # noqa: E402
from datatrove_venv import DATATROVE, DT_PYTHON, ensure_datatrove  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCH_GOLD = ROOT.parent / "shared" / "data" / "bench" / "bench-gold.jsonl.gz"
DT_CHECK = ("from datatrove.pipeline.dedup.minhash import MinhashDedupSignature; "
            "from datatrove.utils.word_tokenizers import load_word_tokenizer; "
            "load_word_tokenizer('en').word_tokenize('a b')")

# Runs in datatrove's venv: argv = texts.jsonl, work dir, result.json.

def _fineweb_config():
    """ccforge's MinHash settings at FineWeb's 14 bands of 8 (ccforge's default is 16 of 7), as datatrove runs."""
    from ccforge.dedup.config import MinhashDedupConfig

    return MinhashDedupConfig(num_bands=14, rows_per_band=8)


DATATROVE_RUNNER = r"""
import json, struct, sys, time
from pathlib import Path
from datatrove.data import Document
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                              MinhashDedupFilter, MinhashDedupSignature)

texts, work, result = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
docs = [Document(text=json.loads(line)["text"], id=str(i)) for i, line in enumerate(open(texts))]
config = MinhashConfig()
seconds = {}
start = time.perf_counter()
MinhashDedupSignature(str(work / "sigs"), config=config).run(iter(docs), rank=0, world_size=1)
seconds["signature"] = time.perf_counter() - start
start = time.perf_counter()
buckets = MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=config)
for rank in range(config.num_buckets):
    buckets.run(None, rank=rank, world_size=config.num_buckets)
seconds["buckets"] = time.perf_counter() - start
start = time.perf_counter()
MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=config, save_cluster_id=True).run(None, 0, 1)
seconds["cluster"] = time.perf_counter() - start
start = time.perf_counter()
kept = [int(doc.id) for doc in MinhashDedupFilter(str(work / "remove")).run(iter(docs), rank=0, world_size=1)]
seconds["filter"] = time.perf_counter() - start
clusters_file = work / "remove" / "000000.clusters"
clusters = list(struct.iter_unpack("<2I", clusters_file.read_bytes())) if clusters_file.exists() else []
line = f"<{config.hashes_per_bucket}{config.hash_config.struct_format}I"
bands = {}
for bucket in range(config.num_buckets):
    for record in struct.iter_unpack(line, (work / "sigs" / f"bucket_{bucket:03d}" / "00000.minhash.sig").read_bytes()):
        bands.setdefault(record[-1], [None] * config.num_buckets)[bucket] = list(record[:-1])
json.dump({"kept": kept, "clusters": clusters, "bands": bands, "seconds": seconds}, open(result, "w"))
"""


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def build_texts(originals: int, unrelated: int, min_words: int = 100) -> tuple[list[str], list[int]]:
    """(texts in a shuffled order, origin of each: the gold text it was made from)."""
    with gzip.open(BENCH_GOLD, "rt", encoding="utf-8") as handle:
        gold = sorted({t for t in (json.loads(line)["gold"] for line in handle) if len(t.split()) >= min_words})
    random.Random(0).shuffle(gold)
    gold = gold[: originals + unrelated]
    vocab = sorted({w for t in gold for w in t.split()})
    rng = random.Random(1)
    docs = []
    for origin, text in enumerate(gold):
        docs.append((text, origin))
        if origin < originals:
            docs += [(replace_words(rng, text, rate, vocab), origin) for rate in RATES]
    random.Random(2).shuffle(docs)
    return [t for t, _ in docs], [o for _, o in docs]


def run_datatrove(texts: list[str], work: Path) -> dict:
    with open(work / "texts.jsonl", "w") as out:
        out.writelines(json.dumps({"text": t}) + "\n" for t in texts)
    (work / "runner.py").write_text(DATATROVE_RUNNER)
    command = [str(DT_PYTHON), str(work / "runner.py"), str(work / "texts.jsonl"), str(work / "dt"),
               str(work / "dt.json")]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or ["no message"])[-1])
    result = json.loads((work / "dt.json").read_text())
    result["bands"] = {int(k): v for k, v in result["bands"].items()}
    return result


def band_hash(values: list[int]) -> int:
    """One datatrove bucket signature (8 uint64) as the signed int64 ccforge shuffles."""
    digest = hashlib.blake2b(struct.pack(f"<{len(values)}Q", *values), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def ccforge_id(index: int) -> str:
    return f"{index:06d}"


def key_rows(texts: list[str], bands: dict[int, list[int]]) -> list[dict]:
    from ccforge.dedup.keys import text_hash
    from ccforge.dedup.normalize import normalize_text

    return [{"id": ccforge_id(i), "url": f"http://dedup.bench.example/{i}", "date": "2024-01-01",
             "exact_hash": text_hash(normalize_text(t)), "minhash_bands": bands.get(i, [])}
            for i, t in enumerate(texts)]


def find_duplicates(rows: list[dict], cc_rounds: int | None) -> dict[str, dict]:
    """ccforge's FindDuplicates in process: the local path (cc_rounds None) or the rounds."""
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from ccforge.dedup.config import ExactDedupConfig
    from ccforge.pipeline.dedup_steps import FindDuplicates

    with tempfile.TemporaryDirectory() as tmp:
        with beam.Pipeline(runner=FnApiRunner()) as pipeline:
            (
                pipeline
                | beam.Create(rows)
                | FindDuplicates(ExactDedupConfig(enabled=False), _fineweb_config(), cc_rounds=cc_rounds)
                | beam.Map(json.dumps)
                | beam.io.WriteToText(f"{tmp}/verdicts")
            )
        return {k: v for f in sorted(Path(tmp).glob("verdicts*")) for k, v in map(json.loads, f.read_text().splitlines())}


def ccforge_partition(rows: list[dict]) -> dict[str, str]:
    """id -> its component's smallest id, by ccforge's own keep functions (what the local
    path runs): star edges per shared bucket, then union-find."""
    from ccforge.dedup.keep import bucket_links, union_find_stars

    buckets = defaultdict(list)
    for row in rows:
        for band, value in enumerate(row["minhash_bands"]):
            buckets[(band, value)].append(row["id"])
    edges = [edge for members in buckets.values() for edge in bucket_links(members)[0]]
    roots = {row["id"]: row["id"] for row in rows}
    roots.update(dict(union_find_stars(edges)))
    return roots


def compare(n: int, dt: dict, roots: dict[str, str], verdicts: dict[str, dict], origins: list[int]) -> dict:
    dt_cluster = {i: ("alone", i) for i in range(n)}
    for doc, cluster in dt["clusters"]:
        dt_cluster[doc] = ("cluster", cluster)
    dt_members, cc_members = defaultdict(set), defaultdict(set)
    for i in range(n):
        dt_members[dt_cluster[i]].add(i)
        cc_members[roots[ccforge_id(i)]].add(i)
    same_cluster = sum(dt_members[dt_cluster[i]] == cc_members[roots[ccforge_id(i)]] for i in range(n))
    dt_kept = set(dt["kept"])
    cc_kept = {i for i in range(n) if (verdicts.get(ccforge_id(i)) or {}).get("drop") is None}
    clusters = list(dt_members.values())
    same_count = sum(len(members & cc_kept) == len(members & dt_kept) for members in clusters)
    multi = [members for members in clusters if len(members) > 1]
    same_count_multi = sum(len(members & cc_kept) == len(members & dt_kept) for members in multi)
    disagree = [i for i in range(n) if (i in dt_kept) != (i in cc_kept)]
    wrong_keep = [i for i in cc_kept if roots[ccforge_id(i)] != ccforge_id(i)]
    # Disagreements inside a cluster both sides draw alike and keep one of: the representative.
    representative = [i for i in disagree if dt_members[dt_cluster[i]] == cc_members[roots[ccforge_id(i)]]
                      and len(dt_members[dt_cluster[i]] & cc_kept) == len(dt_members[dt_cluster[i]] & dt_kept) == 1]
    return {
        "docs": n,
        "same_cluster": round(same_cluster / n, 4),
        "datatrove_clusters": len(multi),
        "same_number_kept": round(same_count / len(clusters), 4),
        "same_number_kept_multi": round(same_count_multi / len(multi), 4) if multi else None,
        "keep_drop_agreement": round(1 - len(disagree) / n, 4),
        "disagreements": len(disagree),
        "disagreements_representative_only": len(representative),
        "dropped": {"datatrove": n - len(dt_kept), "ccforge": n - len(cc_kept)},
        "ccforge_kept_not_smallest": len(wrong_keep),
        "_disagree": disagree, "_dt_members": dt_members, "_dt_cluster": dt_cluster,
        "_dt_kept": dt_kept, "_cc_kept": cc_kept,
    }


def print_disagreements(result: dict, origins: list[int], limit: int) -> None:
    """The disagreeing documents by datatrove cluster: who each side keeps there."""
    by_cluster = defaultdict(list)
    for i in result["_disagree"]:
        by_cluster[result["_dt_cluster"][i]].append(i)
    for count, (key, docs) in enumerate(sorted(by_cluster.items(), key=lambda kv: min(kv[1]))):
        if count == limit:
            print(f"    ... and {len(by_cluster) - limit} more cluster(s)")
            break
        members = sorted(result["_dt_members"][key])
        dt_keeps = sorted(m for m in members if m in result["_dt_kept"])
        cc_keeps = sorted(m for m in members if m in result["_cc_kept"])
        print(f"    cluster of {len(members)} (documents {members[:8]}{' ...' if len(members) > 8 else ''}, "
              f"gold texts {sorted({origins[m] for m in members})[:4]}): datatrove keeps {dt_keeps}, "
              f"ccforge keeps {cc_keeps}")


def report(label: str, result: dict, origins: list[int], limit: int) -> dict:
    print(f"\n{label}: {result['docs']} documents, {result['datatrove_clusters']} datatrove clusters of 2 or more")
    print(f"  same cluster               {result['same_cluster']:.2%}")
    print(f"  same number kept           {result['same_number_kept']:.2%} of all clusters, "
          f"{result['same_number_kept_multi'] or 0:.2%} of those of 2 or more")
    print(f"  same keep/drop             {result['keep_drop_agreement']:.2%} ({result['disagreements']} documents "
          f"differ; dropped: datatrove {result['dropped']['datatrove']}, ccforge {result['dropped']['ccforge']})")
    print(f"  of which in a cluster both draw alike and keep one of (the representative differs): "
          f"{result['disagreements_representative_only']}")
    if result["disagreements"]:
        print_disagreements(result, origins, limit)
    return {k: v for k, v in result.items() if not k.startswith("_")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=150, help="gold texts with five edited copies each")
    parser.add_argument("--unrelated", type=int, default=250, help="other gold texts, once")
    parser.add_argument("--show", type=int, default=8, help="disagreeing clusters printed per comparison")
    args = parser.parse_args()
    summary: dict = {"bench": "dedup_datatrove"}
    if not BENCH_GOLD.exists():
        print(f"skip: {BENCH_GOLD} is missing (../shared/data holds the benchmark texts)")
        print(json.dumps({**summary, "skipped": "no bench data"}))
        return
    problem = ensure_datatrove([DATATROVE, "spacy"], DT_CHECK)
    if problem:
        print(f"skip: datatrove is not usable ({problem})")
        print(json.dumps({**summary, "skipped": problem}))
        return
    from ccforge.dedup.minhash import MinHasher
    from ccforge.dedup.normalize import normalize_text

    texts, origins = build_texts(args.originals, args.unrelated)
    n = len(texts)
    print(f"{n} texts: {args.originals} gold texts with copies at {', '.join(f'{r:.1%}' for r in RATES)} of words "
          f"replaced, {args.unrelated} unrelated (load {load_average()})")
    with tempfile.TemporaryDirectory(prefix="ccforge-dedup-dt-") as tmp:
        start = time.perf_counter()
        dt = run_datatrove(texts, Path(tmp))
        dt_wall = time.perf_counter() - start
    print(f"datatrove's four steps: {dt_wall:.0f} s in all ("
          + ", ".join(f"{k} {v:.1f} s" for k, v in dt["seconds"].items()) + f"; load {load_average()})")

    same = key_rows(texts, {i: [band_hash(v) for v in bands] for i, bands in dt["bands"].items()})
    hasher = MinHasher(_fineweb_config())
    own = key_rows(texts, {i: hasher.bands(normalize_text(t)) for i, t in enumerate(texts)})
    summary.update({"docs": n, "originals": args.originals, "unrelated": args.unrelated,
                    "datatrove_s": round(dt_wall, 1), "datatrove_step_s": {k: round(v, 1) for k, v in dt["seconds"].items()}})
    rounds = _fineweb_config().rounds_for(n)
    for label, rows in (("A  datatrove's signatures through ccforge", same), ("B  ccforge's own signatures", own)):
        start = time.perf_counter()
        local = find_duplicates(rows, None)
        remote = find_duplicates(rows, rounds)
        beam_s = time.perf_counter() - start
        roots = ccforge_partition(rows)
        result = compare(n, dt, roots, local, origins)
        key = "same_signatures" if label.startswith("A") else "own_signatures"
        summary[key] = report(label, result, origins, args.show)
        summary[key]["local_and_remote_paths_agree"] = local == remote
        summary[key]["find_duplicates_both_paths_s"] = round(beam_s, 1)
        print(f"  ccforge's local and remote paths give the same verdicts: {local == remote}; every kept "
              f"document is its component's smallest id: {result['ccforge_kept_not_smallest'] == 0}")
    summary["load"] = load_average()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
