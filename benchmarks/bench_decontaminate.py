"""Benchmark decontamination: building a million-n-gram benchmark index, and looking documents up.

  python benchmarks/bench_decontaminate.py [--ngrams 1000000] [--planted 300]

Texts: the hand-made gold texts of ../shared/data/bench (2,236 real web pages, cleaned by
people). Pages with an even index make the "benchmark": their paragraphs of at least 13
words become items until the items hold --ngrams word 13-grams; pages with an odd index are
the documents. Into --planted of those documents one item is copied (in upper case, its
punctuation changed, cut over lines); the rest stay as they are.

Printed: (a) the time to read the benchmark (a JSONL.gz file and the same items as Parquet)
and build the index, and its size; (b) lookup time per document (mean, median, p99; the
share spent normalising); (c) every planted copy found? and how many unplanted documents
share an n-gram with the benchmark, each such n-gram checked against the items' text so a
hash collision would show; (d) the same for Chinese: the zh-news pages (extracted here),
even ones as items, odd ones as documents, with the items converted to traditional
characters so only the traditional->simplified step can find them.
Ends with one JSON summary line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from ccforge.filters.decontaminate import BenchmarkSpec, DecontaminateConfig, load_index  # noqa: E402
from ccforge.filters.ngram_index import prepare, word_ngrams  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
BENCH_GOLD = SHARED / "bench" / "bench-gold.jsonl.gz"
ZH_WARC = SHARED / "zh" / "zh-news.warc.gz"
N = 13


def gold_texts() -> list[str]:
    with gzip.open(BENCH_GOLD, "rt", encoding="utf-8") as stream:
        return [json.loads(line)["gold"] for line in stream]


def benchmark_items(pages: list[str], target_ngrams: int) -> tuple[list[str], int]:
    """Paragraphs of at least 13 words until they hold `target_ngrams` distinct 13-grams; when
    the pages have too few, their paragraphs again with the words in reverse order (real
    words, n-grams no document holds). Returns the items and how many are reversed."""
    items, distinct, reversed_items = [], set(), 0
    for reverse in (False, True):
        for page in pages:
            for paragraph in page.split("\n"):
                if reverse:
                    paragraph = " ".join(reversed(paragraph.split()))
                hashes = word_ngrams(prepare(paragraph), N).hashes
                if len(hashes):
                    items.append(paragraph)
                    reversed_items += reverse
                    distinct.update(hashes.tolist())
                    if len(distinct) >= target_ngrams:
                        return items, reversed_items
    return items, reversed_items


def disguise(item: str, rng: random.Random) -> str:
    """The item in upper case, commas as semicolons, a line break every 7 words, and only a
    run of 13-40 of its words when it is longer."""
    words = item.split()
    if len(words) > 40:
        start = rng.randrange(len(words) - 40)
        words = words[start:start + rng.randint(N, 40)]
    lines = [" ".join(words[i:i + 7]) for i in range(0, len(words), 7)]
    return "\n".join(lines).upper().replace(",", ";")


def load(spec: BenchmarkSpec) -> tuple[object, float]:
    started = time.perf_counter()
    index = load_index(DecontaminateConfig(benchmarks=[spec]))
    return index, time.perf_counter() - started


def time_lookups(index, documents: list[str]) -> dict:
    seconds, normalising, found = [], [], []
    for text in documents:
        started = time.perf_counter()
        prepare(text)
        middle = time.perf_counter()
        found.append(index.matches(text))
        seconds.append(time.perf_counter() - middle)
        normalising.append(middle - started)
    seconds_sorted = sorted(seconds)
    words = sum(len(text.split()) for text in documents)
    return {
        "documents": len(documents),
        "mean_us": round(statistics.mean(seconds) * 1e6, 1),
        "median_us": round(statistics.median(seconds) * 1e6, 1),
        "p99_us": round(seconds_sorted[int(0.99 * (len(seconds) - 1))] * 1e6, 1),
        "max_us": round(seconds_sorted[-1] * 1e6, 1),
        "us_per_1000_words": round(sum(seconds) / words * 1e9, 1),
        # matches() normalises too: the rest of its time is n-gram hashing and the search
        "normalising_mean_us": round(statistics.mean(normalising) * 1e6, 1),
        "ngrams_and_search_mean_us": round((statistics.mean(seconds) - statistics.mean(normalising)) * 1e6, 1),
        "found": found,
    }


def unexplained(found: list[dict], items: list[str], name: str) -> int:
    """Matches whose n-gram is not in the items' normalised text: hash collisions."""
    corpus = "\n".join(prepare(item) for item in items)
    letters = corpus.replace(" ", "")
    bad = 0
    for matches in found:
        if name in matches:
            ngram = matches[name][1]
            bad += ngram not in corpus and ngram not in letters
    return bad


