"""FindDuplicates / DropDuplicates / WriteBandIndex on Beam's in-process engine."""

from __future__ import annotations

import json
import random
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from ccforge.dedup.config import ExactDedupConfig, MinhashDedupConfig
from ccforge.dedup.keys import DedupKeys
from ccforge.document import Document
from ccforge.pipeline.dedup_steps import DropDuplicates, FindDuplicates, write_band_index
from ccforge.pipeline.metrics import counters_from_result

VOCAB_RNG = random.Random(0)
VOCAB = ["".join(VOCAB_RNG.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(VOCAB_RNG.randint(3, 9))) for _ in range(5000)]
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 2000)]


def words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(VOCAB) for _ in range(n)]


def replace_share(rng: random.Random, tokens: list[str], share: float, pool: list[str]) -> list[str]:
    out = list(tokens)
    for i in rng.sample(range(len(out)), max(1, round(share * len(out)))):
        out[i] = rng.choice(pool)
    return out


def doc(doc_id: str, text: str, url: str = "", date: str = "2024-01-01T00:00:00Z", language: str = "en") -> Document:
    return Document(id=doc_id, url=url or f"http://example.com/{doc_id}", date=date, text=text, language=language)


def corpus() -> list[Document]:
    rng = random.Random(1)
    docs = [doc(f"base{i:02d}", " ".join(words(rng, 300))) for i in range(30)]
    docs.append(doc("exact-copy", docs[0].text.upper().replace(" ", ",  ")))
    for k in range(2):
        docs.append(doc(f"near-copy{k}", " ".join(replace_share(rng, docs[1].text.split(), 0.01, VOCAB))))
    footer = " ".join(words(rng, 60))
    docs += [doc(f"footer{i}", " ".join(words(rng, 120)) + "\n" + footer) for i in range(10)]
    # An older and a newer capture of base02's URL, with other text each.
    docs.append(doc("old-capture", " ".join(words(rng, 300)), url=docs[2].url, date="2023-06-01T00:00:00Z"))
    docs.append(doc("zz-new-capture", " ".join(words(rng, 300)), url=docs[2].url, date="2025-01-01T00:00:00Z"))
    chinese = [rng.choice(HAN) for _ in range(400)]
    docs.append(doc("zh-a", "".join(chinese), language="zh"))
    docs.append(doc("zh-b", "".join(replace_share(rng, chinese, 0.01, HAN)), language="zh"))
    docs.append(doc("zh-c", "".join(rng.choice(HAN) for _ in range(400)), language="zh"))
    return docs


def with_keys(docs: list[Document], minhash_cfg: MinhashDedupConfig) -> list[Document]:
    stage = DedupKeys(ExactDedupConfig(), minhash_cfg)
    stage.setup()
    return [stage.process(Document(**{**d.__dict__, "metadata": {}})) for d in docs]


def key_rows(docs: list[Document]) -> list[dict]:
    return [
        {"id": d.id, "url": d.url, "date": d.date, "exact_hash": d.metadata["exact_hash"], "minhash_bands": d.metadata["minhash_bands"]}
        for d in docs
    ]


def run_dedup(tmp_path: Path, docs, exact_cfg=None, minhash_cfg=None, multi_processing=False, index_dir=None,
              join=False):
    exact_cfg = exact_cfg or ExactDedupConfig()
    minhash_cfg = minhash_cfg or MinhashDedupConfig()
    keyed = with_keys(docs, minhash_cfg)
    options = PipelineOptions(direct_num_workers=2, direct_running_mode="multi_processing") if multi_processing else None
    out = tmp_path / ("mp" if multi_processing else "mem")
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=options)
    rows = pipeline | "Keys" >> beam.Create(key_rows(keyed))
    verdicts = rows | FindDuplicates(exact_cfg, minhash_cfg)
    kept = pipeline | "Docs" >> beam.Create(keyed) | DropDuplicates(exact_cfg, minhash_cfg, verdicts, join)
    kept | "KeptJson" >> beam.Map(lambda d: json.dumps([d.id, d.metadata["minhash_cluster_size"]])) | "WriteKept" >> beam.io.WriteToText(str(out / "kept"))
    verdicts | "VerdictJson" >> beam.Map(json.dumps) | "WriteVerdicts" >> beam.io.WriteToText(str(out / "verdicts"))
    if index_dir is not None:
        write_band_index(rows, verdicts, str(index_dir), minhash_cfg, join)
    result = pipeline.run()
    result.wait_until_finish()
    kept_sizes = dict(json.loads(line) for f in sorted(out.glob("kept*")) for line in f.read_text().splitlines())
    verdict_map = {k: v for f in sorted(out.glob("verdicts*")) for k, v in map(json.loads, f.read_text().splitlines())}
    return kept_sizes, verdict_map, counters_from_result(result), keyed


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    return run_dedup(tmp_path_factory.mktemp("dedup"), corpus())


