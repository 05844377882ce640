"""Phase B, over all chunks: dedup on keys alone, then one pass that drops
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
from ccforge.pipeline.tokenize_steps import TokenizeDocuments, WriteTokenShards
from ccforge.stages import pii_stage


def build_phase_b(pipeline, pieces: list[tuple[str, int]], config: RunConfig, run_dir: str,
                  num_document_files: int, rejects_to: str | None = None):
    """Adds phase B to `pipeline`. `pieces` are (chunk file, row group) pairs.

    Returns (document file paths, token shard infos) as PCollections; the latter is
    None when tokenization is skipped.
    """
    dedup = config.exact_dedup.enabled or config.minhash_dedup.enabled
    docs = (
        pipeline
        | "chunk row groups" >> beam.Create(pieces)
        | "spread row groups" >> beam.Reshuffle()
        | "read chunks" >> beam.ParDo(ReadRowGroup(DOCUMENT_COLUMNS))
        | "to documents" >> beam.Map(document_from_chunk_row)
    )
    if dedup:
        keys = (
            pipeline
            | "key row groups" >> beam.Create(pieces)
            | "spread key row groups" >> beam.Reshuffle()
            | "read dedup keys" >> beam.ParDo(ReadRowGroup(DEDUP_KEY_COLUMNS))
        )
        verdicts = keys | "find duplicates" >> FindDuplicates(config.exact_dedup, config.minhash_dedup)
        if config.minhash_dedup.enabled:  # so later runs can dedup against this one
            write_band_index(keys, verdicts, run_dir, config.minhash_dedup)
        docs = docs | "drop duplicates" >> DropDuplicates(config.exact_dedup, config.minhash_dedup, verdicts)
    pii = pii_stage(config)
    if pii is not None:
        docs = docs | "pii" >> ApplyStage(pii, rejects_to)
    shard_infos = None
    if config.tokenize.enabled:
        docs = docs | "tokenize" >> TokenizeDocuments(config.tokenize)
        shard_infos = docs | "write token shards" >> WriteTokenShards(run_dir, config.tokenize)
    document_files = docs | "write documents" >> WriteDocuments(
        f"{run_dir}/documents", num_document_files, config.output.compression
    )
    return document_files, shard_infos
