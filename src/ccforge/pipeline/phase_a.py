"""Phase A: ONE pipeline over every pending piece of every input.

    inputs -> spread -> plan pieces (size, cut, skip committed) -> spread -> process pieces -> summary

The driver hands over the list of inputs and nothing else: sizing and cutting each WARC
into byte ranges (pieces) happens here, on the workers, so 90,000 WARCs start without the
driver probing any of them. A piece is read, run through every phase-A stage in flow
order (one StageChain, per document), given its dedup keys and written as Parquet with a
marker last (pipeline/pieces.py): the piece is the unit that commits, so a rerun does
only what has no valid marker. The stages run inside the piece's DoFn rather than as
Beam steps of their own because a piece can commit only once all its documents are
through every stage, and only one call sees them all.

The summary (`chunks/_phase_a.json`) adds up every piece's counts from its marker,
whether it was done now or by an earlier run, so the funnel of a resumed run is the
funnel of an uninterrupted one; it also gives the text volume that sizes phase B.
"""

from __future__ import annotations

import logging
import os
import time

import apache_beam as beam

from ccforge.config import RunConfig
from ccforge.dedup.keys import DedupKeys
from ccforge.document import Document, Drop
from ccforge.pipeline.adapter import StageChain, reject_record
from ccforge.pipeline.metrics import NAMESPACE, StageCounters
from ccforge.pipeline.output_files import AtomicFile
from ccforge.pipeline.parquet_io import CHUNK_SCHEMA, PartsWriter, chunk_row
from ccforge.pipeline.pieces import (
    Piece,
    commit_piece,
    new_attempt,
    part_name,
    read_marker,
    read_plan,
    summary_path,
    write_plan,
)
from ccforge.pipeline.progress import ProgressFile
from ccforge.pipeline.stats import add_counters, write_json
from ccforge.read.reader import ReadConfig, ReadError, WarcSplit, read_split, sized_splits
from ccforge.stages import phase_a_stages

PIECE_FILE_BYTES = 64 * 1024 * 1024  # text per Parquet file of a piece
# The local runner deals pieces out to its workers before any is read, so a worker that
# drew slow pages finishes last while the others idle. Cutting each WARC into TAIL_SPLITS
# times as many ranges as there are workers (read.split_min_bytes still bounds them)
# evens out what each worker draws: on the bench WARC the gap between workers fell from
# ~2.6 s to ~0.4 s. A range costs one seek and a probe.
TAIL_SPLITS = 4
FAILED_INPUTS = beam.metrics.Metrics.string_set(NAMESPACE, "failed_inputs")
log = logging.getLogger(__name__)