def test_exact_and_near_copies_collapse_to_one(default_run):
    kept, verdicts, _, _ = default_run
    assert "base00" in kept and "exact-copy" not in kept
    assert verdicts["exact-copy"]["drop"] == "exact_duplicate"
    assert "base01" in kept and not {"near-copy0", "near-copy1"} & set(kept)
    assert verdicts["near-copy0"]["drop"] == "near_duplicate"
    assert kept["base00"] == 2 and kept["base01"] == 3


def test_newest_capture_of_a_url_wins(default_run):
    kept, verdicts, _, _ = default_run
    assert "zz-new-capture" in kept
    assert verdicts["base02"]["drop"] == verdicts["old-capture"]["drop"] == "url_duplicate"


def test_distinct_documents_with_a_shared_footer_survive(default_run):
    kept, _, _, _ = default_run
    assert all(f"footer{i}" in kept for i in range(10))
    assert all(kept[f"footer{i}"] == 1 for i in range(10))


def test_chinese_near_copies_collapse(default_run):
    kept, verdicts, _, _ = default_run
    assert "zh-a" in kept and "zh-c" in kept and "zh-b" not in kept
    assert verdicts["zh-b"]["drop"] == "near_duplicate"


def test_funnel_counts_add_up(default_run):
    kept, _, counters, keyed = default_run
    assert counters["exact_dedup:in"] == len(keyed)
    assert counters["exact_dedup:dropped:url_duplicate"] == 2
    assert counters["exact_dedup:dropped:exact_duplicate"] == 1
    assert counters["minhash_dedup:in"] == counters["exact_dedup:kept"] == len(keyed) - 3
    assert counters["minhash_dedup:dropped:near_duplicate"] == 3
    assert counters["minhash_dedup:kept"] == len(kept) == len(keyed) - 6


def near_duplicate_heavy_corpus(seed: int = 7) -> list[Document]:
    """Clusters of copies edited 0-40%, so buckets overlap in tangled ways."""
    rng = random.Random(seed)
    docs = []
    for c in range(25):
        base = words(rng, 150)
        docs.append(doc(f"c{c:02d}-0", " ".join(base)))
        for k in range(1, rng.randint(2, 6)):
            docs.append(doc(f"c{c:02d}-{k}", " ".join(replace_share(rng, base, rng.uniform(0.0, 0.4), VOCAB))))
    rng.shuffle(docs)
    return docs


def test_no_two_kept_documents_share_a_bucket(tmp_path):
    kept, verdicts, _, keyed = run_dedup(tmp_path, near_duplicate_heavy_corpus())
    owners: dict[tuple[int, int], str] = {}
    for d in keyed:
        if d.id not in kept:
            continue
        for band, band_hash in enumerate(d.metadata["minhash_bands"]):
            assert (band, band_hash) not in owners, f"{d.id} and {owners[(band, band_hash)]} share a bucket"
            owners[(band, band_hash)] = d.id
    assert 25 <= len(kept) < len(keyed)
    assert all(v["drop"] == "near_duplicate" for k, v in verdicts.items() if k not in kept)


