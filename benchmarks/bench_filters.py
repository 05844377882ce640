"""Benchmark the URL and quality filters; compare them with datatrove's FineWeb chain.

  python benchmarks/bench_filters.py [--limit N] [--no-datatrove]

(a) docs/s per core of each quality filter, on the texts of ../shared/data/bench: the
    bench WARC's pages extracted with trafilatura (FineWeb's settings; cached in
    /tmp/ccforge-bench/) and the hand-made gold texts. 'chain' times each filter where it
    runs in the pipeline (Gopher quality reuses the words Gopher repetition split);
    'alone' times it on every text with nothing shared.
(b) agreement with datatrove's FineWeb chain (GopherRepetition, GopherQuality,
    C4Quality(filter_no_terminal_punct=False), FineWebQuality) on identical texts: keep
    or drop, and which filter drops. datatrove runs in its own venv (benchmarks/
    datatrove_venv.py: /tmp/ccforge-bench-datatrove, completed here when something is
    missing; never a ccforge dependency); if pip cannot install it,
    this part is skipped with a message. Its verdicts on the same texts do not change, so
    a datatrove run is cached in /tmp/ccforge-bench/ and reused (about 10 minutes saved);
    the JSON then labels it `"cached": true` with the date it ran, and its docs/s come
    from that run, not this one (`--rerun-datatrove` runs it again).
(c) url_filter: time and peak memory to load the full UT1 adult list in
    ../shared/data/blocklists, and URLs/s.

Ends with one JSON summary line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datatrove_venv import DATATROVE, DT_PYTHON, ensure_datatrove  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BENCH_WARC = SHARED / "bench" / "bench-pages.warc.gz"
BENCH_GOLD = SHARED / "bench" / "bench-gold.jsonl.gz"
UT1_ADULT = SHARED / "blocklists" / "ut1-adult-blacklists.tar.gz"
CACHE = Path(tempfile.gettempdir()) / "ccforge-bench"
DT_PACKAGES = [DATATROVE, "spacy", "jieba", "regex"]
STAGES = ("gopher_repetition", "gopher_quality", "c4", "fineweb_quality")

# Runs inside datatrove's venv: the FineWeb chain on the same texts, one outcome per text.
DATATROVE_RUNNER = r"""
import gzip, json, sys, time
from datatrove.data import Document
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter)
chain = [("gopher_repetition", GopherRepetitionFilter()), ("gopher_quality", GopherQualityFilter()),
         ("c4", C4QualityFilter(filter_no_terminal_punct=False)), ("fineweb_quality", FineWebQualityFilter())]
seconds = {name: 0.0 for name, _ in chain}
entered = {name: 0 for name, _ in chain}
outcomes = []
for i, line in enumerate(gzip.open(sys.argv[1], "rt")):
    doc = Document(text=json.loads(line)["text"], id=str(i), metadata={})
    outcome = ["kept", None, None]
    for name, step in chain:
        entered[name] += 1
        start = time.perf_counter()
        verdict = step.filter(doc)
        seconds[name] += time.perf_counter() - start
        if verdict is not True:
            outcome = [name, verdict[1] if isinstance(verdict, tuple) else "dropped", None]
            break
    if outcome[0] == "kept":
        outcome[2] = doc.text
    outcomes.append(outcome)
json.dump({"outcomes": outcomes, "seconds": seconds, "entered": entered}, open(sys.argv[2], "w"))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N texts")
    parser.add_argument("--no-datatrove", action="store_true", help="skip the agreement part")
    parser.add_argument("--rerun-datatrove", action="store_true", help="run datatrove even when its verdicts are cached")
    args = parser.parse_args()
    summary: dict = {"bench": "filters"}
    if not BENCH_WARC.exists():
        print(f"skip: {BENCH_WARC} is missing (../shared/data holds the benchmark pages)")
        print(json.dumps({**summary, "skipped": "no bench data"}))
        return
    texts_path = bench_texts(args.limit)
    texts = [json.loads(line)["text"] for line in gzip.open(texts_path, "rt")]
    print(f"{len(texts)} texts ({sum(map(len, texts)) / 1e6:.1f} M characters), {sum(1 for t in texts if t)} non-empty")
    summary["texts"] = len(texts)

    outcomes, chain_rates = run_ccforge_chain(texts)
    alone_rates = {stage: run_alone(stage, texts) for stage in STAGES}
    print("\nccforge docs/s per core        chain     alone")
    for stage in STAGES:
        print(f"  {stage:<26} {chain_rates[stage]:>8.0f}  {alone_rates[stage]:>8.0f}")
    summary["docs_per_s_per_core"] = {"chain": chain_rates, "alone": alone_rates}
    summary["ccforge_funnel"] = dict(Counter(stage for stage, _, _ in outcomes))

    if not args.no_datatrove:
        summary.update(compare_with_datatrove(texts_path, texts, outcomes, args.rerun_datatrove))
    summary.update(bench_url_filter())
    print(json.dumps(summary))


