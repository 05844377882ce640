"""Reference texts for calibrating the quality filters per language (used by
bench_language_calibration.py): clean text in English, Chinese and Japanese, and the
Chinese spam of a real Common Crawl sample.

Every web page goes through ccforge's own reader, extractor (trafilatura, the default
settings, no time limit) and language ID, so the filters see here what they see in a run.
The extraction is cached in /tmp/ccforge-calibrate/ (the bench WARC takes minutes).

Sets (a text belongs to a set only when lid.176 gives it that language at >= 0.65, the
`multilingual` config's keep threshold):
  en_gold   the bench's hand-made gold texts, laid out as an extractor lays out text
            (`gold_layout`): the English reference
  en_pages  the bench WARC's pages as extracted: the English share kept in a run
  zh_news   ../shared/data/zh/zh-news.warc.gz: 30 Chinese news and article pages
  zh_other  other clean Chinese: the UDHR in simplified and traditional characters,
            and the gold texts of the bench's Chinese pages (Mozilla Readability's test
            pages: gmw.cn, qq.com, youth.cn, and pixnet.net in traditional characters)
  ja_other  clean Japanese: the UDHR and the bench's Japanese gold texts
  zh_spam   the Chinese pages of ../shared/data/warc/resiliparse/warcfile.warc.gz
            (CC-MAIN-2020-34): lottery lists, gambling ads, adult fiction, boilerplate
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BENCH_WARC = SHARED / "bench" / "bench-pages.warc.gz"
BENCH_GOLD = SHARED / "bench" / "bench-gold.jsonl.gz"
ZH_NEWS_WARC = SHARED / "zh" / "zh-news.warc.gz"
CC_SAMPLE_WARC = SHARED / "warc" / "resiliparse" / "warcfile.warc.gz"
UDHR_ZIP = SHARED / "langid" / "udhr2.zip"
UDHR_FILES = {"udhr2/cmn_hans.txt": "zh", "udhr2/cmn_hant.txt": "zh", "udhr2/jpn.txt": "ja"}
CACHE = Path(tempfile.gettempdir()) / "ccforge-calibrate"
MIN_LANGUAGE_SCORE = 0.65
_CACHE_VERSION = 1

_CLEANEVAL_MARK = re.compile(r"<[phl]>|\n[ \t]*\n")


def needed_files() -> list[Path]:
    return [BENCH_WARC, BENCH_GOLD, ZH_NEWS_WARC, CC_SAMPLE_WARC, UDHR_ZIP]


def gold_layout(text: str, dataset: str) -> str:
    """A gold text laid out one paragraph a line, as trafilatura writes its output.

    CleanEval's gold has a 'URL:' line, `<p>`/`<h>`/`<l>` marks before each block and
    hard-wraps blocks at about 75 characters; the other gold texts keep the HTML's
    indentation and blank lines. Left so, the line rules would measure the layout.
    """
    text = text.strip()
    if dataset.startswith("cleaneval"):
        text = re.sub(r"\AURL:[^\n]*\n", "", text)
        blocks = _CLEANEVAL_MARK.split(text)
        return "\n".join(" ".join(block.split()) for block in blocks if block.strip())
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def load_sets() -> dict[str, list[dict]]:
    """{set name: [{'name', 'text', 'language', 'score'}]} (see the module docstring)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"references-v{_CACHE_VERSION}.json.gz"
    if path.exists():
        return json.load(gzip.open(path, "rt", encoding="utf-8"))
    identify = _language_id()
    gold = [json.loads(line) for line in gzip.open(BENCH_GOLD, "rt", encoding="utf-8")]
    gold_texts = [
        {"name": record["url"], "text": gold_layout(record["gold"] or "", record["dataset"]), "source": "gold"}
        for record in gold
    ]
    udhr = []
    with zipfile.ZipFile(UDHR_ZIP) as archive:
        for member in UDHR_FILES:
            text = archive.read(member).decode("utf-8")
            udhr.append({"name": f"udhr:{member}", "text": gold_layout(text, "udhr"), "source": "udhr"})
    with ProcessPoolExecutor(max_workers=2) as pool:
        bench_pages, zh_news, cc_sample = pool.map(_extract_warc, [BENCH_WARC, ZH_NEWS_WARC, CC_SAMPLE_WARC])
    for record in gold_texts + udhr + bench_pages + zh_news + cc_sample:
        record["language"], record["score"] = identify(record["text"])

    def of(records: list[dict], language: str) -> list[dict]:
        return [r for r in records if r["language"] == language and r["score"] >= MIN_LANGUAGE_SCORE]

    sets = {
        "en_gold": of(gold_texts, "en"),
        "en_pages": of(bench_pages, "en"),
        "zh_news": of(zh_news, "zh"),
        "zh_other": of(udhr, "zh") + of(gold_texts, "zh"),
        "ja_other": of(udhr, "ja") + of(gold_texts, "ja"),
        "zh_spam": of(cc_sample, "zh"),
    }
    with gzip.open(path.with_suffix(".part"), "wt", encoding="utf-8") as out:
        json.dump(sets, out, ensure_ascii=False)
    path.with_suffix(".part").replace(path)
    return sets


def _language_id():
    from ccforge.filters.language import LanguageConfig, LanguageFilter

    stage = LanguageFilter(LanguageConfig(keep_all=True))
    stage.setup()
    return stage.identify


def _extract_warc(path: Path) -> list[dict]:
    """Each page of a WARC through ccforge's reader and extractor; pages with no text are left out."""
    from ccforge.document import Document
    from ccforge.extract.extractor import ExtractConfig, Extractor
    from ccforge.read.reader import ReadConfig, WarcSplit, read_split

    extractor = Extractor(ExtractConfig(timeout_s=0))
    extractor.setup()
    pages = []
    for item in read_split(WarcSplit(str(path), 0, None), ReadConfig()):
        if not isinstance(item, Document):
            continue
        url = item.url
        result = extractor.process(item)
        if isinstance(result, Document):
            pages.append({"name": url, "text": result.text, "source": path.name})
    return pages
