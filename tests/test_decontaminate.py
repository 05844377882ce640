"""Benchmark decontamination: which documents share an n-gram with a benchmark item, the
stage's drop and flag actions, its config, and the flagged column in the documents Parquet."""

from __future__ import annotations

import json

import pytest

from ccforge.config import ConfigError, load_config
from ccforge.document import Document, Drop
from ccforge.filters.decontaminate import BenchmarkSpec, DecontaminateConfig, DecontaminationFilter
from ccforge.filters.ngram_index import character_ngrams, prepare, word_ngrams
from ccforge.pipeline.parquet_io import chunk_row, document_from_chunk_row, document_row
from ccforge.stages import phase_a_stages

QUESTION = ("Which of the following statements best describes the primary function of the "
            "mitochondria in eukaryotic cells according to the textbook?")
CHOICES = ["They synthesise proteins from messenger RNA", "They produce most of the cell's ATP"]
# Traditional characters; documents below quote it in simplified ones.
CHINESE = ("話說天下大勢，分久必合，合久必分。周末七國分爭，并入於秦。及秦滅之後，楚、漢分爭，"
           "又并入於漢。漢朝自高祖斬白蛇而起義，一統天下，後來光武中興，傳至獻帝，遂分為三國。")
FILLER = "Our bakery opens at seven and the sourdough sells out by noon most days of the week."


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def bench(tmp_path):
    return write_jsonl(tmp_path / "bench.jsonl", [
        {"question": QUESTION, "choices": CHOICES, "answer": 1},
        {"question": CHINESE, "choices": ["三國", "水滸"], "answer": 0},
    ])


def make_stage(*specs: BenchmarkSpec, action: str = "drop") -> DecontaminationFilter:
    stage = DecontaminationFilter(DecontaminateConfig(benchmarks=list(specs), action=action))
    stage.setup()
    return stage


def judge(stage, text: str):
    return stage.process(Document(id="d", url="https://example.com/", text=text))


@pytest.fixture
def stage(bench):
    return make_stage(BenchmarkSpec(name="quiz", path=str(bench), columns=["question", "choices"]))


def test_item_quoted_verbatim_is_dropped_naming_the_benchmark(stage):
    result = judge(stage, f"{FILLER}\n{QUESTION}\n{FILLER}")
    assert result == Drop("contaminated:quiz")
    assert stage.take_counts() == {"matched:quiz": 1}


def test_changed_case_and_punctuation_still_match(stage):
    mangled = QUESTION.upper().replace(" the ", " -- the ").replace("?", "!!!").replace("eukaryotic", "eukaryotic,")
    assert judge(stage, f"{FILLER} {mangled}") == Drop("contaminated:quiz")


def test_item_split_across_lines_still_matches(stage):
    words = QUESTION.split()
    split = "\n".join(" ".join(words[i:i + 4]) for i in range(0, len(words), 4))
    assert judge(stage, f"{FILLER}\n{split}\n") == Drop("contaminated:quiz")


def test_question_running_into_its_answer_matches_across_fields(stage):
    # neither field alone: the last 7 words of the question, then the first 6 of a choice
    text = " ".join(QUESTION.split()[-7:] + CHOICES[0].split()[:6])
    assert len(prepare(text).split()) == 13
    assert judge(stage, f"{FILLER} {text}") == Drop("contaminated:quiz")


def test_twelve_shared_words_are_kept_thirteen_dropped(stage):
    words = QUESTION.split()
    twelve, thirteen = " ".join(words[3:15]), " ".join(words[3:16])
    kept = judge(stage, f"{FILLER} {twelve} {FILLER}")
    assert isinstance(kept, Document) and "contamination" not in kept.metadata
    assert judge(stage, f"{FILLER} {thirteen} {FILLER}") == Drop("contaminated:quiz")


def test_chinese_item_is_found_by_characters_across_scripts(stage):
    simplified = "话说天下大势分久必合合久必分周末七国分争并入于秦及秦灭之后楚汉分争又并入于汉汉朝自高祖斩白蛇而起义一统天下"
    assert len(simplified) >= 50
    assert judge(stage, f"今天的新闻。{simplified}。谢谢阅读。") == Drop("contaminated:quiz")
    # an English page quoting it is cut into characters too
    assert judge(stage, f"{FILLER} The novel opens: {simplified} {FILLER}") == Drop("contaminated:quiz")
    kept = judge(stage, f"今天的新闻。{simplified[:49]}。谢谢阅读。")
    assert isinstance(kept, Document)


def test_ngrams_of_normalised_text_hash_alike_wherever_they_stand():
    a = word_ngrams(prepare("One two three four. Five!"), 3)
    b = word_ngrams(prepare("zero ONE two\nthree four five"), 3)
    assert [a.text(i) for i in range(len(a))] == ["one two three", "two three four", "three four five"]
    assert list(a.hashes) == list(b.hashes[1:])
    assert len(set(b.hashes.tolist())) == len(b)
    c = character_ngrams(prepare("天下大勢，分久"), 3)
    assert c.text(0) == "天下大" and len(c) == 4
    assert len(word_ngrams(prepare("too short"), 3)) == 0