def test_results_are_identical_across_runs_and_runner_modes(tmp_path):
    docs = near_duplicate_heavy_corpus(seed=11)[:60] + corpus()[:20]
    first = run_dedup(tmp_path / "a", docs)
    second = run_dedup(tmp_path / "b", list(reversed(docs)))
    parallel = run_dedup(tmp_path / "c", docs, multi_processing=True)
    assert first[0] == second[0] == parallel[0]
    assert first[1] == second[1] == parallel[1]


def band_index_rows(index_dir: Path) -> list[tuple[int, int]]:
    import pyarrow.parquet as pq

    files = sorted((index_dir / "dedup" / "band_index").glob("*.parquet"))
    return sorted(row for f in files for row in zip(*pq.read_table(f).to_pydict().values()))


def test_verdicts_joined_by_id_keep_what_the_side_input_keeps(tmp_path):
    """The remote runners' join on the id and the local side input: same documents,
    cluster sizes, counts and band index; a record read twice stays twice in both."""
    docs = near_duplicate_heavy_corpus(seed=3)[:50] + corpus() + [corpus()[4]]
    side = run_dedup(tmp_path / "side", docs, index_dir=tmp_path / "side-index")
    joined = run_dedup(tmp_path / "join", docs, index_dir=tmp_path / "join-index", join=True)
    assert joined[0] == side[0] and joined[1] == side[1]
    funnel = ("exact_dedup:in", "exact_dedup:kept", "minhash_dedup:in", "minhash_dedup:kept")
    assert [joined[2][k] for k in funnel] == [side[2][k] for k in funnel]
    assert joined[2]["exact_dedup:kept"] == side[2]["exact_dedup:in"] - 3  # the record read twice: kept twice, in both
    assert band_index_rows(tmp_path / "join-index") == band_index_rows(tmp_path / "side-index")
    assert len(band_index_rows(tmp_path / "side-index")) > 0


def test_disabled_stages_drop_nothing_and_count_nothing(tmp_path):
    docs = corpus()
    kept, verdicts, counters, _ = run_dedup(
        tmp_path, docs, ExactDedupConfig(enabled=False), MinhashDedupConfig(enabled=False)
    )
    assert len(kept) == len(docs) and verdicts == {}
    assert not any(k.startswith(("exact_dedup:", "minhash_dedup:")) for k in counters)


def test_exact_only_keeps_near_copies(tmp_path):
    kept, _, counters, _ = run_dedup(tmp_path, corpus(), minhash_cfg=MinhashDedupConfig(enabled=False))
    assert {"near-copy0", "near-copy1", "zh-b"} <= set(kept) and "exact-copy" not in kept
    assert "minhash_dedup:in" not in counters


def test_a_later_run_drops_what_an_earlier_run_kept(tmp_path):
    rng = random.Random(5)
    earlier = [doc(f"old{i}", " ".join(words(rng, 200))) for i in range(8)]
    run_dedup(tmp_path / "run1", earlier, index_dir=tmp_path / "RUN1")
    assert list((tmp_path / "RUN1" / "dedup" / "band_index").glob("*.parquet"))
    later = [doc("new-copy", " ".join(replace_share(rng, earlier[3].text.split(), 0.01, VOCAB))), doc("new-exact", earlier[5].text)]
    later += [doc(f"new{i}", " ".join(words(rng, 200))) for i in range(5)]
    cfg = MinhashDedupConfig(against=[str(tmp_path / "RUN1")])
    kept, verdicts, _, _ = run_dedup(tmp_path / "run2", later, minhash_cfg=cfg)
    assert set(kept) == {f"new{i}" for i in range(5)}
    assert verdicts["new-copy"]["drop"] == verdicts["new-exact"]["drop"] == "near_duplicate"


def test_against_a_missing_or_mismatched_index_fails_early(tmp_path):
    with pytest.raises(ValueError, match="no band index"):
        FindDuplicates(ExactDedupConfig(), MinhashDedupConfig(), against_indexes=[str(tmp_path / "nothing")])
    run_dedup(tmp_path / "run1", corpus()[:3], index_dir=tmp_path / "RUN1")
    with pytest.raises(ValueError, match="minhash settings"):
        FindDuplicates(ExactDedupConfig(), MinhashDedupConfig(seed=9), against_indexes=[str(tmp_path / "RUN1")])