def pieces_per_input(workers: int, inputs: int) -> int:
    """How many ranges to cut each input into so that every worker has several to draw:
    a single WARC is cut finely, a crawl's thousands of WARCs hardly at all (read.split_*
    bounds still apply)."""
    return max(1, -(-workers * TAIL_SPLITS // max(1, inputs)))


class PlanPieces(beam.DoFn):
    """(url, dump) -> the input's pending pieces; committed ones go to the `done` output as
    summaries. The cut is kept in the input's plan, so a rerun cuts it the same way."""

    DONE = "done"

    def __init__(self, config: ReadConfig, chunks_dir: str, fingerprint: str, pieces: int,
                 progress_dir: str | None = None):
        self.config = config
        self.chunks_dir = chunks_dir
        self.fingerprint = fingerprint
        self.pieces = pieces
        self.progress_dir = progress_dir

    def setup(self):
        self.progress = ProgressFile(self.progress_dir)

    def process(self, item: tuple[str, str]):
        url, dump = item
        ranges, size = read_plan(self.chunks_dir, url), None
        if ranges is None:
            try:
                size, splits = sized_splits(url, self.config, self.pieces, dump)
                ranges = [(split.start, split.end) for split in splits]
                write_plan(self.chunks_dir, url, ranges, size)
            except ReadError:  # cannot be sized: one piece, whose read reports the error
                ranges = [(0, None)]
        done = 0
        for start, end in ranges:
            piece = Piece(url, dump, start, end)
            marker = read_marker(self.chunks_dir, piece, self.fingerprint)
            if marker is None:
                yield piece
            else:
                done += 1
                yield beam.pvalue.TaggedOutput(self.DONE, piece_summary(marker, done_before=True))
        self.progress.add(planned_bytes=size or 0, planned_pieces=len(ranges), pieces_done_before=done)

    def finish_bundle(self):
        # Once per bundle, not per input: rewriting the file per input was two thirds of
        # planning 1,000 small WARCs (benchmarks/bench_scale.py).
        self.progress.flush(force=True)

    def teardown(self):
        self.progress.flush(force=True)


class ProcessPiece(beam.DoFn):
    """Piece -> its summary, after its documents are written and its marker committed.

    An input that cannot be read (after the reader's retries) commits nothing: the piece
    is reported in `failed_inputs` and the next run tries it again.
    """

    def __init__(self, config: RunConfig, chunks_dir: str, fingerprint: str, rejects_dir: str | None = None,
                 progress_dir: str | None = None):
        self.config = config
        self.chunks_dir = chunks_dir
        self.fingerprint = fingerprint
        self.rejects_dir = rejects_dir
        self.progress_dir = progress_dir

    def setup(self):
        keys = DedupKeys(self.config.exact_dedup, self.config.minhash_dedup)
        self.chain = StageChain([*phase_a_stages(self.config), keys])
        self.chain.setup()
        self.read_counters = StageCounters("read")
        self.progress = ProgressFile(self.progress_dir)

    def process(self, piece: Piece):
        tally: dict[str, int] = {}
        attempt = new_attempt()
        directory = piece.directory(self.chunks_dir)
        parts = PartsWriter(directory, CHUNK_SCHEMA, PIECE_FILE_BYTES, self.config.output.compression,
                            lambda index: part_name(attempt, index))
        rejects = PieceRejects(self.rejects_dir, piece, attempt) if self.rejects_dir else None
        self.chain.start(tally, rejects.add if rejects else None)
        self.read_counters.tally = tally
        reading = PieceReading(piece, self.progress)
        began = time.perf_counter()
        try:
            for doc in self.chain.run(self._documents(piece, reading)):
                parts.add(chunk_row(doc))
                self.progress.add(documents=1)
            parts.close()
        except ReadError as exc:
            log.error("%s", exc)
            FAILED_INPUTS.add(piece.url)
            self.progress.add(failed_pieces=1)
            yield failed_summary(piece)
            return
        self.chain.finish()
        self.read_counters.busy(reading.busy_s)
        self.progress.add(bytes_read=reading.rest(), pieces_done=1)
        if rejects is not None:
            rejects.close()
        marker = {
            "piece": piece.name,
            "url": piece.url,
            "range": [piece.start, piece.end],
            "config": self.fingerprint,
            "files": parts.finished,
            "counts": tally,
            "text_chars": parts.text_chars,
        }
        committed = commit_piece(self.chunks_dir, piece, marker)
        log.info("piece %s: %d records, %d documents, %.1f s (pid %d)", piece.name, tally.get("read:in", 0),
                 sum(entry["rows"] for entry in committed["files"]), time.perf_counter() - began, os.getpid())
        yield piece_summary(committed, done_before=False)

    def _documents(self, piece: Piece, reading: PieceReading):
        """The piece's documents, counting the `read` funnel row (and timing only the reading:
        the stages run while this generator is suspended)."""
        split = WarcSplit(piece.url, piece.start, piece.end, piece.dump)
        records = read_split(split, self.config.read, position=reading.at)
        while True:
            started = time.perf_counter()
            item = next(records, None)
            reading.busy_s += time.perf_counter() - started
            if item is None:
                return
            self.read_counters.seen()
            if isinstance(item, Drop):
                self.progress.add(records=1)
                self.read_counters.dropped(item.reason)
            else:
                self.progress.add(records=1, pages=1)  # a page: a record the read stage keeps
                self.read_counters.kept()
                yield item

    def teardown(self):
        self.chain.teardown()
        self.progress.flush(force=True)


class PieceReading:
    """Where reading a piece has got to, for progress (bytes) and the read stage's time."""

    def __init__(self, piece: Piece, progress: ProgressFile):
        self.piece = piece
        self.progress = progress
        self.busy_s = 0.0
        self.counted = 0  # bytes of the piece already reported

    def at(self, position: int) -> None:
        done = position - self.piece.start
        if self.piece.end is not None:
            done = min(done, self.piece.end - self.piece.start)
        if done > self.counted:
            self.progress.add(bytes_read=done - self.counted)
            self.counted = done

    def rest(self) -> int:
        """Bytes of the piece not yet reported (all of a bounded piece is read by now)."""
        if self.piece.end is None:
            return 0
        return max(0, self.piece.end - self.piece.start - self.counted)


class PieceRejects:
    """Dropped documents of one piece with their reasons: OUT/rejects/<stage>/<piece>.jsonl."""

    def __init__(self, rejects_dir: str, piece: Piece, attempt: str):
        self.rejects_dir = rejects_dir
        self.name = piece.name.replace("/", "-")
        self.attempt = attempt
        self.files: dict[str, AtomicFile] = {}

    def add(self, stage: str, reason: str, doc: Document) -> None:
        output = self.files.get(stage)
        if output is None:
            output = self.files[stage] = AtomicFile(f"{self.rejects_dir}/{stage}/{self.name}.jsonl")
        output.stream.write((reject_record(stage, reason, doc) + "\n").encode("utf-8"))

    def close(self) -> None:
        for output in self.files.values():
            output.commit()


def piece_summary(marker: dict, done_before: bool) -> dict:
    return {
        "counts": marker["counts"],
        "text_chars": int(marker.get("text_chars", 0)),
        "failed_inputs": [],
        "pieces": 1,
        "pieces_done_before": int(done_before),
    }


def failed_summary(piece: Piece) -> dict:
    """An unreadable piece counts once as `read: unreadable_input`; its partial documents
    are not committed (they come when a rerun reads the piece whole)."""
    return {
        "counts": {"read:in": 1, "read:dropped:unreadable_input": 1},
        "text_chars": 0,
        "failed_inputs": [piece.url],
        "pieces": 1,
        "pieces_done_before": 0,
    }


class SumSummaries(beam.CombineFn):
    """Piece summaries -> the run's phase-A totals."""

    def create_accumulator(self):
        return {"counts": {}, "text_chars": 0, "failed_inputs": [], "pieces": 0, "pieces_done_before": 0}

    def add_input(self, total, summary):
        add_counters(total["counts"], summary["counts"])
        for key in ("text_chars", "pieces", "pieces_done_before"):
            total[key] += summary[key]
        total["failed_inputs"] = sorted(set(total["failed_inputs"]) | set(summary["failed_inputs"]))
        return total

    def merge_accumulators(self, totals):
        merged = self.create_accumulator()
        for total in totals:
            merged = self.add_input(merged, total)
        return merged

    def extract_output(self, total):
        return total


def build_phase_a(pipeline, files: list[tuple[str, str]], config: RunConfig, chunks_dir: str, fingerprint: str,
                  pieces: int, rejects_dir: str | None = None, progress_dir: str | None = None):
    """Adds phase A to `pipeline`: every piece of `files` not yet committed is processed, and
    the totals are written to `chunks/_phase_a.json`."""
    phase_a_stages(config)  # built here too: their constructors check the settings before any worker starts
    planned = (
        pipeline
        | "inputs" >> beam.Create(files)
        | "spread inputs" >> beam.Reshuffle()
        | "plan pieces" >> beam.ParDo(
            PlanPieces(config.read, chunks_dir, fingerprint, pieces, progress_dir)
        ).with_outputs(PlanPieces.DONE, main="pending")
    )
    processed = (
        planned.pending
        | "spread pieces" >> beam.Reshuffle()
        | "process pieces" >> beam.ParDo(ProcessPiece(config, chunks_dir, fingerprint, rejects_dir, progress_dir))
    )
    return (
        (processed, planned[PlanPieces.DONE])
        | "all pieces" >> beam.Flatten()
        | "sum pieces" >> beam.CombineGlobally(SumSummaries())
        | "write summary" >> beam.Map(write_json_to, summary_path(chunks_dir))
    )


def write_json_to(data: dict, path: str) -> str:
    write_json(path, data)
    return path
