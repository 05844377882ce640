"""End-to-end throughput of `ccforge run` on the bench WARC, and how it compares with datatrove.

  python benchmarks/bench_pipeline.py [--repeat N] [--workers 2] [--extractor trafilatura|resiliparse|both]
                                      [--no-datatrove] [--no-scaling] [--fixed-cost-only]

First the fixed cost of a run: the wall time of `ccforge run` (default config, no engine
flags, as a user types it) over the sample WARCs in data/sample (132 records, 53 HTML
pages), best of `--repeat` (at least 3), with its CPU time and where the wall time went
(phase A, phase B, and outside the job: interpreter start, imports, report, exit);
`--fixed-cost-only` stops there.

Then, for each extractor, runs `ccforge run --input ../shared/data/bench/bench-pages.warc.gz`
with the default config on `--workers` local workers (best wall time of `--repeat`
runs counts: the machine may be shared) and prints:
  - per stage: documents in, busy seconds summed over workers (stats.json `time_s`),
    docs/s per busy second, share of all stage time;
  - end to end: HTML pages/s and WARC MB/s over the whole command's wall time,
    tokens/s written, CPU seconds (user+sys of the process tree), the extractor's
    share of the available core-seconds (workers x wall) and what is left outside it;
  - peak memory of the process tree (sum of PSS and of RSS over its processes,
    sampled every 0.2 s) and, unless --no-scaling, the same on a quarter, one, two and
    four copies of the WARC with dedup off, to show whether memory grows with the input;
  - unless --no-steady, the cost of more input once the fixed costs are paid: the first
    extractor's run again on three copies of the WARC (default config; the copies repeat
    the same record ids, which dedup counts as one document read again, so every copy
    goes through every stage to the outputs); the difference from the one-copy run, per
    copy, gives the wall and CPU
    seconds each further 36 MB costs, the extractor's share of them, and the fixed
    start-up and finishing cost that the one-copy run carries;
  - unless --no-datatrove, datatrove's FineWeb pipeline on the same WARC and workers
    (benchmarks/datatrove_side_by_side.py; skipped with a message where it cannot be
    installed) and the ratios of end-to-end throughput.
Ends with one JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

from proc_memory import memory_kib, process_tree

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BENCH_WARC = SHARED / "bench" / "bench-pages.warc.gz"
SAMPLE_WARCS = ROOT / "data" / "sample"
# This checkout's code, whichever venv runs the benchmark (an editable install may point
# at another checkout).
CCFORGE = [sys.executable, "-m", "ccforge.cli"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
WORK = Path(tempfile.gettempdir()) / "ccforge-bench-pipeline"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per extractor; the best wall time counts")
    parser.add_argument("--workers", type=int, default=2, help="local Beam workers (default 2)")
    parser.add_argument("--extractor", choices=["trafilatura", "resiliparse", "both"], default="both")
    parser.add_argument("--no-datatrove", action="store_true", help="skip the side-by-side datatrove run")
    parser.add_argument("--no-scaling", action="store_true", help="skip the memory-vs-input runs")
    parser.add_argument("--no-steady", action="store_true", help="skip the three-copy run (cost per further input)")
    parser.add_argument("--fixed-cost-only", action="store_true",
                        help="only the fixed cost: runs over the 53-page sample WARCs")
    args = parser.parse_args()
    summary: dict = {"bench": "pipeline", "workers": args.workers, "cpu": cpu_name(), "cores": os.cpu_count()}
    WORK.mkdir(parents=True, exist_ok=True)
    summary["fixed_cost"] = fixed_cost(max(3, args.repeat))
    if args.fixed_cost_only:
        print(json.dumps(summary))
        return
    if not BENCH_WARC.exists():
        print(f"skip: {BENCH_WARC} is missing (../shared/data holds the benchmark pages)")
        print(json.dumps({**summary, "skipped": "no bench data"}))
        return
    summary["load_average_before"] = load_average()
    extractors = ["trafilatura", "resiliparse"] if args.extractor == "both" else [args.extractor]
    warc_mb = BENCH_WARC.stat().st_size / 1e6
    for extractor in extractors:
        runs = []
        for _ in range(args.repeat):
            runs.append(run_ccforge(BENCH_WARC, WORK / extractor, args.workers, [f"extract.extractor={extractor}"]))
            print(f"  {extractor}: wall {runs[-1]['wall_s']:.1f} s, cpu {runs[-1]['cpu_s']:.1f} s, "
                  f"load {load_average()}", flush=True)
        best = min(runs, key=lambda r: r["wall_s"])
        result = describe(best, warc_mb, args.workers)
        result["all_wall_s"] = [round(r["wall_s"], 2) for r in runs]
        result["all_cpu_s"] = [round(r["cpu_s"], 2) for r in runs]
        print_result(extractor, result)
        summary[extractor] = result
        if not args.no_steady and extractor == extractors[0]:
            summary[extractor]["steady_state"] = steady_state(best, extractor, args.workers)
    if not args.no_scaling:
        summary["memory_scaling"] = memory_scaling(args.workers, extractors[-1])
    if not args.no_datatrove:
        from datatrove_side_by_side import compare

        summary["datatrove"] = compare(args.workers, {e: summary[e] for e in extractors})
    summary["load_average_after"] = load_average()
    print(json.dumps(summary))


def fixed_cost(repeat: int) -> dict:
    """Wall and CPU time of `ccforge run` over the sample WARCs (default config, no engine
    flags), best of `repeat`, and where the best run's wall time went."""
    runs = []
    print(f"fixed cost: ccforge run over {SAMPLE_WARCS}/*.warc.gz, default config, no engine flags")
    for _ in range(repeat):
        run = run_ccforge(f"{SAMPLE_WARCS}/*.warc.gz", WORK / "fixed-cost", None, [])
        run["load_average"] = load_average()
        runs.append(run)
        print(f"  wall {run['wall_s']:.2f} s, cpu {run['cpu_s']:.2f} s, load {run['load_average']}", flush=True)
    best = min(runs, key=lambda r: r["wall_s"])
    stats = best["stats"]
    phase_a, job = stats.get("phase_a_s", 0.0), stats.get("elapsed_s", 0.0)
    result = {
        "pages": best["pages"],
        "kept": best["kept"],
        "wall_s": round(best["wall_s"], 2),
        "cpu_s": round(best["cpu_s"], 2),
        "phase_a_s": phase_a,
        "phase_b_and_driver_s": round(job - phase_a, 3),
        "outside_job_s": round(best["wall_s"] - job, 2),
        "all_wall_s": [round(r["wall_s"], 2) for r in runs],
        "all_cpu_s": [round(r["cpu_s"], 2) for r in runs],
        "load_average": [r["load_average"] for r in runs],
    }
    print(f"fixed cost: {result['wall_s']:.2f} s wall (best of {repeat}), {result['cpu_s']:.2f} s CPU for "
          f"{result['pages']} pages -> {result['kept']} documents; phase A {phase_a:.2f} s, phase B and the "
          f"driver's steps {result['phase_b_and_driver_s']:.2f} s, outside the job (interpreter start, imports, "
          f"report, exit) {result['outside_job_s']:.2f} s")
    return result


