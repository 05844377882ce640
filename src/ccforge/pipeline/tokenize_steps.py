"""Beam steps of the tokenize stage: encode documents in batches, then write token shards.

Shards are deterministic whatever the runner does with bundles: a first pass sums the
tokens of each split (so the number of shards follows `shard_tokens`), then every
document goes to the shard whose range of `order_key` (a seeded hash of the id) holds its
own, is grouped there, and each shard is sorted by `order_key` before it is written.
Tokens travel through the shuffle as raw bytes; the text does not. (The local runner
writes the same shards through pipeline/spill.py instead.)
"""

from __future__ import annotations

import dataclasses
import time

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from ccforge.document import Document
from ccforge.hashing import file_index
from ccforge.pipeline.metrics import StageCounters
from ccforge.pipeline.output_files import ShardFileWriter, sort_rows
from ccforge.tokenize.config import TokenizeConfig
from ccforge.tokenize.encoding import describe_encoding, load_encoding
from ccforge.tokenize.manifest import tokenizer_info
from ccforge.tokenize.shards import (
    SHARD_FILE,
    document_tokens,
    shard_count,
    shard_row,
    token_rows,
)

STAGE = "tokenize"


class _EncodeBatches(beam.DoFn):
    """Buffers a bundle's documents and encodes them `batch_size` at a time on `threads` threads.

    Documents are expected in the global window (a batch job), which is where the
    buffered ones are emitted from `finish_bundle`.
    """

    def __init__(self, config: TokenizeConfig):
        self.config = config

    def setup(self):
        self.encoding = load_encoding(self.config.encoding)
        self.eot = self.encoding.eot_token
        self.dtype = np.dtype(describe_encoding(self.config.encoding, self.encoding).dtype)
        self.counters = StageCounters(STAGE)

    def start_bundle(self):
        self.pending: list[Document] = []

    def process(self, doc: Document):
        self.pending.append(doc)
        if len(self.pending) >= self.config.batch_size:
            yield from self._encode_pending()

    def finish_bundle(self):
        for doc in self._encode_pending():
            yield GlobalWindows.windowed_value(doc)

    def _encode_pending(self):
        docs, self.pending = self.pending, []
        if not docs:
            return
        started = time.perf_counter()
        token_lists = self.encoding.encode_ordinary_batch([d.text for d in docs], num_threads=self.config.threads)
        self.counters.busy(time.perf_counter() - started)
        self.counters.seen(len(docs))
        kept = 0
        for doc, ids in zip(docs, token_lists):
            if not ids:
                self.counters.dropped("empty_tokens")
                continue
            tokens = document_tokens(ids, self.eot, self.dtype)
            kept += 1
            yield dataclasses.replace(doc, metadata={**doc.metadata, "token_count": len(ids), "tokens": tokens})
        self.counters.kept(kept)


class TokenizeDocuments(beam.PTransform):
    """Documents -> documents with metadata `token_count` (EOT excluded) and `tokens` (EOT included)."""

    def __init__(self, config: TokenizeConfig):
        super().__init__()
        config.check()
        self.config = config

    def expand(self, docs):
        return docs | "EncodeBatches" >> beam.ParDo(_EncodeBatches(self.config))


def _shard_row(doc: Document, val_fraction: float, seed: int):
    """(split, (order key, id, token bytes), tokens)."""
    tokens = doc.metadata["tokens"]
    return (*shard_row(doc.id, tokens, val_fraction, seed), len(tokens))


def _place_in_shard(row, split_tokens: dict, shard_tokens: int):
    split, token_row, _ = row
    shard = file_index(token_row[0], shard_count(split_tokens[split], shard_tokens))
    return (split, shard), token_row


class _WriteShard(beam.DoFn):
    """Sorts one shard's rows by their seeded key and writes the Parquet file (temp, then rename)."""

    def __init__(self, run_dir: str, config: TokenizeConfig):
        self.run_dir = run_dir
        self.config = config

    def setup(self):
        self.info = tokenizer_info(self.config)

    def process(self, element):
        (split, index), rows = element
        config = self.config
        # Under a unique temporary name: a retried or speculative copy of this bundle may write at the same time.
        writer = ShardFileWriter(self.run_dir, split, index, self.info, config.compression, config.row_group_rows)
        writer.add(sort_rows(token_rows(list(rows))))
        yield writer.close()


class _RemoveStaleShards(beam.DoFn):
    """Deletes shard files an earlier run left in tokens/ that this run did not write."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir

    def process(self, shard_infos: list[dict]):
        written = {s["path"].split("/")[-1] for s in shard_infos}
        pattern = FileSystems.join(self.run_dir, "tokens", "*.parquet")
        stale = [
            m.path
            for result in FileSystems.match([pattern])
            for m in result.metadata_list
            if SHARD_FILE.match(m.path.rsplit("/", 1)[-1]) and m.path.rsplit("/", 1)[-1] not in written
        ]
        if stale:
            FileSystems.delete(stale)
        yield len(stale)


class WriteTokenShards(beam.PTransform):
    """Documents with tokens -> OUT/tokens/{train,val}-NNNNN.parquet; returns one manifest entry per shard.

    Once every shard is written, shard files of an earlier run into the same directory
    that this run did not write are deleted, so tokens/ holds exactly the manifest's shards.
    """

    def __init__(self, run_dir: str, config: TokenizeConfig):
        super().__init__()
        config.check()
        self.run_dir = str(run_dir)
        self.config = config

    def expand(self, docs):
        config = self.config
        rows = docs | "ShardRow" >> beam.Map(_shard_row, config.val_fraction, config.seed)
        split_tokens = (
            rows | "TokensOfRow" >> beam.Map(lambda r: (r[0], r[2])) | "TokensPerSplit" >> beam.CombinePerKey(sum)
        )
        infos = (
            rows
            | "PlaceInShard" >> beam.Map(_place_in_shard, beam.pvalue.AsDict(split_tokens), config.shard_tokens)
            | "GroupShards" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(_WriteShard(self.run_dir, config))
        )
        _ = infos | "RemoveStaleShards" >> RemoveStaleShards(self.run_dir)
        return infos


class RemoveStaleShards(beam.PTransform):
    """Once every shard is written (their manifest entries in), deletes the shard files an
    earlier run left in tokens/ that this run did not write."""

    def __init__(self, run_dir: str):
        super().__init__()
        self.run_dir = str(run_dir)

    def expand(self, shard_infos):
        return (
            shard_infos
            | "AllShards" >> beam.combiners.ToList()
            | "RemoveStale" >> beam.ParDo(_RemoveStaleShards(self.run_dir))
        )
