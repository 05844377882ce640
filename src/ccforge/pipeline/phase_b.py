"""Phase B, over every committed piece: dedup on keys alone, then one pass that drops
duplicates, scrubs PII, tokenizes and writes the documents and token shards."""

from __future__ import annotations

import apache_beam as beam

from ccforge.config import RunConfig
from ccforge.pipeline.adapter import ApplyStage
from ccforge.pipeline.dedup_steps import DropDuplicates, FindDuplicates, write_band_index
from ccforge.pipeline.parquet_io import (
    DEDUP_KEY_COLUMNS,
    DOCUMENT_COLUMNS,
    ReadRowGroup,
    WriteDocuments,
    document_from_chunk_row,
)
from ccforge.pipeline.pieces import committed_row_groups
from ccforge.pipeline.spill import WriteOutputsFromSpill
from ccforge.pipeline.tokenize_steps import RemoveStaleShards, TokenizeDocuments, WriteTokenShards
from ccforge.stages import pii_stage


def build_phase_b(pipeline, files: list[tuple[str, str]], config: RunConfig, run_dir: str, chunks_dir: str,
                  fingerprint: str, num_document_files: int, rejects_to: str | None = None,
                  spill_to: tuple[str, int] | None = None, cc_rounds: int | None = None):
    """Adds phase B to `pipeline`. `files` are the run's inputs (url, dump): the files of
    their committed pieces, found through each input's plan and markers, are read a row
    group at a time.

    `spill_to` (a local directory and a number of key-range bits) sends the outputs
    through sorted spill files (the local runner: its shuffle holds everything in
    memory); without it they go through a GroupByKey per file. Both give the same files.
    Without it (a remote runner: a crawl's worth of documents) the dedup verdicts also
    reach the documents by a join on the id, not as a side input every worker holds whole.

    Duplicate clusters are connected components: in one process on the local runner,
    in `cc_rounds` rounds of edge shuffles on others (pipeline/dedup_steps.py).

    Returns (document file paths, token shard infos) as PCollections; the latter is
    None when tokenization is skipped.
    """
    row_groups = (
        pipeline
        | "inputs" >> beam.Create(files)
        | "spread inputs" >> beam.Reshuffle()
        | "find piece files" >> beam.FlatMap(committed_row_groups, chunks_dir, fingerprint)
        | "spread row groups" >> beam.Reshuffle()
    )
    docs = (
        row_groups
        | "read pieces" >> beam.ParDo(ReadRowGroup(DOCUMENT_COLUMNS))
        | "to documents" >> beam.Map(document_from_chunk_row)
    )
    # Always: even with both dedup stages off, copies of one record collapse to one document.
    keys = row_groups | "read dedup keys" >> beam.ParDo(ReadRowGroup(DEDUP_KEY_COLUMNS))
    join = spill_to is None  # a remote runner
    verdicts = keys | "find duplicates" >> FindDuplicates(
        config.exact_dedup, config.minhash_dedup, cc_rounds=cc_rounds if join else None)
    if config.minhash_dedup.enabled:  # so later runs can dedup against this one
        write_band_index(keys, verdicts, run_dir, config.minhash_dedup, join)
    docs = docs | "drop duplicates" >> DropDuplicates(config.exact_dedup, config.minhash_dedup, verdicts, join=join)
    pii = pii_stage(config)
    if pii is not None:
        docs = docs | "pii" >> ApplyStage(pii, rejects_to)
    tokenize = config.tokenize if config.tokenize.enabled else None
    if tokenize is not None:
        docs = docs | "tokenize" >> TokenizeDocuments(tokenize)
    if spill_to is not None:
        spill_dir, bits = spill_to
        document_files, shard_infos = docs | "write outputs" >> WriteOutputsFromSpill(
            spill_dir, bits, run_dir, num_document_files, config.output.compression, tokenize
        )
        if shard_infos is not None:
            shard_infos | "remove stale shards" >> RemoveStaleShards(run_dir)
        return document_files, shard_infos
    shard_infos = None
    if tokenize is not None:
        shard_infos = docs | "write token shards" >> WriteTokenShards(run_dir, tokenize)
    document_files = docs | "write documents" >> WriteDocuments(
        f"{run_dir}/documents", num_document_files, config.output.compression
    )
    return document_files, shard_infos
