"""The compact vocabulary: only the token ids a run's shards use, plus a byte fallback.

cl100k has 100,277 ids; a 4-layer, 128-wide model would spend 12.8M parameters (most
of it) and most of its compute on embedding rows that the corpus never uses and that
would only learn "never predict me". So the trainer renumbers the ids the shards
contain (plus end-of-text and the tokenizer's 256 single-byte tokens) to 0..n-1 and trains
on that. The checkpoint stores the original ids; the sampler maps back and decodes
with the run's own tokenizer, so text in and out is exactly what the shards meant.
A prompt token that the corpus never used is spelled with single-byte tokens
instead, which always exist.
"""

from __future__ import annotations

import numpy as np
import torch

from ccforge.tokenize.encoding import load_encoding  # cl100k_base offline; other names or a BPE file


class Vocab:
    """A bijection between a tokenizer's ids in use (`ids`, sorted) and compact ids 0..n-1."""

    def __init__(self, encoding_name: str, ids: np.ndarray, eot: int, encoding=None):
        self.encoding_name = encoding_name
        self.ids = np.asarray(ids, dtype=np.int64)
        self.eot_original = int(eot)
        self.eot = int(np.searchsorted(self.ids, eot))
        if self.eot >= len(self.ids) or self.ids[self.eot] != eot:
            raise ValueError("the compact vocabulary must contain the end-of-text id")
        self._encoding = encoding

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_counts(cls, encoding_name: str, counts: np.ndarray, eot: int, encoding=None) -> Vocab:
        """Ids with a non-zero count in the shards, end-of-text, and the 256 single-byte tokens."""
        encoding = encoding or load_encoding(encoding_name)
        used = set(np.flatnonzero(counts).tolist())
        used.add(int(eot))
        used.update(_byte_token_ids(encoding))
        return cls(encoding_name, np.array(sorted(used), dtype=np.int64), eot, encoding)

    @property
    def encoding(self):
        if self._encoding is None:
            self._encoding = load_encoding(self.encoding_name)
        return self._encoding

    def lookup_table(self, vocab_size: int) -> np.ndarray:
        """Original id -> compact id (-1 where unused), for mapping whole shards at once."""
        table = np.full(vocab_size, -1, dtype=np.int32)  # int32 halves a loaded shard's memory
        table[self.ids] = np.arange(len(self.ids), dtype=np.int32)
        return table

    def token_bytes(self) -> torch.Tensor:
        """UTF-8 byte length of every compact id (0 for end-of-text), for bits per byte."""
        enc = self.encoding
        lengths = [len(enc.decode_single_token_bytes(int(i))) for i in self.ids]
        lengths[self.eot] = 0
        return torch.tensor(lengths, dtype=torch.int64)

    def encode(self, text: str) -> list[int]:
        """Compact ids of `text`; tokens the corpus never used are spelled byte by byte."""
        enc = self.encoding
        out: list[int] = []
        for token in enc.encode_ordinary(text):
            compact = self._compact(token)
            if compact is not None:
                out.append(compact)
            else:
                spelled = enc.decode_single_token_bytes(token)
                out.extend(self._compact(enc.encode_single_token(bytes([b]))) for b in spelled)
        return out

    def decode(self, compact_ids: list[int]) -> str:
        return self.encoding.decode([int(self.ids[i]) for i in compact_ids])

    def _compact(self, token: int) -> int | None:
        i = int(np.searchsorted(self.ids, token))
        return i if i < len(self.ids) and self.ids[i] == token else None

    def state_dict(self) -> dict:
        return {"encoding": self.encoding_name, "ids": torch.from_numpy(self.ids.copy()), "eot": self.eot_original}

    @classmethod
    def from_state_dict(cls, state: dict) -> Vocab:
        return cls(state["encoding"], state["ids"].numpy(), state["eot"])


def _byte_token_ids(encoding) -> list[int]:
    ids = []
    for b in range(256):
        try:
            ids.append(encoding.encode_single_token(bytes([b])))
        except KeyError:  # an encoding without byte-level fallback tokens
            pass
    return ids
