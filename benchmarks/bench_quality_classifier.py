"""Benchmark the fastText quality classifier: train it, measure it held out, run it in the pipeline.

  python benchmarks/bench_quality_classifier.py [--workers 2]

(a) Texts from ../shared/data/bench, English only (lid.176): positives are the hand-made
    gold texts; negatives are the same pages' trafilatura text that ccforge's quality
    filters (Gopher repetition and quality, C4, FineWeb) drop, plus boilerplate-heavy
    texts: each page's whole visible text, menus and footers included (resiliparse,
    main_content=False). Extraction is cached in /tmp/ccforge-bench/ (texts only).
(b) Pages are split 80/20 by a hash of their URL, so no page gives text to both sides;
    `classifier train` runs on the 80% (its own held-out split is printed too) and
    `classifier eval`'s figures on the other 20% are the held-out AUC.
(c) `ccforge run --config fineweb-en-hq` on the bench WARC with that model at the default
    threshold: the stage's time per document against extraction's in the same run, its
    share of all stages' time, docs/s per core, and the share of documents it keeps.

Ends with one JSON summary line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SHARED = ROOT.parent / "shared" / "data"
BENCH_WARC = SHARED / "bench" / "bench-pages.warc.gz"
BENCH_GOLD = SHARED / "bench" / "bench-gold.jsonl.gz"
CACHE = Path(tempfile.gettempdir()) / "ccforge-bench"
HELD_OUT = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="Beam worker processes for (c)")
    args = parser.parse_args()
    if not BENCH_WARC.is_file():
        sys.exit(f"needs {BENCH_WARC} (../shared/data beside the checkout)")
    from ccforge.classifier import TrainSettings, evaluate_model, is_held_out, train_classifier

    print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}")
    pages = page_texts()
    positives, negatives = labelled(pages)
    split = {url: is_held_out(url, HELD_OUT) for url in pages}
    train_pos = [t for url, t in positives if not split[url]]
    train_neg = [t for url, _, t in negatives if not split[url]]
    test_pos = [t for url, t in positives if split[url]]
    test_neg = [t for url, _, t in negatives if split[url]]
    print(f"(a) positives {len(positives):,} gold texts; negatives {len(negatives):,} "
          f"({sum(1 for _, kind, _ in negatives if kind == 'filtered'):,} dropped by the quality filters, "
          f"the rest whole-page text)")

    work = Path(tempfile.mkdtemp(prefix="ccforge-bench-qc-"))
    model_path = work / "quality.bin"
    started = time.perf_counter()
    _, internal = train_classifier(train_pos, train_neg, model_path, TrainSettings(threads=1))
    train_s = time.perf_counter() - started
    held = evaluate_model(str(model_path), test_pos, test_neg)
    from ccforge.filters.quality_models import FastTextScorer

    started = time.perf_counter()
    FastTextScorer(str(model_path)).load()  # what each worker pays once, in setup()
    load_s = time.perf_counter() - started
    model_size_mb = round(model_path.stat().st_size / 1e6, 1)
    print(f"(b) trained on {len(train_pos):,} + {len(train_neg):,} texts in {train_s:.1f} s (one thread), "
          f"model {model_size_mb:.0f} MB, loaded in {load_s:.1f} s (once per worker)")
    print(f"    train's own held-out split (texts of training pages): AUC {internal.auc:.4f}")
    print(f"    held-out pages ({held.n_positive:,} positive, {held.n_negative:,} negative): AUC {held.auc:.4f}, "
          f"precision {held.precision:.4f}, recall {held.recall:.4f} at 0.5")

    try:
        run = pipeline_run(model_path, work / "run", args.workers)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the model alone is about 1 GB
    print(f"(c) ccforge run --config fineweb-en-hq, {args.workers} workers, load average after: "
          f"{open('/proc/loadavg').read().split()[:3]}")
    print(f"    extract: {run['extract_docs']:,} pages, {run['extract_ms_per_doc']:.2f} ms each")
    print(f"    quality_classifier: {run['qc_docs']:,} documents, {run['qc_ms_per_doc']:.3f} ms each "
          f"({run['qc_docs_per_core_s']:,.0f} docs/s per core)")
    print(f"    stage time: {100 * run['qc_share_of_extract']:.2f}% of extraction's, "
          f"{100 * run['qc_share_of_stages']:.2f}% of all stages' busy time")
    print(f"    kept at threshold 0.5: {run['qc_kept']:,} of {run['qc_docs']:,} ({100 * run['kept_share']:.1f}%)")
    print(json.dumps({
        "benchmark": "quality_classifier", "positives": len(positives), "negatives": len(negatives),
        "train_auc_internal": round(internal.auc, 4), "held_out_auc": round(held.auc, 4),
        "held_out_precision": round(held.precision, 4), "held_out_recall": round(held.recall, 4),
        "model_mb": model_size_mb, "model_load_s": round(load_s, 2), "train_s": round(train_s, 1), **{k: round(v, 4) if isinstance(v, float) else v
                                                                   for k, v in run.items()},
    }))


def page_texts() -> dict[str, dict]:
    """url -> {gold, extracted, whole}; extraction cached across runs (texts only)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "quality-texts.jsonl.gz"
    if not path.exists():
        started = time.perf_counter()
        gold = {r["url"]: r["gold"] for r in map(json.loads, gzip.open(BENCH_GOLD, "rt"))}
        pages = [(url, html) for url, html in bench_pages() if url in gold]
        with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
            texts = list(pool.map(extract_both, [html for _, html in pages], chunksize=16))
        with gzip.open(path.with_suffix(".part"), "wt") as out:
            for (url, _), (extracted, whole) in zip(pages, texts):
                out.write(json.dumps({"url": url, "gold": gold[url], "extracted": extracted, "whole": whole}) + "\n")
        path.with_suffix(".part").replace(path)
        print(f"extracted {len(pages)} pages in {time.perf_counter() - started:.0f} s -> {path}")
    else:
        print(f"extracted texts from the cache {path} (made {time.ctime(path.stat().st_mtime)})")
    return {r["url"]: r for r in map(json.loads, gzip.open(path, "rt"))}