def english(args, tmp: Path) -> dict:
    pages = gold_texts()
    items, reversed_items = benchmark_items(pages[0::2], args.ngrams)
    documents = pages[1::2]
    jsonl = tmp / "bench.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as stream:
        stream.writelines(json.dumps({"id": i, "question": item}) + "\n" for i, item in enumerate(items))
    parquet = tmp / "bench.parquet"
    pq.write_table(pa.table({"id": list(range(len(items))), "question": items}), parquet)

    index, load_jsonl_s = load(BenchmarkSpec(name="gold", path=str(jsonl), columns=["question"]))
    _, load_parquet_s = load(BenchmarkSpec(name="gold", path=str(parquet), columns=["question"]))
    print(f"(a) benchmark: {len(items):,} items ({reversed_items:,} of them paragraphs in reverse word order), "
          f"{len(index):,} distinct 13-grams, index {index.nbytes / 1e6:.1f} MB; "
          f"read and built in {load_jsonl_s:.2f} s from JSONL.gz, {load_parquet_s:.2f} s from Parquet")

    rng = random.Random(7)
    planted_at = set(rng.sample(range(len(documents)), args.planted))
    mixed = []
    for i, page in enumerate(documents):
        if i in planted_at:
            paragraphs = page.split("\n")
            paragraphs.insert(rng.randrange(len(paragraphs) + 1), disguise(rng.choice(items), rng))
            page = "\n".join(paragraphs)
        mixed.append(page)
    timing = time_lookups(index, mixed)
    found = timing.pop("found")
    print(f"(b) lookups over {timing['documents']:,} documents: mean {timing['mean_us']:.0f} us, median "
          f"{timing['median_us']:.0f} us, p99 {timing['p99_us']:.0f} us, max {timing['max_us']:.0f} us per document "
          f"({timing['us_per_1000_words']:.0f} us per 1,000 words); of the mean, dedup's normalisation "
          f"{timing['normalising_mean_us']:.0f} us, n-gram hashing and search {timing['ngrams_and_search_mean_us']:.0f} us")
    planted_found = sum(1 for i in planted_at if found[i])
    unplanted = [i for i in range(len(documents)) if i not in planted_at and found[i]]
    collisions = unexplained(found, items, "gold")
    print(f"(c) planted copies found: {planted_found} of {len(planted_at)}; unplanted documents sharing a 13-gram "
          f"with the benchmark: {len(unplanted)} of {len(documents) - len(planted_at)}; matches not in the items' "
          f"text (hash collisions): {collisions}")
    for i in unplanted[:5]:
        count, ngram = found[i]["gold"]
        print(f"    document {i}: {count} shared 13-grams, e.g. \"{ngram}\"")
    return {"items": len(items), "reversed_items": reversed_items, "ngrams": len(index), "index_mb": round(index.nbytes / 1e6, 2),
            "load_jsonl_gz_s": round(load_jsonl_s, 2), "load_parquet_s": round(load_parquet_s, 2), **timing,
            "planted": len(planted_at), "planted_found": planted_found, "unplanted_matching": len(unplanted),
            "hash_collisions": collisions}


def chinese(tmp: Path) -> dict:
    from ccforge.chinese_script import to_simplified
    from ccforge.extract.extractor import ExtractConfig, Extractor
    from ccforge.read.reader import ReadConfig, WarcSplit, read_split

    import opencc

    extractor = Extractor(ExtractConfig(timeout_s=30))
    extractor.setup()
    texts = []
    for doc in read_split(WarcSplit(str(ZH_WARC), 0, None), ReadConfig()):
        if hasattr(doc, "html"):
            result = extractor.process(doc)
            if hasattr(result, "text") and result.text:
                texts.append(result.text)
    extractor.teardown()
    to_traditional = opencc.OpenCC("s2t")
    items = [to_traditional.convert(p) for page in texts[0::2] for p in page.split("\n") if len(p) >= 60]
    documents = texts[1::2]
    rng = random.Random(11)
    planted, planted_short = [], 0
    for page in documents:
        item = to_simplified(rng.choice(items))
        planted_short += len(prepare(item).replace(" ", "")) < 50
        planted.append(page + "\n" + item.replace("，", " ").replace("。", "\n"))
    path = tmp / "zh.jsonl"
    path.write_text("".join(json.dumps({"q": item}, ensure_ascii=False) + "\n" for item in items), encoding="utf-8")
    index, load_s = load(BenchmarkSpec(name="zh", path=str(path)))
    clean = time_lookups(index, documents)
    mixed = time_lookups(index, planted)
    found_planted = sum(1 for matches in mixed.pop("found") if matches)
    found_clean = sum(1 for matches in clean.pop("found") if matches)
    characters = sum(len(text) for text in documents)
    per_1000_chars = clean["mean_us"] * len(documents) / characters * 1000
    print(f"(d) Chinese: {len(items):,} items in traditional characters ({index.short_items['zh']} shorter than one "
          f"n-gram), {len(index):,} 50-character n-grams (built in {load_s:.2f} s); lookups mean {clean['mean_us']:.0f} "
          f"us, p99 {clean['p99_us']:.0f} us over {len(documents)} pages ({per_1000_chars:.0f} us per 1,000 characters); "
          f"planted copies found {found_planted} of {len(planted)} ({planted_short} planted items are shorter than "
          f"one n-gram); unplanted pages matching {found_clean} of {len(documents)}")
    clean.pop("us_per_1000_words")
    return {"items": len(items), "short_items": index.short_items["zh"], "ngrams": len(index), "load_s": round(load_s, 2),
            "lookup": {**clean, "us_per_1000_characters": round(per_1000_chars, 1)}, "planted": len(planted),
            "planted_shorter_than_ngram": planted_short, "planted_found": found_planted,
            "unplanted_matching": found_clean}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ngrams", type=int, default=1_000_000, help="13-grams in the benchmark (at least)")
    parser.add_argument("--planted", type=int, default=300, help="documents given a copy of an item")
    args = parser.parse_args()
    if not BENCH_GOLD.is_file():
        print(json.dumps({"skipped": f"no bench data at {BENCH_GOLD}"}))
        return 0
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        summary = {"load_avg_before": load_before, "english": english(args, Path(tmp))}
        if ZH_WARC.is_file():
            summary["chinese"] = chinese(Path(tmp))
    summary["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
