"""Per-language thresholds, the funnel by language, and the shared text analysis."""

import json

import pytest

from ccforge.config import ConfigError, load_config
from ccforge.document import Document
from ccforge.filters.c4 import C4Config, C4Filter
from ccforge.filters.fineweb_quality import FineWebQualityConfig, FineWebQualityFilter
from ccforge.filters.gopher_quality import GopherQualityConfig, GopherQualityFilter
from ccforge.filters.gopher_repetition import GopherRepetitionFilter

ZH_PAGE = (
    "这条河流塑造了山谷几千年。农民来到河岸，因为每年春天的洪水都会让土地变得肥沃。\n"
    "城镇也在水流平缓的地方发展起来，人们在河上修建了许多桥梁。\n"
    "如今，古老的磨坊成了博物馆，桥梁上跑的是汽车而不是马车。\n"
    "但是这条河仍然决定着道路的走向，也决定着田野在地图上的样子。\n"
    "我们可以说，这个地区的历史就是一条河的历史，人们的生活和工作都离不开它。"
)


def chain(config_name: str):
    config = load_config(config_name)
    return [
        GopherRepetitionFilter(config.gopher_repetition),
        GopherQualityFilter(config.gopher_quality),
        C4Filter(config.c4),
        FineWebQualityFilter(config.fineweb_quality),
    ]


def run(stages, doc):
    for stage in stages:
        result = stage.process(doc)
        if not isinstance(result, Document):
            return result.reason
        doc = result
    return doc


def test_chinese_page_passes_the_multilingual_chain_by_chinese_rules():
    stages = chain("multilingual")
    doc = Document(id="zh", url="https://example.cn/a", text=ZH_PAGE, language="zh")
    assert isinstance(run(stages, doc), Document)
    assert stages[1].take_counts() == {"zh:kept": 1}
    # English rules would drop it: its words average under 3 characters
    assert run(chain("fineweb-en"), Document(id="zh", url="", text=ZH_PAGE, language="zh")) == "gopher_below_avg_threshold"


def test_overrides_apply_to_the_language_and_its_variants():
    stage = GopherQualityFilter(GopherQualityConfig(languages={"zh": {"min_doc_words": 5}}))
    assert stage.config_for("zh").min_doc_words == 5
    assert stage.config_for("zh-Hant").min_doc_words == 5
    assert stage.config_for("en").min_doc_words == 50


def test_a_language_can_turn_a_filter_off():
    stage = GopherQualityFilter(GopherQualityConfig(languages={"ja": {"enabled": False}}))
    assert isinstance(stage.process(Document(id="j", url="", text="短い", language="ja")), Document)
    assert stage.process(Document(id="e", url="", text="short", language="en")).reason == "gopher_short_doc"
    assert stage.take_counts() == {"ja:kept": 1, "en:gopher_short_doc": 1}


@pytest.mark.parametrize(
    "setting, message",
    [
        ("gopher_quality.languages.zh.min_avg_wordlength=3", "unknown config key 'gopher_quality.languages.zh.min_avg_wordlength'"),
        ("c4.languages.zh.min_num_sentences=many", "config key 'c4.languages.zh.min_num_sentences' expects an integer"),
    ],
)
def test_bad_overrides_are_one_line_errors(setting, message):
    config = load_config("multilingual", overrides=[setting])
    with pytest.raises(ConfigError, match=message) as error:
        GopherQualityFilter(config.gopher_quality) if setting.startswith("gopher") else C4Filter(config.c4)
    assert "\n" not in str(error.value)


def test_bad_overrides_in_yaml_fail_at_load(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("fineweb_quality:\n  languages:\n    zh: {short_line_lenght: 15}\n")
    with pytest.raises(ConfigError, match="fineweb_quality.languages.zh.short_line_lenght"):
        load_config(str(path))
    with pytest.raises(ConfigError, match="cannot nest"):
        FineWebQualityConfig(languages={"zh": {"languages": {}}})


def test_documents_without_language_are_judged_as_english_and_counted_und():
    stage = GopherQualityFilter(GopherQualityConfig())
    assert stage.process(Document(id="x", url="", text="too short")).reason == "gopher_short_doc"
    assert stage.take_counts() == {"und:gopher_short_doc": 1}


def test_fineweb_sees_the_text_c4_rewrote():
    # Before C4 the javascript lines make it list-like; after C4 they are gone.
    sentences = [f"This is sentence number {n} of the page, and it is long enough." for n in range(5)]
    text = "\n".join(sentences + ["javascript"] * 30)
    doc = Document(id="d", url="", text=text, language="en")
    fineweb = FineWebQualityFilter(FineWebQualityConfig())
    assert fineweb.process(Document(id="o", url="", text=text, language="en")).reason == "short_line_ratio"
    cleaned = C4Filter(C4Config(min_words_per_line=-1)).process(doc)
    assert cleaned.text == "\n".join(sentences)
    assert isinstance(fineweb.process(cleaned), Document)


def test_metadata_stays_plain_json():
    doc = Document(id="zh", url="", text=ZH_PAGE, language="zh", metadata={"source": "test"})
    result = run(chain("multilingual"), doc)
    assert json.loads(json.dumps(result.metadata)) == {"source": "test"}


def test_traditional_chinese_is_measured_as_simplified():
    import opencc

    from ccforge.filters.gopher_quality import quality_measures
    from ccforge.filters.gopher_repetition import repetition_measures
    from ccforge.filters.stopwords import stop_words_for
    from ccforge.filters.text_stats import text_stats

    traditional = opencc.OpenCC("s2t").convert(ZH_PAGE)
    assert traditional != ZH_PAGE and "這" in traditional and "们" not in traditional
    simplified_stats, traditional_stats = text_stats(ZH_PAGE, "zh"), text_stats(traditional, "zh")
    assert traditional_stats.words == simplified_stats.words  # jieba sees simplified characters
    config = load_config("multilingual")
    quality = GopherQualityFilter(config.gopher_quality).config_for("zh")
    repetition = GopherRepetitionFilter(config.gopher_repetition).config_for("zh")

    def measured(text, stats):
        values = [(m.key, m.value) for m in quality_measures(text, quality, stats, stop_words_for("zh"))]
        return values + [(m.key, m.value) for m in repetition_measures(text, repetition, stats)]

    assert measured(traditional, traditional_stats) == measured(ZH_PAGE, simplified_stats)
    assert run(chain("multilingual"), Document(id="t", url="", text=traditional, language="zh-Hant")).text == traditional