def bench_pages():
    from ccforge.read.reader import ReadConfig, WarcSplit, read_split

    for doc in read_split(WarcSplit(str(BENCH_WARC), 0, None, ""), ReadConfig()):
        if hasattr(doc, "html"):
            yield doc.url, doc.html


def extract_both(html: str) -> tuple[str, str]:
    import trafilatura
    from resiliparse.extract.html2text import extract_plain_text

    main = trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=False) or ""
    return main, extract_plain_text(html, main_content=False, alt_texts=False)


def labelled(pages: dict[str, dict]) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """English positives (url, text) and negatives (url, kind, text)."""
    from ccforge.config import load_config
    from ccforge.document import Document
    from ccforge.stages import phase_a_stages

    config = load_config("fineweb-en")
    stages = [s for s in phase_a_stages(config) if s.name not in ("url_filter", "extract")]
    for stage in stages:
        stage.setup()
    language = stages[0]
    positives, negatives = [], []
    for url, page in pages.items():
        if not isinstance(language.process(Document(id=url, url=url, text=page["gold"])), Document):
            continue  # not English enough: a classifier per language is another benchmark
        positives.append((url, page["gold"]))
        if isinstance(language.process(Document(id=url, url=url, text=page["whole"])), Document):
            negatives.append((url, "whole_page", page["whole"]))
        doc = Document(id=url, url=url, text=page["extracted"])
        for stage in stages:
            result = stage.process(doc)
            if not isinstance(result, Document):
                if stage.name != "language":
                    negatives.append((url, "filtered", doc.text))
                break
            doc = result
    return positives, negatives


def pipeline_run(model: Path, out: Path, workers: int) -> dict:
    from ccforge.config import load_config
    from ccforge.jobs.run import run_job

    config = load_config("fineweb-en-hq", [f"quality_classifier.model_path={model}"])
    beam_args = [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    stats = run_job([str(BENCH_WARC)], str(out), config, beam_args)
    rows = {row["name"]: row for row in stats["stages"]}
    extract, qc = rows["extract"], rows["quality_classifier"]
    busy = sum(row.get("time_s", 0.0) for row in stats["stages"])
    return {
        "wall_s": stats["elapsed_s"], "extract_docs": extract["in"], "extract_s": extract["time_s"],
        "extract_ms_per_doc": 1000 * extract["time_s"] / extract["in"],
        "qc_docs": qc["in"], "qc_kept": qc["kept"], "qc_s": qc["time_s"],
        "qc_ms_per_doc": 1000 * qc["time_s"] / max(qc["in"], 1),
        "qc_docs_per_core_s": qc["in"] / max(qc["time_s"], 1e-9),
        "qc_share_of_extract": qc["time_s"] / extract["time_s"], "qc_share_of_stages": qc["time_s"] / busy,
        "kept_share": qc["kept"] / max(qc["in"], 1),
    }


if __name__ == "__main__":
    main()