def bench_texts(limit: int) -> Path:
    """Extracted bench pages plus gold texts, as JSONL.gz (built once, then cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / "texts.jsonl.gz"
    if not path.exists():
        start = time.perf_counter()
        pages = list(_bench_pages())
        with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
            extracted = list(pool.map(_extract, [html for _, html in pages], chunksize=16))
        records = [{"source": "trafilatura", "url": url, "text": text} for (url, _), text in zip(pages, extracted)]
        records += [{"source": "gold", "url": r["url"], "text": r["gold"]} for r in map(json.loads, gzip.open(BENCH_GOLD, "rt"))]
        with gzip.open(path.with_suffix(".part"), "wt") as out:
            out.writelines(json.dumps(record) + "\n" for record in records)
        path.with_suffix(".part").replace(path)
        print(f"extracted {len(pages)} pages in {time.perf_counter() - start:.0f} s -> {path}")
    if not limit:
        return path
    limited = CACHE / f"texts-{limit}.jsonl.gz"
    with gzip.open(path, "rt") as src, gzip.open(limited, "wt") as out:
        for i, line in enumerate(src):
            if i >= limit:
                break
            out.write(line)
    return limited


def _bench_pages():
    from charset_normalizer import from_bytes
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(BENCH_WARC, "rb") as stream:
        for record in ArchiveIterator(stream, record_types=WarcRecordType.response):
            url = record.headers.get("WARC-Target-URI")
            record.parse_http()
            body = record.reader.read()
            try:
                html = body.decode("utf-8")
            except UnicodeDecodeError:
                best = from_bytes(body).best()
                html = str(best) if best else body.decode("utf-8", "replace")
            yield url, html


def _extract(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=True) or ""


def _stages() -> dict:
    from ccforge.config import load_config
    from ccforge.filters.c4 import C4Filter
    from ccforge.filters.fineweb_quality import FineWebQualityFilter
    from ccforge.filters.gopher_quality import GopherQualityFilter
    from ccforge.filters.gopher_repetition import GopherRepetitionFilter

    config = load_config("fineweb-en")
    stages = {
        "gopher_repetition": GopherRepetitionFilter(config.gopher_repetition),
        "gopher_quality": GopherQualityFilter(config.gopher_quality),
        "c4": C4Filter(config.c4),
        "fineweb_quality": FineWebQualityFilter(config.fineweb_quality),
    }
    for stage in stages.values():
        stage.setup()
    return stages


def run_ccforge_chain(texts: list[str]) -> tuple[list[tuple], dict[str, float]]:
    from ccforge.document import Document, Drop

    stages = _stages()
    seconds = dict.fromkeys(STAGES, 0.0)
    entered = dict.fromkeys(STAGES, 0)
    outcomes = []
    for i, text in enumerate(texts):
        doc = Document(id=str(i), url="", text=text, language="en")
        outcome = ("kept", None, None)
        for name, stage in stages.items():
            entered[name] += 1
            start = time.perf_counter()
            result = stage.process(doc)
            seconds[name] += time.perf_counter() - start
            if isinstance(result, Drop):
                outcome = (name, result.reason, None)
                break
            doc = result
        if outcome[0] == "kept":
            outcome = ("kept", None, doc.text)
        outcomes.append(outcome)
    return outcomes, {name: round(entered[name] / max(seconds[name], 1e-9), 1) for name in STAGES}


def run_alone(stage_name: str, texts: list[str]) -> float:
    from ccforge.document import Document
    from ccforge.filters.text_stats import _cached_stats

    stage = _stages()[stage_name]
    seconds = 0.0
    for i, text in enumerate(texts):
        _cached_stats.cache_clear()
        doc = Document(id=str(i), url="", text=text, language="en")
        start = time.perf_counter()
        stage.process(doc)
        seconds += time.perf_counter() - start
    return round(len(texts) / max(seconds, 1e-9), 1)


def datatrove_python() -> Path | None:
    """The datatrove venv's interpreter, installing what is missing (None if pip cannot)."""
    problem = ensure_datatrove(DT_PACKAGES, "import datatrove, spacy, jieba")
    if problem:
        print(f"skip datatrove comparison: {problem}")
        return None
    return DT_PYTHON