def run_ccforge(warc: Path | str, out: Path, workers: int | None, settings: list[str],
                beam_args: list[str] | None = None, cli_args: list[str] | None = None,
                sample_memory: bool = True) -> dict:
    """One `ccforge run` (`warc` a path or a glob; `workers` None: no engine flag): wall and
    CPU time of its process tree, peak memory (unless `sample_memory` is false: the sampler
    reads /proc every 0.2 s, CPU a timed comparison should not charge to one side), stats
    and manifest."""
    shutil.rmtree(out, ignore_errors=True)
    command = [*CCFORGE, "run", "--input", str(warc), "--output", str(out), *(cli_args or [])]
    for setting in settings:
        command += ["--set", setting]
    command += [f"--direct_num_workers={workers}"] if workers else []
    command += beam_args or []
    out.mkdir(parents=True)
    with open(out / "bench-stderr.log", "w") as err:
        wall, cpu, code, sampler = timed_run(command, 3600, stdout=subprocess.DEVNULL, stderr=err, sample=True,
                                             env=ENV) if sample_memory else (
            *timed_run(command, 3600, stdout=subprocess.DEVNULL, stderr=err, env=ENV), None)
    if code != 0:
        raise SystemExit(f"ccforge run failed (exit {code}): {' '.join(command)}; see {out / 'bench-stderr.log'}")
    stats = json.loads((out / "stats.json").read_text())
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    stages = {row["name"]: row for row in stats["stages"]}
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "max_process_rss_mb": sampler.max_process_rss / 2**20 if sampler else None,
        "peak_pss_mb": sampler.peak_pss / 2**20 if sampler else None,
        "peak_rss_mb": sampler.peak_rss / 2**20 if sampler else None,
        "stats": stats,
        "pages": stages.get("read", {}).get("kept", 0),
        "kept": stats["stages"][-1]["kept"] if stats["stages"] else 0,
        "tokens": sum(split.get("tokens", 0) for split in manifest.get("totals", {}).values()),
    }


