"""Where the job runs phases A and B: inside the driver for a small local run, on workers otherwise."""

from __future__ import annotations

import os

from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

from ccforge.config import RunConfig
from ccforge.jobs.options import new_pipeline, pipeline_options
from ccforge.jobs.run import in_driver, phase_a_options, phase_b_options
from ccforge.pipeline.phase_a import SumSummaries


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


def test_phase_a_on_a_few_small_local_files_runs_in_the_driver(tmp_path):
    config = RunConfig()
    small = tmp_path / "small.warc.gz"
    small.write_bytes(b"x" * 1000)
    assert mode_and_workers(phase_a_options([], config, [(str(small), "d")])) == ("in_memory", 1)
    assert in_driver(phase_a_options([], config, [(str(small), "d")]))
    big = tmp_path / "big.warc.gz"
    big.write_bytes(b"x" * config.output.in_process_phase_a_bytes)
    options = phase_a_options([], config, [(str(small), "d"), (str(big), "d")])
    assert mode_and_workers(options)[0] == "multi_processing" and not in_driver(options)
    # a URL's size is not known to the driver (it never opens the inputs): workers
    remote = phase_a_options([], config, [(str(small), "d"), ("https://example.org/a.warc.gz", "d")])
    assert mode_and_workers(remote)[0] == "multi_processing"
    config.output.in_process_phase_a_bytes = 0  # never
    assert mode_and_workers(phase_a_options([], config, [(str(small), "d")]))[0] == "multi_processing"
    chosen = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    assert mode_and_workers(phase_a_options(chosen, RunConfig(), [(str(small), "d")])) == ("multi_processing", 2)


def test_phase_a_summary_adds_up_the_pieces_whatever_the_grouping():
    pieces = [
        {"counts": {"read:in": 3, "read:kept": 3}, "text_chars": 10, "failed_inputs": [], "pieces": 1,
         "pieces_done_before": 1},
        {"counts": {"read:in": 1}, "text_chars": 5, "failed_inputs": ["b"], "pieces": 1, "pieces_done_before": 0},
        {"counts": {"read:in": 1}, "text_chars": 0, "failed_inputs": ["a", "b"], "pieces": 1, "pieces_done_before": 0},
    ]
    combine = SumSummaries()
    whole = combine.extract_output(
        combine.merge_accumulators([combine.add_input(combine.create_accumulator(), p) for p in pieces]))
    assert whole == {"counts": {"read:in": 5, "read:kept": 3}, "text_chars": 15, "failed_inputs": ["a", "b"],
                     "pieces": 3, "pieces_done_before": 1}


def test_local_workers_start_with_grpc_fork_support_off(monkeypatch):
    # Left unset, the extractor sandbox's forked children sometimes aborted (jobs/options.py).
    monkeypatch.delenv("GRPC_ENABLE_FORK_SUPPORT", raising=False)
    new_pipeline(pipeline_options([]))
    assert os.environ["GRPC_ENABLE_FORK_SUPPORT"] == "false"
