"""Tokenization inside the Beam pipeline against raw tiktoken on the same texts and threads.

Texts: the gold main-content texts of ../shared/data/bench (repeated --repeat times), or,
without that file, synthetic text of a similar size. Measured:
- raw: one `encode_ordinary_batch(texts, num_threads=T)` call (encoding loaded beforehand);
- pipeline: a Beam job on the in-process engine (in_memory, one worker, so the only
  parallelism is TokenizeDocuments' T threads): read the texts from Parquet -> Document ->
  TokenizeDocuments -> sum of token counts; wall time of `run()` to finish, so engine
  start-up and the encoder's setup() are charged to the pipeline;
- baseline: the same job with TokenizeDocuments left out (the engine's fixed cost).
Each is timed --trials times, interleaved, and the best time counts (the machine may be
shared). Reported: throughput of each, `ratio` = raw time / pipeline time (target >= 0.8), and
`ratio_marginal` = raw time / (pipeline - baseline), and `ratio_cpu` = raw CPU seconds /
pipeline CPU seconds (this process, all threads), which other load on the machine barely
moves. With --shards the pipeline also writes token shards (not part of the ratio; shows
the whole tokenize stage's cost).

    python benchmarks/bench_tokenize.py [--threads T] [--repeat N] [--trials K] [--shards]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import tempfile
import time
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics.metric import Metrics, MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from ccforge.document import Document
from ccforge.pipeline.tokenize_steps import TokenizeDocuments, WriteTokenShards
from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.encoding import load_encoding

DEFAULT_GOLD = Path(__file__).resolve().parents[2] / "shared/data/bench/bench-gold.jsonl.gz"


def load_texts(path: Path, repeat: int) -> tuple[list[str], str]:
    if path.is_file():
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            base = [t for t in (json.loads(line)["gold"] for line in handle) if t.strip()]
        source = f"{path.name} x{repeat}"
    else:
        rng = random.Random(0)
        words = [
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10))) for _ in range(5000)
        ]
        base = [" ".join(rng.choice(words) for _ in range(rng.randint(100, 3000))) + "." for _ in range(2000)]
        source = f"synthetic x{repeat}"
    return base * repeat, source


def read_texts(path: str):
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for doc_id, text in zip(batch.column("id").to_pylist(), batch.column("text").to_pylist()):
            yield Document(id=doc_id, url="", text=text)


def run_pipeline(
    texts_path: str, config: TokenizeConfig, tokenize: bool, shards_dir: str | None = None
) -> tuple[float, int]:
    options = PipelineOptions(["--direct_running_mode", "in_memory", "--direct_num_workers", "1"])
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=options)
    docs = pipeline | beam.Create([texts_path]) | "Read" >> beam.FlatMap(read_texts)
    if tokenize:
        docs = docs | TokenizeDocuments(config)
        if shards_dir:
            _ = docs | WriteTokenShards(shards_dir, config)
        sizes = docs | beam.Map(lambda d: d.metadata["token_count"])
    else:
        sizes = docs | beam.Map(lambda d: len(d.text))
    _ = sizes | beam.CombineGlobally(sum) | beam.Map(lambda n: Metrics.counter("bench", "total").inc(n))
    start, start_cpu = time.perf_counter(), time.process_time()
    result = pipeline.run()
    result.wait_until_finish()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    counters = result.metrics().query(MetricsFilter().with_name("total"))["counters"]
    return elapsed, cpu, sum(c.committed or c.attempted or 0 for c in counters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=TokenizeConfig.batch_size)
    parser.add_argument("--shards", action="store_true", help="also write token shards (reported separately)")
    args = parser.parse_args()

    texts, source = load_texts(args.gold, args.repeat)
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    config = TokenizeConfig(threads=args.threads, batch_size=args.batch_size)
    encoding = load_encoding(config.encoding)

    with tempfile.TemporaryDirectory() as tmp:
        texts_path = str(Path(tmp) / "texts.parquet")
        pq.write_table(pa.table({"id": [f"<urn:doc:{i}>" for i in range(len(texts))], "text": texts}), texts_path)

        raw_times, raw_cpus, baseline_times, pipeline_times, pipeline_cpus = [], [], [], [], []
        for _ in range(args.trials):  # interleaved, best of each: the machine may be shared
            start, start_cpu = time.perf_counter(), time.process_time()
            raw_tokens = sum(len(t) for t in encoding.encode_ordinary_batch(texts, num_threads=args.threads))
            raw_times.append(time.perf_counter() - start)
            raw_cpus.append(time.process_time() - start_cpu)
            baseline_times.append(run_pipeline(texts_path, config, tokenize=False)[0])
            elapsed, cpu, pipeline_tokens = run_pipeline(texts_path, config, tokenize=True)
            pipeline_times.append(elapsed)
            pipeline_cpus.append(cpu)
            if pipeline_tokens != raw_tokens:
                raise SystemExit(f"pipeline counted {pipeline_tokens} tokens, raw tiktoken {raw_tokens}")
        raw_s, baseline_s, pipeline_s = min(raw_times), min(baseline_times), min(pipeline_times)
        raw_cpu, pipeline_cpu = min(raw_cpus), min(pipeline_cpus)
        shards_s = run_pipeline(texts_path, config, True, str(Path(tmp) / "run"))[0] if args.shards else None

    result = {
        "benchmark": "tokenize",
        "source": source,
        "documents": len(texts),
        "megabytes": round(megabytes, 1),
        "tokens": raw_tokens,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "raw_s": round(raw_s, 2),
        "pipeline_s": round(pipeline_s, 2),
        "baseline_pipeline_s": round(baseline_s, 2),
        "raw_mb_per_s": round(megabytes / raw_s, 2),
        "pipeline_mb_per_s": round(megabytes / pipeline_s, 2),
        "raw_tokens_per_s": round(raw_tokens / raw_s),
        "pipeline_tokens_per_s": round(raw_tokens / pipeline_s),
        "trials": args.trials,
        "raw_s_all": [round(t, 2) for t in raw_times],
        "pipeline_s_all": [round(t, 2) for t in pipeline_times],
        "raw_cpu_s": round(raw_cpu, 2),
        "pipeline_cpu_s": round(pipeline_cpu, 2),
        "ratio": round(raw_s / pipeline_s, 3),
        "ratio_cpu": round(raw_cpu / pipeline_cpu, 3),
        "ratio_marginal": round(raw_s / max(1e-9, pipeline_s - baseline_s), 3),
        "target": 0.8,
    }
    if shards_s is not None:
        result["with_shards_s"] = round(shards_s, 2)
    print(
        f"raw {result['raw_mb_per_s']} MB/s, pipeline {result['pipeline_mb_per_s']} MB/s "
        f"({result['ratio']:.0%} of raw; {result['ratio_marginal']:.0%} after the engine's "
        f"{baseline_s:.1f} s fixed cost; {result['ratio_cpu']:.0%} by CPU time) on {args.threads} threads, "
        f"{megabytes:.0f} MB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
