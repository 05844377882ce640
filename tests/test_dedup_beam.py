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

pytestmark = pytest.mark.whole_jobs  # scheduled first (conftest)

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
    return [stage.process(Document(**{**d.__dict__, "metadata": dict(d.metadata)})) for d in docs]


def key_rows(docs: list[Document]) -> list[dict]:
    return [
        {"id": d.id, "url": d.url, "date": d.date, "file_path": d.file_path,
         "record_offset": d.metadata.get("record_offset"), "exact_hash": d.metadata["exact_hash"],
         "minhash_bands": d.metadata["minhash_bands"]}
        for d in docs
    ]


def run_dedup(tmp_path: Path, docs, exact_cfg=None, minhash_cfg=None, multi_processing=False, index_dir=None,
              join=False):
    """`join`: as on remote runners, verdicts joined by id and clusters found by rounds of
    shuffles; otherwise as on the local runner (side input, union-find)."""
    exact_cfg = exact_cfg or ExactDedupConfig()
    minhash_cfg = minhash_cfg or MinhashDedupConfig()
    keyed = with_keys(docs, minhash_cfg)
    options = PipelineOptions(direct_num_workers=2, direct_running_mode="multi_processing") if multi_processing else None
    out = tmp_path / ("mp" if multi_processing else "mem")
    pipeline = beam.Pipeline(runner=FnApiRunner(), options=options)
    rows = pipeline | "Keys" >> beam.Create(key_rows(keyed))
    rounds = minhash_cfg.rounds_for(len(docs)) if join else None
    verdicts = rows | FindDuplicates(exact_cfg, minhash_cfg, cc_rounds=rounds)
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


@pytest.mark.slow  # make test-slow (CI runs it too)
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


@pytest.mark.slow  # make test-slow (CI runs it too)
def test_verdicts_joined_by_id_keep_what_the_side_input_keeps(tmp_path):
    """The remote runners' way (join on the id, clusters by rounds of shuffles) and the
    local one (side input, union-find): same documents, cluster sizes, counts and band
    index; a record read twice (from two files) is kept once in both."""
    copy = corpus()[4]
    copy.file_path, copy.metadata = "b-copy.warc.gz", {"record_offset": 7}
    docs = near_duplicate_heavy_corpus(seed=3)[:50] + corpus() + [copy]
    side = run_dedup(tmp_path / "side", docs, index_dir=tmp_path / "side-index")
    joined = run_dedup(tmp_path / "join", docs, index_dir=tmp_path / "join-index", join=True)
    assert joined[0] == side[0] and joined[1] == side[1]
    funnel = ("exact_dedup:in", "exact_dedup:kept", "minhash_dedup:in", "minhash_dedup:kept",
              "exact_dedup:dropped:duplicate_record")
    assert [joined[2][k] for k in funnel] == [side[2][k] for k in funnel]
    assert side[2]["exact_dedup:dropped:duplicate_record"] == 1
    assert side[1][copy.id]["copy"] == ["", -1]  # the copy at the smallest (file, offset) stays
    assert "minhash_dedup:cc_unsettled" not in joined[2]  # every cluster a star after the rounds
    assert band_index_rows(tmp_path / "join-index") == band_index_rows(tmp_path / "side-index")
    assert len(band_index_rows(tmp_path / "side-index")) > 0


@pytest.mark.parametrize("rounds", [None, 6])
def test_copies_linked_only_through_the_original_are_one_cluster(tmp_path, rounds):
    """Edited copies "a" and "b" each share a bucket with the original "z", not with each
    other: one cluster, one kept document (a one-hop rule kept both), on both paths."""
    def row(doc_id, bands):
        return {"id": doc_id, "url": f"http://x/{doc_id}", "date": "", "file_path": "f", "record_offset": 0,
                "exact_hash": hash(doc_id), "minhash_bands": bands}

    rows = [row("z", [1, 2, 3]), row("a", [1, 20, 30]), row("b", [10, 2, 31]), row("c", [11, 21, 32])]
    pipeline = beam.Pipeline(runner=FnApiRunner())
    verdicts = pipeline | beam.Create(rows) | FindDuplicates(ExactDedupConfig(), MinhashDedupConfig(), cc_rounds=rounds)
    _ = verdicts | beam.Map(json.dumps) | beam.io.WriteToText(str(tmp_path / "verdicts"))
    pipeline.run().wait_until_finish()
    got = dict(json.loads(line) for f in tmp_path.glob("verdicts*") for line in f.read_text().splitlines())
    assert {doc: v["drop"] for doc, v in got.items()} == {"a": None, "b": "near_duplicate", "z": "near_duplicate"}
    assert {v["cluster_size"] for v in got.values()} == {3}


def test_clusters_by_rounds_of_shuffles_settle_a_long_chain(tmp_path):
    """A chain of 2,000 ids in no order (each linked to the next): after log2(n) + 2 rounds of
    large-star/small-star every id points at the smallest; the rounds are counted."""
    from ccforge.pipeline.dedup_steps import ConnectedComponents

    ids = [f"id{i:05d}" for i in range(2000)]
    chain = random.Random(2).sample(ids, len(ids))
    edges = [(max(a, b), min(a, b)) for a, b in zip(chain, chain[1:])]
    rounds = MinhashDedupConfig().rounds_for(len(ids))
    pipeline = beam.Pipeline(runner=FnApiRunner())
    stars = pipeline | beam.Create(edges) | ConnectedComponents(rounds)
    _ = stars | beam.Map(json.dumps) | beam.io.WriteToText(str(tmp_path / "stars"))
    result = pipeline.run()
    result.wait_until_finish()
    got = sorted(tuple(json.loads(line)) for f in tmp_path.glob("stars*") for line in f.read_text().splitlines())
    assert got == [(i, ids[0]) for i in ids[1:]]
    counters = counters_from_result(result)
    unsettled = [counters.get(f"minhash_dedup:cc_unsettled_round_{i:02d}", 0) for i in range(rounds)]
    assert unsettled[0] > 1000 and unsettled[-1] == 0 and "minhash_dedup:cc_unsettled" not in counters
    assert counters["minhash_dedup:cc_edges"] >= 2 * len(edges)


def test_disabled_stages_drop_nothing_but_copies_of_one_record(tmp_path):
    docs = corpus()
    copy = Document(**{**docs[0].__dict__, "file_path": "other.warc.gz", "metadata": {"record_offset": 1}})
    kept, verdicts, counters, _ = run_dedup(
        tmp_path, [*docs, copy], ExactDedupConfig(enabled=False), MinhashDedupConfig(enabled=False)
    )
    assert len(kept) == len(docs) and list(verdicts) == [docs[0].id]
    assert counters["exact_dedup:dropped:duplicate_record"] == 1
    assert counters["exact_dedup:in"] == len(docs) + 1 and counters["exact_dedup:kept"] == len(docs)
    assert not any(k.startswith("minhash_dedup:") for k in counters)


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
