"""Phase A, per chunk of WARCs: read -> per-document filters -> dedup keys -> chunk Parquet.

Embarrassingly parallel: no shuffle but the Reshuffle that spreads byte ranges of
the WARCs over the workers.
"""

from __future__ import annotations

import logging
import os
import time

import apache_beam as beam

from ccforge.config import RunConfig
from ccforge.dedup.keys import DedupKeys
from ccforge.document import Drop
from ccforge.pipeline.adapter import ApplyStage
from ccforge.pipeline.metrics import NAMESPACE, StageCounters
from ccforge.pipeline.parquet_io import CHUNK_SCHEMA, WriteParquetBundles, chunk_row
from ccforge.read.reader import ReadConfig, ReadError, WarcSplit, plan_splits, read_split
from ccforge.stages import phase_a_stages

CHUNK_FILE_BYTES = 64 * 1024 * 1024
# The local runner deals byte ranges out to its workers before any is read, so a worker
# that drew slow pages finishes last while the others idle. Cutting each WARC into
# TAIL_SPLITS times as many ranges (read.split_min_bytes still bounds them) evens out
# what each worker draws: on the bench WARC the gap between workers fell from ~2.6 s
# to ~0.4 s. A range costs one seek and a probe.
TAIL_SPLITS = 4
FAILED_INPUTS = beam.metrics.Metrics.string_set(NAMESPACE, "failed_inputs")
log = logging.getLogger(__name__)


def plan_or_whole(file: tuple[str, str], config: ReadConfig, min_splits: int) -> list[WarcSplit]:
    """Byte ranges of one WARC; if it can't even be sized, one range, whose read reports it."""
    url, dump = file
    try:
        return plan_splits(url, config, min_splits, dump=dump)
    except ReadError:
        return [WarcSplit(url, 0, None, dump)]


class ReadWarcSplit(beam.DoFn):
    """One byte range of one WARC -> Documents, counting the `read` funnel row."""

    def __init__(self, config: ReadConfig):
        self.config = config

    def setup(self):
        self.counters = StageCounters("read")

    def process(self, split: WarcSplit):
        records = read_split(split, self.config)
        busy = 0.0
        began = time.perf_counter()
        seen = 0
        while True:
            # time only the reading: downstream stages run inside `yield`
            started = time.perf_counter()
            try:
                item = next(records, None)
            except ReadError as exc:  # unreachable after retries: report it by name, go on
                log.error("%s", exc)
                FAILED_INPUTS.add(split.url)
                item = Drop("unreadable_input")
                records = iter(())
            busy += time.perf_counter() - started
            if item is None:
                break
            seen += 1
            self.counters.seen()
            if isinstance(item, Drop):
                self.counters.dropped(item.reason)
            else:
                self.counters.kept()
                yield item
        self.counters.busy(busy)
        # with the stages fused after it, this is the split's whole time: shows idle tails
        log.info("split %s [%d, %s): %d records, %.1f s reading, %.1f s in all (pid %d)",
                 split.url, split.start, split.end, seen, busy, time.perf_counter() - began, os.getpid())


def build_phase_a(pipeline, files: list[tuple[str, str]], config: RunConfig, chunk_dir: str,
                  min_splits: int, rejects_to: str | None = None):
    """Adds phase A to `pipeline`; returns the PCollection of written chunk-file paths."""
    read_config = config.read
    docs = (
        pipeline
        | "inputs" >> beam.Create(files)
        | "plan byte ranges" >> beam.FlatMap(plan_or_whole, read_config, min_splits * TAIL_SPLITS)
        | "spread ranges" >> beam.Reshuffle()
        | "read" >> beam.ParDo(ReadWarcSplit(read_config))
    )
    for stage in phase_a_stages(config):
        docs = docs | stage.name >> ApplyStage(stage, rejects_to)
    return (
        docs
        | "dedup keys" >> ApplyStage(DedupKeys(config.exact_dedup, config.minhash_dedup))
        | "write chunk" >> beam.ParDo(
            WriteParquetBundles(chunk_dir, CHUNK_SCHEMA, chunk_row, CHUNK_FILE_BYTES, config.output.compression)
        )
    )
