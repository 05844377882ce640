"""Beam pipeline options: local runs pin the in-process engine, other runners pass through."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

# Before gRPC starts in this process too: a small run's phase A runs in the driver, whose
# extractor sandbox forks (see new_pipeline).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions  # noqa: E402
from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # noqa: E402

LOCAL_RUNNERS = (None, "DirectRunner", "FnApiRunner")


def local_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def unknown_beam_args(beam_args: list[str]) -> list[str]:
    """The arguments no Beam option class knows (typos would otherwise be ignored)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    seen: set[type] = set()
    pending = list(PipelineOptions.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls in seen:
            continue
        seen.add(cls)
        pending.extend(cls.__subclasses__())
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:  # an option two classes share
            pass
    _, unknown = parser.parse_known_args(beam_args)
    return unknown


def is_local(options: PipelineOptions) -> bool:
    return options.view_as(StandardOptions).runner in LOCAL_RUNNERS


def is_dataflow(options: PipelineOptions) -> bool:
    return (options.view_as(StandardOptions).runner or "").endswith("DataflowRunner")


def pipeline_options(beam_args: list[str], workers: int | None = None,
                     running_mode: str = "multi_processing") -> PipelineOptions:
    """Options for one job. Without `--runner`, the local in-process engine across all cores."""
    options = PipelineOptions(beam_args)
    if is_local(options):
        direct = options.view_as(DirectOptions)
        if "--direct_num_workers" not in " ".join(beam_args):
            direct.direct_num_workers = workers or local_cores()
        if "--direct_running_mode" not in " ".join(beam_args):
            direct.direct_running_mode = running_mode
    return options


def new_pipeline(options: PipelineOptions) -> beam.Pipeline:
    # A plain DirectRunner first tries to download the Prism binary (Beam >= 2.68);
    # FnApiRunner is the in-process engine that honours direct_running_mode.
    if is_local(options):
        # The worker processes inherit this. Left unset, a child forked while the
        # worker's gRPC threads are busy (the extractor's sandbox) aborted on an
        # inconsistent mutex: 42 of 800 forks; set to false, 0 of 1,600
        # (benchmarks/bench_sandbox_fork.py). The children never use gRPC.
        os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)


def worker_count(options: PipelineOptions) -> int:
    if is_local(options):
        return max(1, options.view_as(DirectOptions).direct_num_workers or local_cores())
    from apache_beam.options.pipeline_options import WorkerOptions

    workers = options.view_as(WorkerOptions)
    return max(1, (workers.max_num_workers or workers.num_workers or 4) * 4)


@contextlib.contextmanager
def worker_logs_to(path: str | None):
    """Send this process's and its worker subprocesses' stderr to `path` while a pipeline runs.

    Local Beam workers log every bundle at INFO to the inherited stderr; a person
    wants the progress and the summary, with the logs kept in a file for when
    something fails. `path` None leaves stderr alone (`ccforge -v`).
    """
    if path is None:
        yield
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log_file:
        os.dup2(log_file.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