def test_flag_keeps_the_document_and_lists_every_benchmark(bench, tmp_path):
    other = write_jsonl(tmp_path / "other.jsonl", [{"text": QUESTION}])
    specs = [BenchmarkSpec(name="quiz", path=str(bench)), BenchmarkSpec(name="again", path=str(other))]
    flagging = make_stage(*specs, action="flag")
    flagged = judge(flagging, f"{FILLER} {QUESTION}")
    assert isinstance(flagged, Document) and flagged.metadata["contamination"] == ["quiz", "again"]
    clean = judge(flagging, FILLER)
    assert "contamination" not in clean.metadata
    assert flagging.take_counts() == {"matched:quiz": 1, "matched:again": 1}
    # dropping names the first benchmark of the config that matched
    assert judge(make_stage(*specs[::-1]), QUESTION) == Drop("contaminated:again")


def test_flagged_benchmarks_reach_the_documents_column_through_phase_b_rows():
    doc = Document(id="d", url="u", text="t", metadata={"contamination": ["quiz"], "exact_hash": 3})
    assert document_row(document_from_chunk_row(chunk_row(doc)))["contamination"] == ["quiz"]
    assert document_row(Document(id="e", url="u", text="t"))["contamination"] is None


def test_stage_runs_only_when_benchmarks_are_named(bench):
    config = load_config("fineweb-en")
    assert not config.stage_enabled("decontaminate")
    assert "decontaminate" not in [stage.name for stage in phase_a_stages(config)]
    config = load_config("fineweb-en", [f"decontaminate.benchmarks=[{{name: quiz, path: {bench}, columns: [question]}}]",
                                        "decontaminate.action=flag"])
    assert config.decontaminate.benchmarks[0] == BenchmarkSpec("quiz", str(bench), ["question"], [])
    names = [stage.name for stage in phase_a_stages(config)]
    assert names[names.index("fineweb_quality") + 1] == "decontaminate"
    config = load_config("fineweb-en", [f"decontaminate.benchmarks=[{{name: quiz, path: {bench}}}]"], ["decontaminate"])
    assert not config.stage_enabled("decontaminate")


def test_remote_runs_are_warned_about_local_benchmark_files(bench):
    from ccforge.jobs.run import local_config_files

    config = load_config("fineweb-en", ["url_filter.use_fetched=false", "decontaminate.benchmarks=["
                                        f"{{name: a, path: {bench}}}, {{name: b, path: 'gs://b/x.jsonl'}}]"])
    assert local_config_files(config) == [("decontaminate.benchmarks", str(bench))]


@pytest.mark.parametrize("overrides, message", [
    (["decontaminate.action=erase"], "decontaminate.action must be drop or flag"),
    (["decontaminate.n_grams=0"], "decontaminate.n_grams must be at least 1"),
    (["decontaminate.benchmarks=[{name: a, path: /no/such.jsonl}]"], "no such file or directory /no/such.jsonl"),
    (["decontaminate.benchmarks=[{name: 'a:b', path: x.jsonl}]"], "must be unique and hold no ':'"),
])
def test_bad_settings_are_one_line_errors(overrides, message, bench):
    overrides = [*overrides, f"decontaminate.benchmarks=[{{name: quiz, path: {bench}}}]"] \
        if "benchmarks" not in overrides[0] else overrides
    config = load_config("fineweb-en", overrides)
    with pytest.raises(ValueError, match=message):
        phase_a_stages(config)


def test_unknown_benchmark_key_is_a_config_error():
    with pytest.raises(ConfigError, match="decontaminate.benchmarks"):
        load_config("fineweb-en", ["decontaminate.benchmarks=[{name: a, file: b}]"])


def test_benchmark_without_text_in_its_columns_is_an_error(tmp_path):
    path = write_jsonl(tmp_path / "numbers.jsonl", [{"label": 1}, {"label": 2}])
    stage = DecontaminationFilter(DecontaminateConfig(benchmarks=[BenchmarkSpec(name="n", path=str(path))]))
    with pytest.raises(ValueError, match="has no text"):
        stage.setup()


# A paragraph of one page of the bundled sample WARC (data/sample/sample-0000.warc.gz).
SAMPLE_PARAGRAPH = ("And we’re here because big public conversations are important. Mastodon isn’t perfect at "
                    "this (a lot of its design is explicitly anti-virality, and its unfriendliness to the "
                    "not-tech-savvy results in a smaller audience), but it still works ok at spreading important "
                    "messages beyond your own social circle.")


def test_a_run_flags_documents_in_its_documents_parquet(tmp_path):
    import pandas as pd

    from ccforge.jobs.run import run_job
    from conftest import SAMPLE_DIR

    bench = write_jsonl(tmp_path / "blog.jsonl", [{"text": SAMPLE_PARAGRAPH.upper()}])
    config = load_config("fineweb-en", ["extract.timeout_s=30", "decontaminate.action=flag",
                                        f"decontaminate.benchmarks=[{{name: blog, path: {bench}}}]"])
    # the default engine: a WARC this small runs inside this process (the worker path:
    # test_portable_stages.py and test_reliability_job.py)
    stats = run_job([str(SAMPLE_DIR / "sample-0000.warc.gz")], str(tmp_path / "run"), config, [])
    row = next(row for row in stats["stages"] if row["name"] == "decontaminate")
    assert row["in"] == row["kept"] > 1 and row["counts"] == {"matched:blog": 1}
    documents = pd.read_parquet(tmp_path / "run" / "documents")
    flagged = documents[documents["contamination"].notna()]
    assert flagged["url"].tolist() == ["https://maria-antoniak.github.io/2023/07/04/notes-on-mastodon.html"]
    assert flagged["contamination"].iloc[0].tolist() == ["blog"]
