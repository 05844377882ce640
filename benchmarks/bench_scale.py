"""Whether a run's fixed cost grows with the number of input files: the same pages as 1, 100
and 1,000 WARCs.

  python benchmarks/bench_scale.py [--files 1,100,1000] [--repeat 1] [--workers 2]
                                   [--extractor resiliparse|trafilatura] [--pages N]

The bench WARC (../shared/data/bench/bench-pages.warc.gz, 2,295 pages as request+response
pairs) is cut at record boundaries (warcio's record offsets; a pair never split) into 1,
100 and 1,000 files holding the same records, and `ccforge run --input DIR` runs on each
(resiliparse by default, to keep it short). For each it prints:
  - pipelines: `beam.Pipeline.run` calls in the run's process (counted by a wrapper this
    script runs the command through; stats.json `pipelines` is shown beside it);
  - seconds from starting the command to the first pipeline's submission (the driver's
    own work: imports, listing the inputs, building the pipeline);
  - seconds from starting the command to the first record read: the first moment a
    worker's progress file (pipeline/progress.py, written for the live progress line)
    shows bytes read, found by polling the run's private temporary directory every
    50 ms. Nothing is added to the job for it;
  - wall and CPU seconds of the command's process tree, pieces, records and documents.
Runs of the different sizes are alternated (`--repeat` rounds), so load drifts hit all.
Then, from the 1-file run, what phase B would shuffle per document on a remote runner:
each shuffled element of the real documents encoded with Beam's default coder; and the
size of both jobs' graphs for 1 and 90,000 crawl-like URLs (the input list is inside).
Ends with one JSON summary line.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_pipeline import load_average, timed_run

ROOT = Path(__file__).resolve().parents[1]
BENCH_WARC = ROOT.parent / "shared" / "data" / "bench" / "bench-pages.warc.gz"
WORK = Path(tempfile.gettempdir()) / "ccforge-bench-scale"
POLL_S = 0.05


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="1,100,1000", help="numbers of WARC files to cut the pages into")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of runs (sizes alternated in each)")
    parser.add_argument("--workers", type=int, default=2, help="local Beam workers (default 2)")
    parser.add_argument("--extractor", choices=["resiliparse", "trafilatura"], default="resiliparse")
    parser.add_argument("--pages", type=int, default=None, help="only the first N pages (default all)")
    args = parser.parse_args()
    counts = [int(n) for n in args.files.split(",")]
    summary: dict = {"bench": "scale", "workers": args.workers, "extractor": args.extractor, "cores": os.cpu_count()}
    if not BENCH_WARC.exists():
        print(f"skip: {BENCH_WARC} is missing (../shared/data holds the benchmark pages)")
        print(json.dumps({**summary, "skipped": "no bench data"}))
        return
    shutil.rmtree(WORK, ignore_errors=True)
    pairs = pair_offsets(BENCH_WARC)
    if args.pages:
        pairs = pairs[: args.pages + 1]
    summary.update(pages=len(pairs) - 1, load_average_before=load_average())
    inputs = {n: cut_warc(BENCH_WARC, pairs, n, WORK / f"in-{n}") for n in counts}
    print(f"{len(pairs) - 1:,} pages ({pairs[-1] / 1e6:.1f} MB) cut into {', '.join(map(str, counts))} file(s); "
          f"{args.extractor}, {args.workers} workers, load {load_average()}", flush=True)
    runs: dict[int, list[dict]] = {n: [] for n in counts}
    for _ in range(args.repeat):
        for n in counts:
            run = run_once(inputs[n], WORK / f"run-{n}", args.workers, args.extractor)
            runs[n].append(run)
            print(f"  {n:>5} file(s): {run['pipelines']} pipelines (stats.json: {run['stats_pipelines']}), "
                  f"submitted after {run['to_submit_s']:.1f} s, first record after {run['to_first_record_s']:.1f} s, "
                  f"wall {run['wall_s']:.1f} s, cpu {run['cpu_s']:.1f} s, {run['pieces']} pieces, "
                  f"{run['records']:,} records -> {run['documents']:,} documents; load {load_average()}", flush=True)
    table = {n: best_run(rs) for n, rs in runs.items()}
    print("\n| files | pipelines | s to submission | s to first record | wall s | CPU s | documents |")
    print("|---|---|---|---|---|---|---|")
    for n, run in table.items():
        print(f"| {n:,} | {run['pipelines']} | {run['to_submit_s']:.1f} | {run['to_first_record_s']:.1f} | "
              f"{run['wall_s']:.1f} | {run['cpu_s']:.1f} | {run['documents']:,} |")
    first, last = table[counts[0]], table[counts[-1]]
    ratios = {key: round(last[key] / first[key], 2) for key in ("to_first_record_s", "wall_s", "cpu_s")}
    print(f"{counts[-1]:,} files against {counts[0]:,} (best of {args.repeat}): first record x"
          f"{ratios['to_first_record_s']}, wall x{ratios['wall_s']}, cpu x{ratios['cpu_s']}")
    same_documents = len({run["document_ids"] for rs in runs.values() for run in rs}) == 1
    print(f"same document ids in every run: {'yes' if same_documents else 'NO'}")
    shuffle = shuffle_per_document(WORK / f"run-{counts[0]}")
    print(f"phase B on a remote runner shuffles, per phase-A document ({shuffle['documents']:,} documents, "
          f"{shuffle['kept']:,} kept): keys {shuffle['keys_bytes']:,.0f} B, verdict join (text included) "
          f"{shuffle['verdict_join_bytes']:,.0f} B, document rows {shuffle['document_rows_bytes']:,.0f} B, "
          f"token rows {shuffle['token_rows_bytes']:,.0f} B; the documents' text averages "
          f"{shuffle['text_bytes']:,.0f} B, {shuffle['tokens_per_kept']:,.0f} tokens")
    graphs = [graph_bytes(n) for n in (1, 90_000)]
    for graph in graphs:
        print(f"job graph with {graph['inputs']:,} crawl URLs (random digits): phase A "
              f"{graph['phase_a_bytes'] / 1e6:.2f} MB, phase B {graph['phase_b_bytes'] / 1e6:.2f} MB")
    summary.update(
        job_graphs=graphs,
        runs={n: [strip(run) for run in rs] for n, rs in runs.items()},
        best={n: strip(run) for n, run in table.items()},
        ratio_last_to_first=ratios,
        same_documents=same_documents,
        shuffle_per_document=shuffle,
        cpu_s_per_page=round(first["cpu_s"] / max(1, first["records_pages"]), 5),
        load_average_after=load_average(),
    )
    print(json.dumps(summary))


# --- inputs ------------------------------------------------------------------------------------

def pair_offsets(warc: Path) -> list[int]:
    """Offsets where each page (a request record and its response) begins, and the file's end."""
    from warcio.archiveiterator import ArchiveIterator

    starts = []
    with open(warc, "rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            if record.rec_type != "response":
                starts.append(records.get_record_offset())
    return [*starts, warc.stat().st_size]


def cut_warc(warc: Path, pairs: list[int], files: int, directory: Path) -> Path:
    """`files` WARCs in `directory` holding the pages between pairs[0] and pairs[-1], in order,
    as equal a number of pages each as can be."""
    directory.mkdir(parents=True)
    pages = len(pairs) - 1
    with open(warc, "rb") as source:
        for index in range(files):
            start, end = pairs[pages * index // files], pairs[pages * (index + 1) // files]
            source.seek(start)
            (directory / f"part-{index:05d}.warc.gz").write_bytes(source.read(end - start))
    return directory


# --- one run -----------------------------------------------------------------------------------

def run_once(inputs: Path, out: Path, workers: int, extractor: str) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    private_tmp = out / "tmp"
    private_tmp.mkdir()
    events = out / "events.jsonl"
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(events),
               "run", "--input", str(inputs), "--output", str(out / "run"),
               "--set", f"extract.extractor={extractor}", f"--direct_num_workers={workers}"]
    env = {**os.environ, "TMPDIR": str(private_tmp),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    watcher = FirstRecord(private_tmp)
    started = time.time()
    watcher.start()
    with open(out / "stdout.log", "w") as log, open(out / "stderr.log", "w") as err:
        wall, cpu, code = timed_run(command, 3600, stdout=log, stderr=err, env=env)
    watcher.stop()
    if code != 0:
        raise SystemExit(f"ccforge run failed (exit {code}): {' '.join(command)}; see {out}/stderr.log")
    submitted = [json.loads(line)["t"] for line in events.read_text().splitlines()]
    stats = json.loads((out / "run" / "stats.json").read_text())
    stages = {row["name"]: row for row in stats["stages"]}
    return {
        "pipelines": len(submitted),
        "stats_pipelines": stats["pipelines"],
        "to_submit_s": round(submitted[0] - started, 2),
        "to_first_record_s": round(watcher.found - started, 2) if watcher.found else float("nan"),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "pieces": stats["pieces"],
        "records": stages["read"]["in"],
        "records_pages": stages["read"]["kept"],
        "documents": stats["stages"][-1]["kept"],
        "document_ids": document_ids(out / "run"),
    }


class FirstRecord(threading.Thread):
    """Polls the progress files under a run's temporary directory until one shows bytes read."""

    def __init__(self, directory: Path):
        super().__init__(daemon=True)
        self.pattern = str(directory / "ccforge-progress-*" / "*.json")
        self.found: float | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        while self.found is None and not self._halt.wait(POLL_S):
            for path in glob.glob(self.pattern):
                try:
                    with open(path) as handle:
                        totals = json.load(handle)
                except (OSError, ValueError):  # being replaced, or gone with the run
                    continue
                if totals.get("bytes_read", 0) or totals.get("records", 0):
                    self.found = time.time()
                    break

    def stop(self) -> None:
        self._halt.set()
        self.join()


def child(events: str, argv: list[str]) -> None:
    """The command, with every `beam.Pipeline.run` call noted (time) in `events`."""
    import apache_beam as beam

    real_run = beam.Pipeline.run

    def counted_run(self, *args, **kwargs):
        with open(events, "a") as handle:
            handle.write(json.dumps({"t": time.time()}) + "\n")
        return real_run(self, *args, **kwargs)

    beam.Pipeline.run = counted_run
    from ccforge.cli import main as cli_main

    sys.exit(cli_main(argv))


def document_ids(run_dir: Path) -> frozenset:
    import pyarrow.parquet as pq

    return frozenset(i for path in sorted(run_dir.glob("documents/*.parquet"))
                     for i in pq.read_table(path, columns=["id"]).column("id").to_pylist())


def best_run(runs: list[dict]) -> dict:
    """The run with the shortest wall time: on a shared machine the others met more load."""
    return min(runs, key=lambda run: run["wall_s"])


def strip(run: dict) -> dict:
    return {key: value for key, value in run.items() if key != "document_ids"}


# --- the input list inside the job graph -------------------------------------------------------

def graph_bytes(inputs: int) -> dict:
    """Bytes of phase A's and phase B's job graphs (pipeline protos) for `inputs` Common
    Crawl-like https URLs, submitted to a remote runner; the names carry random digits
    where a crawl's share prefixes, so they compress worst (the list is inside the graph)."""
    import random

    import apache_beam as beam

    from ccforge.config import load_config
    from ccforge.jobs.options import pipeline_options
    from ccforge.jobs.run import phase_a_fingerprint
    from ccforge.pipeline.phase_a import build_phase_a
    from ccforge.pipeline.phase_b import build_phase_b

    draw = random.Random(0).randrange
    files = [(f"https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-10/segments/{draw(10**13)}.{draw(100)}/warc/"
              f"CC-MAIN-{draw(10**14)}-{draw(10**14)}-{index:05d}.warc.gz", "CC-MAIN-2024-10") for index in range(inputs)]
    config = load_config(None)
    fingerprint = phase_a_fingerprint(config)
    sizes = {}
    for phase in ("a", "b"):
        pipeline = beam.Pipeline(options=pipeline_options(["--runner=PortableRunner"]))
        if phase == "a":
            build_phase_a(pipeline, files, config, "gs://bucket/run/chunks", fingerprint, pieces=1)
        else:
            build_phase_b(pipeline, files, config, "gs://bucket/run", "gs://bucket/run/chunks", fingerprint,
                          num_document_files=1000, cc_rounds=config.minhash_dedup.rounds_for(10**9))
        sizes[f"phase_{phase}_bytes"] = pipeline.to_runner_api().ByteSize()
    return {"inputs": inputs, **sizes}


# --- what phase B shuffles on a remote runner ----------------------------------------------

def shuffle_per_document(out: Path) -> dict:
    """Bytes per phase-A document that phase B's shuffles carry on a remote runner (the
    local runner spills instead), each element encoded with Beam's default coder:
    keys: by URL, by text hash, 14 band buckets, the band-index join (all documents);
    documents: the verdict join (all documents, text included), then the kept documents'
    rows to their file and their tokens to their shard."""
    import pyarrow.parquet as pq
    from apache_beam.coders.coders import FastPrimitivesCoder

    from ccforge.pipeline.dedup_steps import _key_record, _url_key
    from ccforge.pipeline.output_files import KEY, document_key
    from ccforge.pipeline.parquet_io import DEDUP_KEY_COLUMNS, DOCUMENT_COLUMNS, document_from_chunk_row

    coder = FastPrimitivesCoder()
    run_dir = out / "run"
    sizes = dict.fromkeys(("keys", "verdict_join", "document_rows", "token_rows"), 0)
    documents = kept = text_bytes = tokens_kept = 0
    for path in sorted(run_dir.glob("chunks/*/*/part-*.parquet")):
        table = pq.read_table(path)
        for key_row, doc_row in zip(table.select(DEDUP_KEY_COLUMNS).to_pylist(),
                                    table.select(DOCUMENT_COLUMNS).to_pylist(), strict=True):
            record = _key_record(key_row)
            documents += 1
            sizes["keys"] += len(coder.encode((_url_key(record), record)))
            sizes["keys"] += len(coder.encode((record.exact_hash, record)))
            sizes["keys"] += sum(len(coder.encode(((band, h), record.id))) for band, h in enumerate(record.bands))
            sizes["keys"] += len(coder.encode((record.id, key_row)))
            doc = document_from_chunk_row(doc_row)
            text_bytes += len(doc.text.encode("utf-8"))
            sizes["verdict_join"] += len(coder.encode((doc.id, doc)))
    for path in sorted(run_dir.glob("documents/*.parquet")):
        for row in pq.read_table(path).to_pylist():
            kept += 1
            sizes["document_rows"] += len(coder.encode((0, {**row, KEY: document_key(row["id"])})))
    for path in sorted(run_dir.glob("tokens/*.parquet")):
        table = pq.read_table(path)
        width = table.schema.field("tokens").type.value_type.bit_width // 8
        for doc_id, tokens in zip(table.column("id").to_pylist(), table.column("tokens").to_pylist(), strict=True):
            tokens_kept += len(tokens)
            sizes["token_rows"] += len(coder.encode((("train", 0), (2**63, doc_id, b"\0" * (width * len(tokens))))))
    per_document = {f"{name}_bytes": round(total / max(1, documents), 1) for name, total in sizes.items()}
    return {"documents": documents, "kept": kept, "text_bytes": round(text_bytes / max(1, documents), 1),
            "tokens_per_kept": round(tokens_kept / max(1, kept), 1), **per_document}


if __name__ == "__main__":
    main()
