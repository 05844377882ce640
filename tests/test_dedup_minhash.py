"""Normalisation, shingles, signatures (equal to datasketch's) and the DedupKeys stage."""

from __future__ import annotations

import random

import numpy as np
import pytest
import xxhash

from ccforge.dedup.config import ExactDedupConfig, MinhashDedupConfig
from ccforge.dedup.keys import DedupKeys, text_hash
from ccforge.dedup.minhash import MinHasher, char_shingles, word_shingles
from ccforge.dedup.normalize import normalize_text
from ccforge.document import Document

datasketch = pytest.importorskip("datasketch")


def random_text(rng: random.Random, words: int) -> str:
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    return " ".join(rng.choice(vocab) for _ in range(words))


def test_normalize_folds_case_punctuation_digits_accents_and_spaces():
    assert normalize_text("Hello,  World!\nIt's 2024-01-05.") == "hello world it s 0 0 0"
    assert normalize_text("Café NAÏVE façade") == "cafe naive facade"
    assert normalize_text("snake_case ＡＢＣ１２３") == "snake case abc0"


def test_normalize_keeps_marks_that_are_letters_elsewhere():
    # Devanagari vowel signs and kana voicing are not accents: the words stay whole.
    assert normalize_text("हिन्दी भाषा, और") == "हिन्दी भाषा और"
    assert normalize_text("がガ。") == "がガ"
    assert normalize_text("한국어 텍스트입니다.") == "한국어 텍스트입니다"


def test_word_shingles_are_space_joined_ngrams():
    assert word_shingles("a b c d e f g", 5) == [b"a b c d e", b"b c d e f", b"c d e f g"]
    assert word_shingles("a b c", 5) == [b"a b c"]
    assert word_shingles("", 5) == []
    assert char_shingles("中文 测试文本", 5) == ["中文测试文".encode(), "文测试文本".encode()]


DATASKETCH_HASHFUNC = {"xxh32": xxhash.xxh32_intdigest, "sha1": datasketch.hashfunc.sha1_hash32}


@pytest.mark.parametrize("shingle_hash", ["xxh32", "sha1"])
@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("seed", [1, 42])
def test_signature_equals_datasketch(scheme, seed, shingle_hash):
    config = MinhashDedupConfig(seed=seed, scheme=scheme, shingle_hash=shingle_hash)
    hasher = MinHasher(config)
    shingles = hasher.shingles(normalize_text(random_text(random.Random(seed), 400)))
    reference = datasketch.MinHash(num_perm=112, seed=seed, scheme=scheme, hashfunc=DATASKETCH_HASHFUNC[shingle_hash])
    for shingle in shingles:
        reference.update(shingle)
    signature = hasher.signature(shingles)
    assert signature.dtype == reference.hashvalues.dtype
    assert np.array_equal(signature, reference.hashvalues)


def test_signature_of_many_shingles_spans_blocks_and_equals_datasketch():
    hasher = MinHasher(MinhashDedupConfig())
    shingles = hasher.shingles(normalize_text(random_text(random.Random(3), 9000)))
    reference = datasketch.MinHash(num_perm=112, seed=1, hashfunc=xxhash.xxh32_intdigest)
    reference.update_batch(shingles)
    assert np.array_equal(hasher.signature(shingles), reference.hashvalues)


def test_band_hashes_are_one_signed_int64_per_band_and_configurable():
    text = normalize_text(random_text(random.Random(5), 200))
    bands = MinHasher(MinhashDedupConfig()).bands(text)
    assert len(bands) == 16 and all(-(2**63) <= b < 2**63 for b in bands)
    assert bands == MinHasher(MinhashDedupConfig()).bands(text)
    assert len(MinHasher(MinhashDedupConfig(num_bands=20, rows_per_band=5)).bands(text)) == 20
    assert MinHasher(MinhashDedupConfig(seed=2)).bands(text) != bands
    assert MinHasher(MinhashDedupConfig()).bands("") == []


def test_cjk_text_gets_character_shingles_by_language_or_script():
    hasher = MinHasher(MinhashDedupConfig())
    chinese = normalize_text("今天天气很好，我们一起去公园散步吧。")
    assert hasher.uses_char_shingles(chinese)
    assert hasher.uses_char_shingles("abc def", "zh")
    assert hasher.uses_char_shingles("abc def", "ja-Jpan")
    assert not hasher.uses_char_shingles("the weather is fine today", "en")
    assert hasher.shingles(chinese)[0] == "今天天气很".encode()


def test_invalid_minhash_settings_are_one_line_errors():
    with pytest.raises(ValueError, match="scheme"):
        MinHasher(MinhashDedupConfig(scheme="bogus"))
    with pytest.raises(ValueError, match="shingle_hash"):
        MinHasher(MinhashDedupConfig(shingle_hash="md5"))
    with pytest.raises(ValueError, match="num_bands"):
        DedupKeys(ExactDedupConfig(), MinhashDedupConfig(num_bands=0))


def test_dedup_keys_sets_metadata_and_never_drops():
    stage = DedupKeys(ExactDedupConfig(), MinhashDedupConfig())
    stage.setup()
    doc = stage.process(Document(id="a", url="u", text="Hello, world! " * 20, language="en"))
    assert isinstance(doc, Document)
    assert doc.metadata["exact_hash"] == text_hash(normalize_text("Hello, world! " * 20))
    assert len(doc.metadata["minhash_bands"]) == 16
    same = stage.process(Document(id="b", url="v", text="HELLO world " * 20))
    assert same.metadata["exact_hash"] == doc.metadata["exact_hash"]
    assert same.metadata["minhash_bands"] == doc.metadata["minhash_bands"]
    off = DedupKeys(ExactDedupConfig(), MinhashDedupConfig(enabled=False))
    off.setup()
    assert off.process(Document(id="c", url="w", text="some text")).metadata["minhash_bands"] == []


def test_traditional_and_simplified_copies_of_an_article_share_their_bands():
    simplified = "国家统计局今天发布数据显示，今年前三个季度国内生产总值同比增长，经济运行总体平稳。" * 3
    traditional = "國家統計局今天發佈數據顯示，今年前三個季度國內生產總值同比增長，經濟運行總體平穩。" * 3
    hasher = MinHasher(MinhashDedupConfig())
    assert normalize_text(simplified) != normalize_text(traditional)  # the texts differ ...
    assert hasher.bands(normalize_text(simplified), "zh") == hasher.bands(normalize_text(traditional), "zh")
