"""Where the job runs phase B: inside the driver for a small local run, on workers otherwise."""

from __future__ import annotations

import os

from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

from ccforge.config import RunConfig
from ccforge.jobs.options import new_pipeline, pipeline_options
from ccforge.jobs.run import phase_a_text_chars, phase_b_options


def mode_and_workers(options):
    direct = options.view_as(DirectOptions)
    return direct.direct_running_mode, direct.direct_num_workers


def test_small_local_phase_b_runs_in_the_driver():
    config = RunConfig()
    small = config.output.in_process_phase_b_chars - 1
    assert mode_and_workers(phase_b_options([], config, small)) == ("in_memory", 1)


def test_in_driver_phase_b_uses_one_thread_whatever_the_worker_count():
    options = phase_b_options(["--direct_num_workers=4"], RunConfig(), 10)
    assert mode_and_workers(options) == ("in_memory", 1)


def test_large_local_phase_b_runs_on_workers():
    config = RunConfig()
    mode, workers = mode_and_workers(phase_b_options([], config, config.output.in_process_phase_b_chars))
    assert mode == "multi_processing" and workers >= 1


def test_a_running_mode_the_user_chose_is_kept():
    args = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    assert mode_and_workers(phase_b_options(args, RunConfig(), 10)) == ("multi_processing", 2)


def test_remote_runners_are_left_alone():
    args = ["--runner=DataflowRunner"]
    options = phase_b_options(args, RunConfig(), 10)
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert options.get_all_options() == pipeline_options(args).get_all_options()


def test_text_volume_sums_the_chunk_counters():
    markers = [{"counters": {"phase_a:text_chars": 10}}, {"counters": {"phase_a:text_chars": 5}}, {"counters": {}}]
    assert phase_a_text_chars(markers) == 15


def test_local_workers_start_with_grpc_fork_support_off(monkeypatch):
    # Left unset, the extractor sandbox's forked children sometimes aborted (jobs/options.py).
    monkeypatch.delenv("GRPC_ENABLE_FORK_SUPPORT", raising=False)
    new_pipeline(pipeline_options([]))
    assert os.environ["GRPC_ENABLE_FORK_SUPPORT"] == "false"