def compare_with_datatrove(texts_path: Path, texts: list[str], outcomes: list[tuple], rerun: bool = False) -> dict:
    python = datatrove_python()
    if python is None:
        return {"datatrove": "skipped"}
    runner = CACHE / "datatrove_runner.py"
    result_path = CACHE / f"datatrove-{texts_path.name}.json"
    fresh = (
        not rerun
        and result_path.exists()
        and runner.exists()
        and runner.read_text() == DATATROVE_RUNNER
        and result_path.stat().st_mtime > texts_path.stat().st_mtime
    )
    if fresh:  # datatrove's verdicts on these texts do not change: ~10 minutes saved
        print(f"\ndatatrove verdicts cached from its run of {run_date(result_path)}: {result_path} "
              "(--rerun-datatrove runs it again)")
    else:
        runner.write_text(DATATROVE_RUNNER)
        start = time.perf_counter()
        command = [str(python), str(runner), str(texts_path), str(result_path)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print("skip datatrove comparison: its run failed:", (done.stderr.strip().splitlines() or [""])[-1])
            return {"datatrove": "failed"}
        print(f"\ndatatrove chain ran in {time.perf_counter() - start:.0f} s")
    result = json.load(open(result_path))
    theirs = result["outcomes"]
    dt_rates = {n: round(result["entered"][n] / max(result["seconds"][n], 1e-9), 1) for n in STAGES}
    measured = f"its cached run of {run_date(result_path)}" if fresh else "this run"
    print(f"datatrove docs/s per core (chain, {measured}): " + ", ".join(f"{n} {dt_rates[n]:.0f}" for n in STAGES))

    compared = [i for i, text in enumerate(texts) if text.strip()]
    same_verdict = same_filter = same_text = kept_both = 0
    disagreements: Counter[str] = Counter()
    examples: list[str] = []
    for i in compared:
        ours, dt = outcomes[i], theirs[i]
        same_verdict += (ours[0] == "kept") == (dt[0] == "kept")
        if ours[0] == dt[0]:
            same_filter += 1
            if ours[0] == "kept":
                kept_both += 1
                same_text += ours[2] == dt[2]
        else:
            disagreements[f"ccforge {ours[0]}:{ours[1]} / datatrove {dt[0]}:{dt[1]}"] += 1
            if len(examples) < 5:
                examples.append(f"text {i}: ccforge {ours[:2]} datatrove {dt[:2]}")
    n = len(compared)
    by_filter: Counter[str] = Counter()
    for key, count in disagreements.items():
        ours_name = key.split()[1].split(":")[0]
        dt_name = key.split()[-1].split(":")[0]
        for name in {ours_name, dt_name} - {"kept"}:
            by_filter[name] += count
    print(f"\nagreement with datatrove on {n} non-empty texts:")
    print(f"  keep/drop      {same_verdict / n:.4f} ({n - same_verdict} differ)")
    print(f"  same filter    {same_filter / n:.4f}")
    print(f"  same C4 text   {same_text}/{kept_both} kept by both")
    print(f"  funnel ccforge  {dict(Counter(outcomes[i][0] for i in compared))}")
    print(f"  funnel datatrove {dict(Counter(theirs[i][0] for i in compared))}")
    for key, count in disagreements.most_common(12):
        print(f"  {count:>4}  {key}")
    return {
        "agreement_keep_drop": round(same_verdict / n, 4),
        "agreement_same_filter": round(same_filter / n, 4),
        "disagreements_by_filter": dict(by_filter),
        "same_text_after_c4": [same_text, kept_both],
        # the peer's verdicts and speed: from this run, or labelled as a cached run with its date
        "datatrove_run": {"cached": fresh, "ran_at": run_date(result_path), "docs_per_s_per_core": dt_rates},
    }


def run_date(result_path: Path) -> str:
    """When datatrove wrote its verdicts (the file's time, UTC, to the second)."""
    return datetime.fromtimestamp(result_path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


URL_BENCH = r"""
import json, sys, time
start = time.perf_counter()
from ccforge.filters.url_filter import UrlFilter, UrlFilterConfig
from ccforge.document import Document
stage = UrlFilter(UrlFilterConfig(blocklists=[sys.argv[1]], use_fetched=False))
stage.setup()
load_s = time.perf_counter() - start
# VmHWM, not ru_maxrss: after fork+exec the latter still holds the parent's peak
rss_mb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
urls = [line.strip() for line in open(sys.argv[2])]
start = time.perf_counter()
reasons = {}
for url in urls:
    reason = stage.drop_reason(Document(id="", url=url)) or "kept"
    reasons[reason] = reasons.get(reason, 0) + 1
print(json.dumps({"load_s": round(load_s, 2), "peak_rss_mb": round(rss_mb), "domains": len(stage._domains),
                  "urls_per_s": round(len(urls) / (time.perf_counter() - start)), "reasons": reasons}))
"""


def bench_url_filter() -> dict:
    if not UT1_ADULT.exists():
        print(f"skip url_filter load: {UT1_ADULT} is missing")
        return {}
    import tarfile

    urls = [f"http://{n}.bench.example/page-{i}.html" for i, n in enumerate(["dragnet", "cleaneval", "news"] * 3000)]
    with tarfile.open(UT1_ADULT) as archive:
        member = next(m for m in archive if m.name.rsplit("/", 1)[-1] == "domains")
        handle = archive.extractfile(member)
        for i, line in enumerate(handle):
            if i >= 200_000:
                break
            if i % 20 == 0:
                urls.append(f"https://www.{line.decode().strip()}/index.html")
    url_file = CACHE / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n")
    done = subprocess.run([sys.executable, "-c", URL_BENCH, str(UT1_ADULT), str(url_file)], capture_output=True, text=True)
    if done.returncode != 0:
        print("url_filter bench failed:", (done.stderr.strip().splitlines() or [""])[-1])
        return {}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"\nurl_filter: UT1 adult ({result['domains']:,} domains) loads in {result['load_s']} s, "
        f"peak RSS {result['peak_rss_mb']} MB; {result['urls_per_s']:,} URLs/s; {result['reasons']}"
    )
    return {"url_filter": result}


if __name__ == "__main__":
    main()
