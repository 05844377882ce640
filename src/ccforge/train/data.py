"""Token shards in, training windows out: one shard in memory at a time.

A run's split is the concatenation of its shards' rows (documents separated by
end-of-text). Each shard is cut into non-overlapping windows of block_size + 1 tokens
(inputs and the targets shifted by one); the tail shorter than a window is left out.
Every epoch visits the shards in a seeded order and each shard's windows in a seeded
order, so windows are drawn without replacement and the position in that order
(epoch, shard, window) is all a checkpoint needs to continue exactly.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

MANIFEST_FORMAT = "ccforge-tokens/1"


class DataError(ValueError):
    """A run directory the trainer cannot use; the message is one line saying what to do."""


@dataclass(frozen=True)
class Span:
    """Tokens [start, end) of one shard (end None: to the shard's end)."""

    path: str
    start: int = 0
    end: int | None = None

    def load(self, table: np.ndarray) -> np.ndarray:
        """The span's tokens, mapped to compact ids through `table`."""
        return table[read_shard_tokens(self.path)[self.start : self.end]]

    def num_windows(self, shard_tokens: int, block_size: int) -> int:
        length = (self.end if self.end is not None else shard_tokens) - self.start
        return max(0, (length - 1) // block_size)


def read_manifest(run_dir: str | Path) -> dict:
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        raise DataError(f"no manifest.json in {run_dir}: point train at a run directory made by `ccforge run`")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != MANIFEST_FORMAT:
        raise DataError(f"{path} has format {manifest.get('format')!r}, expected {MANIFEST_FORMAT!r}")
    if not any(s.get("split") == "train" for s in manifest.get("shards", [])):
        raise DataError(f"{path} lists no train shards: the run kept no documents to train on")
    return manifest


def read_shard_tokens(path: str | Path) -> np.ndarray:
    """All tokens of one shard, rows concatenated, in the shard's own dtype."""
    column = pq.read_table(path, columns=["tokens"]).column("tokens")
    return pc.list_flatten(column).to_numpy()


def shard_paths(run_dir: str | Path, manifest: dict, split: str) -> list[str]:
    return [str(Path(run_dir) / s["path"]) for s in manifest["shards"] if s["split"] == split]


def count_tokens(paths: list[str], vocab_size: int) -> tuple[np.ndarray, dict[str, int]]:
    """How often each id occurs over `paths`, and every shard's token count (one pass, shard by shard)."""
    counts = np.zeros(vocab_size, dtype=np.int64)
    lengths = {}
    for path in paths:
        tokens = read_shard_tokens(path)
        if tokens.size and int(tokens.max()) >= vocab_size:
            raise DataError(f"{path} holds token id {int(tokens.max())} >= the manifest's vocab_size {vocab_size}")
        counts += np.bincount(tokens, minlength=vocab_size)
        lengths[path] = int(tokens.size)
    return counts, lengths


def hold_out(train: list[str], lengths: dict[str, int], tokens: int) -> tuple[list[Span], list[Span]]:
    """Split the last `tokens` tokens of the train shards (in manifest order) off for validation."""
    train_spans: list[Span] = [Span(p) for p in train]
    val_spans: list[Span] = []
    remaining = tokens
    while remaining > 0 and train_spans:
        last = train_spans.pop()
        length = lengths[last.path]
        if length > remaining:
            train_spans.append(Span(last.path, 0, length - remaining))
            val_spans.insert(0, Span(last.path, length - remaining, None))
        else:
            val_spans.insert(0, last)
        remaining -= length
    return train_spans, val_spans


class TrainWindows:
    """Batches of (inputs, targets) windows in a seeded order without replacement, shard by shard."""

    def __init__(self, spans, lengths, table, block_size: int, batch_size: int, seed: int):
        self.spans = list(spans)
        self.table = table
        self.block_size = block_size
        self.batch_size = batch_size
        self.seed = seed
        self.windows = [s.num_windows(lengths[s.path], block_size) for s in self.spans]
        if sum(self.windows) == 0:
            total = sum((s.end or lengths[s.path]) - s.start for s in self.spans)
            raise DataError(
                f"the train split has {total} tokens, too few for one window of block_size+1 = {block_size + 1}: "
                f"lower it with --set block_size=N"
            )
        self.epoch, self.shard_pos, self.window_pos = 0, 0, 0
        self._loaded: tuple[int, int, np.ndarray, np.ndarray] | None = None  # (epoch, shard, tokens, order)
        self._order: tuple[int, np.ndarray] | None = None  # (epoch, shard order)

    @property
    def windows_per_epoch(self) -> int:
        return sum(self.windows)

    def _shard_order(self) -> np.ndarray:
        if self._order is None or self._order[0] != self.epoch:
            self._order = (self.epoch, np.random.default_rng([self.seed, self.epoch]).permutation(len(self.spans)))
        return self._order[1]

    def _current(self) -> tuple[np.ndarray, np.ndarray]:
        shard = int(self._shard_order()[self.shard_pos])
        if self._loaded is None or self._loaded[:2] != (self.epoch, shard):
            tokens = self.spans[shard].load(self.table)
            order = np.random.default_rng([self.seed, self.epoch, shard]).permutation(self.windows[shard])
            self._loaded = (self.epoch, shard, tokens, order)
        return self._loaded[2], self._loaded[3]

    def _advance_shard(self) -> None:
        self.shard_pos, self.window_pos = self.shard_pos + 1, 0
        if self.shard_pos == len(self.spans):
            self.epoch, self.shard_pos = self.epoch + 1, 0

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        rows = []
        while len(rows) < self.batch_size:
            tokens, order = self._current()
            if self.window_pos >= len(order):
                self._advance_shard()
                continue
            start = int(order[self.window_pos]) * self.block_size
            rows.append(tokens[start : start + self.block_size + 1])
            self.window_pos += 1
        batch = torch.from_numpy(np.stack(rows)).long()
        return batch[:, :-1], batch[:, 1:]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "shard_pos": self.shard_pos, "window_pos": self.window_pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.shard_pos, self.window_pos = state["epoch"], state["shard_pos"], state["window_pos"]


def validation_windows(spans, lengths, table, block_size: int, count: int) -> torch.Tensor:
    """`count` windows spread evenly over the validation spans (fixed, so evaluations compare)."""
    per_span = [s.num_windows(lengths[s.path], block_size) for s in spans]
    total = sum(per_span)
    if total == 0:
        return torch.empty(0, block_size + 1, dtype=torch.int64)
    wanted = np.unique(np.linspace(0, total - 1, min(count, total)).round().astype(np.int64))
    rows, first = [], 0
    for span, n in zip(spans, per_span):
        mine = wanted[(wanted >= first) & (wanted < first + n)] - first
        if mine.size:
            tokens = span.load(table)
            rows.extend(tokens[w * block_size : w * block_size + block_size + 1] for w in mine)
        first += n
    return torch.from_numpy(np.stack(rows)).long()


def holdout_tokens(train_tokens: int, block_size: int, eval_windows: int) -> int:
    """Tokens to hold out when a run has no val shard: what evaluation uses, at most a tenth of train."""
    wanted = eval_windows * block_size + 1
    return max(block_size + 1, min(wanted, math.ceil(train_tokens / 10)))
