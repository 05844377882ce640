"""Phase A's peak memory against the amount of input: 1 and 10 copies of the bench WARC.

Each run is phase A over one chunk holding N copies (symlinks) of
../shared/data/bench/bench-pages.warc.gz (2,295 pages; without it, the bundled sample
WARCs), in a fresh process on the local engine. A sampler walks that process's tree in
/proc every --interval seconds and records the peak of the summed RSS (what the issue
asks for; it counts pages shared by forked workers once per process) and of the summed
PSS (shared pages split between the processes that map them: the closer to real use).
Phase A should stay flat: a document is read, filtered and written without being held,
so the peak must not grow with the number of WARCs.

    python benchmarks/bench_memory.py [--copies 1,10] [--extractor resiliparse]
                                      [--mode multi_processing] [--workers N]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from proc_memory import memory_kib, process_tree

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "bench" / "bench-pages.warc.gz"
SAMPLES = sorted((ROOT / "data" / "sample").glob("*.warc.gz"))
MiB = 1 << 20

# Runs in the measured process: phase A (one pipeline) over the given files.
DRIVER = """
import json, sys
from ccforge.config import load_config
from ccforge.jobs.run import run_phase_a
files, out, extractor, beam_args = json.loads(sys.argv[1])
config = load_config(None, [f"extract.extractor={extractor}"])
done = run_phase_a([(path, "") for path in files], config, out, beam_args)
print(json.dumps({"counters": done["counts"], "files": done["pieces"]}))
"""


class Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = self.peak_one = self.peak_procs = 0
        self.peak_by_depth: dict[int, int] = {}  # largest RSS of one process at each depth
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            tree = process_tree(self.pid)
            sizes = [(depth, *memory_kib(pid)) for pid, depth in tree]
            self.peak_rss = max(self.peak_rss, sum(r for _, r, _ in sizes))
            self.peak_pss = max(self.peak_pss, sum(p for _, _, p in sizes))
            self.peak_one = max([self.peak_one, *(r for _, r, _ in sizes)])
            self.peak_procs = max(self.peak_procs, sum(1 for _, r, _ in sizes if r))
            for depth, rss, _ in sizes:
                self.peak_by_depth[depth] = max(self.peak_by_depth.get(depth, 0), rss)
            time.sleep(self.interval)


def measure(copies: int, source: list[Path], args) -> dict:
    with tempfile.TemporaryDirectory(prefix="ccforge-bench-memory-") as tmp:
        files = []
        for i in range(copies):
            for path in source:
                link = Path(tmp) / f"copy-{i:03d}-{path.name}"
                link.symlink_to(path)
                files.append(str(link))
        beam_args = [f"--direct_running_mode={args.mode}"]
        if args.workers:
            beam_args.append(f"--direct_num_workers={args.workers}")
        payload = json.dumps([files, f"{tmp}/run", args.extractor, beam_args])
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", DRIVER, payload], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        sampler = Sampler(proc.pid, args.interval)
        sampler.start()
        out, _ = proc.communicate()
        sampler.done.set()
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"phase A on {copies} copies failed (exit {proc.returncode})")
        result = json.loads(out.strip().splitlines()[-1])
    counters = result["counters"]
    input_bytes = sum(p.stat().st_size for p in source) * copies
    return {
        "copies": copies,
        "input_mib": round(input_bytes / MiB, 1),
        "records": counters.get("read:in", 0),
        "documents": counters.get("dedup_keys:kept", 0),
        "pieces": result["files"],
        "elapsed_s": round(time.perf_counter() - started, 1),
        "peak_rss_mib": round(sampler.peak_rss / 1024, 1),
        "peak_pss_mib": round(sampler.peak_pss / 1024, 1),
        "peak_one_process_rss_mib": round(sampler.peak_one / 1024, 1),
        "max_processes": sampler.peak_procs,
        "peak_rss_mib_by_depth": {str(d): round(v / 1024, 1) for d, v in sorted(sampler.peak_by_depth.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", default="1,10", help="comma-separated copy counts")
    parser.add_argument("--extractor", default="resiliparse")
    parser.add_argument("--mode", default="multi_processing", choices=["multi_processing", "in_memory"])
    parser.add_argument("--workers", type=int, default=0, help="direct_num_workers (default: all cores)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between samples")
    args = parser.parse_args()
    source = [BENCH] if BENCH.is_file() else SAMPLES
    print(f"input: {', '.join(p.name for p in source)}; extractor {args.extractor}; {args.mode}", flush=True)
    rows = []
    for copies in (int(c) for c in args.copies.split(",")):
        row = measure(copies, source, args)
        rows.append(row)
        print(
            f"{copies:>3} copies ({row['input_mib']} MiB, {row['records']} records, {row['documents']} kept, "
            f"{row['elapsed_s']} s): peak RSS {row['peak_rss_mib']} MiB (sum over {row['max_processes']} "
            f"processes), PSS {row['peak_pss_mib']} MiB, largest process {row['peak_one_process_rss_mib']} MiB "
            f"(largest by depth in the tree: {row['peak_rss_mib_by_depth']})",
            flush=True,
        )
    summary = {
        "bench": "memory",
        "input": source[0].name if len(source) == 1 else "sample",
        "extractor": args.extractor,
        "mode": args.mode,
        "runs": rows,
    }
    if len(rows) > 1 and rows[0]["peak_pss_mib"]:
        summary["pss_growth"] = round(rows[-1]["peak_pss_mib"] / rows[0]["peak_pss_mib"], 2)
        summary["rss_growth"] = round(rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"], 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
