"""Forking from a busy Beam worker: how often a forked child dies, with GRPC_ENABLE_FORK_SUPPORT unset and false.

  python benchmarks/bench_sandbox_fork.py [--forks 400]

The extractor's sandbox forks its child from the Beam worker process, which runs gRPC
threads. This starts a local multi_processing pipeline whose workers fork short-lived
children (as the sandbox does) and counts the children that did not exit cleanly, once
with GRPC_ENABLE_FORK_SUPPORT unset (gRPC's default) and once set to false (what ccforge
sets for its local workers, jobs/options.py). Ends with one JSON summary line.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import subprocess
import sys
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

FORKS_PER_ELEMENT = 20


def _child() -> None:
    # What a sandbox child does before its first page: allocate and collect.
    _ = [list(range(100)) for _ in range(1000)]
    gc.collect()
    time.sleep(0.01)


class ForkChildren(beam.DoFn):
    def process(self, _):
        context = multiprocessing.get_context("fork")
        failed = 0
        for _ in range(FORKS_PER_ELEMENT):
            child = context.Process(target=_child, daemon=True)
            child.start()
            child.join()
            failed += child.exitcode != 0
        yield failed


def count_failures(forks: int) -> int:
    """Runs in a fresh interpreter whose environment says what gRPC does on fork."""
    options = PipelineOptions(["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=options)
    _ = (
        pipeline
        | beam.Create(list(range(max(1, forks // FORKS_PER_ELEMENT))))
        | beam.Reshuffle()
        | beam.ParDo(ForkChildren())
        | beam.CombineGlobally(sum)
        | beam.Map(lambda n: print(f"FAILED {n}", flush=True))
    )
    pipeline.run().wait_until_finish()
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forks", type=int, default=400)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        count_failures(args.forks)
        return
    summary = {"bench": "sandbox_fork", "forks": args.forks}
    for setting in ("unset", "false"):
        env = {key: value for key, value in os.environ.items() if key != "GRPC_ENABLE_FORK_SUPPORT"}
        if setting != "unset":
            env["GRPC_ENABLE_FORK_SUPPORT"] = setting
        done = subprocess.run([sys.executable, __file__, "--child", "--forks", str(args.forks)],
                              env=env, capture_output=True, text=True, check=True)
        failed = next(int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("FAILED "))
        print(f"GRPC_ENABLE_FORK_SUPPORT={setting}: {failed} of {args.forks} forked children died", flush=True)
        summary[f"failed_with_{setting}"] = failed
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