def timed_run(command: list[str], limit_s: float, sample: bool = False, **popen):
    """Runs a command to its end (killing its process group past limit_s): wall seconds,
    CPU seconds of its whole process tree, exit code, and the memory sampler if asked."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(command, start_new_session=True, **popen)
    sampler = MemorySampler(proc.pid)
    if sample:
        sampler.start()
    try:
        code = proc.wait(timeout=limit_s)
    except subprocess.TimeoutExpired:
        code = f"killed after {limit_s:.0f} s"
    wall = time.perf_counter() - started
    try:  # whatever the command left running in its own session (a failed run's helpers)
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:  # none left
        pass
    proc.wait()
    if sample:
        sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (wall, cpu, code, sampler) if sample else (wall, cpu, code)


def describe(run: dict, warc_mb: float, workers: int) -> dict:
    stats = run["stats"]
    wall = run["wall_s"]
    timed = [row for row in stats["stages"] if row.get("time_s") is not None]
    busy = sum(row["time_s"] for row in timed) or 1e-9
    stages = {
        row["name"]: {
            "in": row["in"],
            "kept": row["kept"],
            "time_s": row["time_s"],
            "docs_per_s": round(row["in"] / row["time_s"], 1) if row["time_s"] else None,
            "share": round(row["time_s"] / busy, 4),
        }
        for row in timed
    }
    extract_s = stages.get("extract", {}).get("time_s", 0.0)
    extract_row = next((row for row in stats["stages"] if row["name"] == "extract"), {})
    extract_cpu_s = extract_row.get("counts", {}).get("cpu_ms", 0) / 1000
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(run["cpu_s"], 2),
        "pages": run["pages"],
        "kept": run["kept"],
        "docs_per_s": round(run["pages"] / wall, 2),
        "mb_per_s": round(warc_mb / wall, 3),
        "tokens": run["tokens"],
        "tokens_per_s": round(run["tokens"] / wall, 1),
        "phase_a_s": stats.get("phase_a_s"),
        "job_s": stats.get("elapsed_s"),
        "extract_share_of_cores": round(extract_s / (workers * wall), 4),
        "outside_extractor": round(1 - extract_s / (workers * wall), 4),
        "extract_cpu_s": round(extract_cpu_s, 2),
        "outside_extractor_cpu": round(1 - extract_cpu_s / run["cpu_s"], 4) if run["cpu_s"] else None,
        "peak_pss_mb": round(run["peak_pss_mb"], 1),
        "peak_rss_mb": round(run["peak_rss_mb"], 1),
        "max_process_rss_mb": round(run["max_process_rss_mb"], 1),
        "stages": stages,
    }


def print_result(extractor: str, result: dict) -> None:
    print(f"\n== {extractor}: {result['pages']} pages -> {result['kept']} documents")
    print(f"{'stage':<20} {'in':>6} {'busy s':>8} {'docs/s':>8} {'share':>7}")
    for name, row in result["stages"].items():
        rate = f"{row['docs_per_s']:.0f}" if row["docs_per_s"] else "-"
        print(f"{name:<20} {row['in']:>6} {row['time_s']:>8.1f} {rate:>8} {row['share'] * 100:>6.1f}%")
    print(f"end to end: {result['wall_s']:.1f} s wall (phase A {result['phase_a_s']} s, job {result['job_s']} s), "
          f"{result['cpu_s']:.1f} s CPU; {result['docs_per_s']:.1f} pages/s, {result['mb_per_s']:.2f} MB/s, "
          f"{result['tokens_per_s']:.0f} tokens/s")
    print(f"extractor busy {result['extract_share_of_cores'] * 100:.0f}% of worker-core time (outside it "
          f"{result['outside_extractor'] * 100:.0f}%); extractor CPU {result['extract_cpu_s']:.1f} s of "
          f"{result['cpu_s']:.1f} s (outside it {result['outside_extractor_cpu'] * 100:.0f}%)")
    print(f"peak memory: {result['peak_pss_mb']:.0f} MB PSS / {result['peak_rss_mb']:.0f} MB RSS summed over "
          f"processes; largest process {result['max_process_rss_mb']:.0f} MB")


def bench_copies(copies: int) -> str:
    """A glob over `copies` links to the bench WARC (each a separate input file)."""
    folder = WORK / f"copies-{copies}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for index in range(copies):
        (folder / f"copy{index}.warc.gz").symlink_to(BENCH_WARC)
    return f"{folder}/*.warc.gz"


def extractor_seconds(run: dict) -> tuple[float, float]:
    """(busy seconds, CPU seconds) of the extract stage, from stats.json."""
    row = next((row for row in run["stats"]["stages"] if row["name"] == "extract"), {})
    return row.get("time_s", 0.0), row.get("counts", {}).get("cpu_ms", 0) / 1000


def steady_state(one: dict, extractor: str, workers: int, copies: int = 3) -> dict:
    """What each further copy of the WARC costs, from a run on `copies` copies and the
    one-copy run `one`: the share of it outside the extractor, and the fixed cost."""
    many = run_ccforge(bench_copies(copies), WORK / f"steady-{extractor}", workers, [f"extract.extractor={extractor}"])
    extra = copies - 1
    wall = (many["wall_s"] - one["wall_s"]) / extra
    cpu = (many["cpu_s"] - one["cpu_s"]) / extra
    busy_one, cpu_one = extractor_seconds(one)
    busy_many, cpu_many = extractor_seconds(many)
    extract_busy = (busy_many - busy_one) / extra
    extract_cpu = (cpu_many - cpu_one) / extra
    result = {
        "copies": copies,
        "wall_s": round(many["wall_s"], 2),
        "cpu_s": round(many["cpu_s"], 2),
        "per_copy_wall_s": round(wall, 2),
        "per_copy_cpu_s": round(cpu, 2),
        "per_copy_pages_per_s": round(one["pages"] / wall, 2) if wall > 0 else None,
        "fixed_wall_s": round(one["wall_s"] - wall, 2),
        "outside_extractor": round(1 - extract_busy / (workers * wall), 4) if wall > 0 else None,
        "outside_extractor_cpu": round(1 - extract_cpu / cpu, 4) if cpu > 0 else None,
    }
    print(f"\nper further copy of the WARC ({extractor}, {copies} copies against one): "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU, {result['per_copy_pages_per_s']} pages/s; "
          f"outside the extractor {result['outside_extractor'] * 100:.0f}% of worker-core time, "
          f"{result['outside_extractor_cpu'] * 100:.0f}% of CPU; fixed cost of a run {result['fixed_wall_s']:.1f} s wall")
    return result


def memory_scaling(workers: int, extractor: str) -> dict:
    """Peak memory on a quarter, one, two and four copies of the WARC.

    Dedup is off for these runs, so the second copy's documents go all the way to the
    outputs (with it on they would be dropped as duplicates and phase B would not grow).
    """
    quarter = WORK / "quarter.warc.gz"
    if not quarter.exists():
        cut_warc(BENCH_WARC, quarter, BENCH_WARC.stat().st_size // 4)
    inputs = {"quarter": (quarter, 0.25), "full": (BENCH_WARC, 1.0)}
    for name, copies in (("double", 2), ("quadruple", 4)):
        inputs[name] = (bench_copies(copies), float(copies))
    result: dict = {"extractor": extractor, "dedup": "off"}
    print(f"\nmemory vs input ({extractor}, dedup off):")
    print(f"{'input':10} {'WARC MB':>8} {'docs':>6} {'peak PSS MB':>12} {'largest process MB':>19}")
    for name, (spec, copies) in inputs.items():
        run = run_ccforge(spec, WORK / f"memory-{name}", workers, [f"extract.extractor={extractor}"],
                          cli_args=["--skip", "exact_dedup,minhash_dedup"])
        warc_mb = round(BENCH_WARC.stat().st_size * copies / 1e6 if name != "quarter" else quarter.stat().st_size / 1e6, 2)
        result[name] = {"warc_mb": warc_mb, "docs": run["kept"], "peak_pss_mb": round(run["peak_pss_mb"], 1),
                        "max_process_rss_mb": round(run["max_process_rss_mb"], 1)}
        print(f"{name:10} {warc_mb:8.1f} {run['kept']:6d} {run['peak_pss_mb']:12.0f} {run['max_process_rss_mb']:19.0f}")
    return result


def cut_warc(source: Path, target: Path, max_bytes: int) -> None:
    """The whole gzip members (records) of `source` that start before `max_bytes`."""
    data = source.read_bytes()
    position = 0
    while position < min(len(data), max_bytes):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        window = data[position : position + (8 << 20)]
        inflater.decompress(window)
        position += len(window) - len(inflater.unused_data)
    target.write_bytes(data[:position])


class MemorySampler(threading.Thread):
    """Peak summed PSS and RSS of a process and its descendants, sampled every 0.2 s."""

    def __init__(self, root: int, interval_s: float = 0.2):
        super().__init__(daemon=True)
        self.root = root
        self.interval_s = interval_s
        self.peak_pss = 0
        self.peak_rss = 0
        self.max_process_rss = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pss = rss = 0
            for pid, _ in process_tree(self.root):
                one_rss, one_pss = (kib * 1024 for kib in memory_kib(pid))
                pss += one_pss
                rss += one_rss
                self.max_process_rss = max(self.max_process_rss, one_rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_rss = max(self.peak_rss, rss)
            self._stop_event.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
