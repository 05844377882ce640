"""Calibrate the quality filters' Chinese thresholds on clean reference text, FineWeb-2's way.

  python benchmarks/bench_language_calibration.py [--language zh]

For each rule whose statistic depends on the language (words, word lengths, n-grams,
lines, punctuation), the share p of clean English text (the bench's gold texts) that the
English bound drops is measured, and the language's bound is set where the same share p
of its clean reference text is dropped (the p-quantile of the statistic, or 1-p for an
upper bound). Rules over marks every language writes alike ('#', '...', bullets, lorem
ipsum, '{', C4's line rules) keep English bounds. Reference sets: `language_references.py`.

Prints, per rule: the English and Chinese distributions, p, the derived bound and the
`multilingual` config's bound; then the share of each set the config's whole filter chain
keeps, with the top drop reasons; every Chinese spam page of the Common Crawl sample with
the reason it is dropped; and a held-out check: the news pages split in two halves by
site, thresholds derived without one half, the chain run on that half. Ends with one JSON
summary line.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import language_references as refs  # noqa: E402

from ccforge.config import RunConfig, load_config  # noqa: E402
from ccforge.document import Document, Drop  # noqa: E402
from ccforge.filters.c4 import C4Filter, clean_c4  # noqa: E402
from ccforge.filters.fineweb_quality import FineWebQualityFilter, fineweb_measures  # noqa: E402
from ccforge.filters.gopher_quality import GopherQualityFilter, quality_measures  # noqa: E402
from ccforge.filters.gopher_repetition import GopherRepetitionFilter, repetition_measures  # noqa: E402
from ccforge.filters.stopwords import stop_words_for  # noqa: E402
from ccforge.filters.text_stats import text_stats  # noqa: E402

# (config section, key) of the calibrated rules; the others keep English bounds.
CALIBRATED = [
    ("gopher_repetition", "dup_line_frac"),
    ("gopher_repetition", "dup_line_char_frac"),
    *[("gopher_repetition", f"top_ngram_frac.{n}") for n in (2, 3, 4)],
    *[("gopher_repetition", f"dup_ngram_frac.{n}") for n in range(5, 11)],
    ("gopher_quality", "min_doc_words"),
    ("gopher_quality", "min_avg_word_length"),
    ("gopher_quality", "max_avg_word_length"),
    ("gopher_quality", "min_alpha_words_ratio"),
    ("gopher_quality", "min_stop_words"),
    ("fineweb_quality", "line_punct_thr"),
    ("fineweb_quality", "short_line_thr"),
    ("fineweb_quality", "char_duplicates_ratio"),
    ("fineweb_quality", "new_line_ratio"),
]
INTEGER_KEYS = {"min_doc_words", "min_stop_words"}
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class Chain:
    """The four quality filters of a config, run as a job runs them."""

    def __init__(self, config: RunConfig):
        self.config = config
        self.stages = [
            GopherRepetitionFilter(config.gopher_repetition),
            GopherQualityFilter(config.gopher_quality),
            C4Filter(config.c4),
            FineWebQualityFilter(config.fineweb_quality),
        ]

    def verdict(self, text: str, language: str) -> str:
        doc = Document(id="d", url="", text=text, language=language)
        for stage in self.stages:
            result = stage.process(doc)
            if isinstance(result, Drop):
                return f"{stage.name}:{result.reason}"
            doc = result
        return "kept"

    def bound(self, language: str, section: str, key: str) -> float:
        """The config's bound for `language` ('top_ngram_frac.2': that n's entry)."""
        stage = next(stage for stage in self.stages if stage.config_section == section)
        field, _, n = key.partition(".")
        value = getattr(stage.config_for(language), field)
        return value[n] if n else value

    def measures(self, text: str, language: str) -> dict[tuple[str, str], tuple[float, float, bool]]:
        """{(section, key): (value, bound, at_least)} for every rule that is on, each on the
        text as it reaches its filter (FineWeb's rules see C4's rewrite when C4 keeps the page)."""
        repetition, quality, c4, fineweb = (stage.config_for(language) for stage in self.stages)
        stats = text_stats(text, language)
        stop_words = frozenset(quality.stop_words) if quality.stop_words is not None else stop_words_for(language)
        found = {}
        for section, measures in (
            ("gopher_repetition", repetition_measures(text, repetition, stats)),
            ("gopher_quality", quality_measures(text, quality, stats, stop_words)),
        ):
            for m in measures:
                found[(section, m.key)] = (m.value, m.bound, m.at_least)
        cleaned = clean_c4(text, c4, language)
        cleaned = cleaned if isinstance(cleaned, str) and cleaned.strip() else text
        lines = [line for line in cleaned.split("\n") if line.strip()]
        for m in fineweb_measures(cleaned, lines, fineweb, language):
            found[("fineweb_quality", m.key)] = (m.value, m.bound, m.at_least)
        return found


def with_bounds(config: RunConfig, language: str, bounds: dict[tuple[str, str], float]) -> RunConfig:
    """`config` with `bounds` written into each section's `languages[language]`."""
    config = copy.deepcopy(config)
    for (section, key), bound in bounds.items():
        override = getattr(config, section).languages.setdefault(language, {})
        if "." in key:
            field, n = key.split(".")
            table = override.setdefault(field, dict(getattr(getattr(config, section), field)))
            table[n] = bound
        else:
            override[key] = bound
    return config


def calibrate(english: list[dict], reference: list[dict], rules: list) -> dict:
    """Per rule: the English failing share p and the reference's bound at the same share.

    The p-quantile of n reference texts is only known to within about one text: where p
    stands for less than half a text (p * n < 0.5) the quantile is the sample's extreme,
    and a bound there drops about 1/(n+1) of clean text, not p. There the bound is the
    more lenient of that quantile and the English bound scaled by the ratio of the two
    medians (FineWeb-2's other method), when the medians are not zero.
    """
    out = {}
    for rule in rules:
        en = [m[rule] for m in english if rule in m]
        zh = np.array([m[rule][0] for m in reference if rule in m])
        value, bound, at_least = en[0]
        en_values = np.array([v for v, _, _ in en])
        share = float(np.mean(en_values < bound if at_least else en_values > bound))
        derived = float(np.quantile(zh, share if at_least else 1 - share))
        method = "quantile"
        en_median, zh_median = float(np.median(en_values)), float(np.median(zh))
        if share * len(zh) < 0.5 and en_median > 0 and zh_median > 0:
            scaled = bound * zh_median / en_median
            if (scaled < derived) if at_least else (scaled > derived):
                derived, method = scaled, "median ratio"
        out[rule] = {"english_bound": bound, "english_fail_share": share, "bound": _lenient(rule[1], derived, at_least),
                     "method": method, "reference_texts": len(zh)}  # fmt: skip
    return out


def _lenient(key: str, value: float, at_least: bool) -> float:
    """Rounded toward keeping: down for a lower bound, up for an upper one."""
    if key in INTEGER_KEYS:
        return int(np.floor(value)) if at_least else int(np.ceil(value))
    scaled = value * 1000
    return float((np.floor(scaled) if at_least else np.ceil(scaled)) / 1000)


def kept_report(chain: Chain, records: list[dict], language: str | None = None) -> dict:
    verdicts = Counter(chain.verdict(r["text"], language or r["language"]) for r in records)
    kept = verdicts.pop("kept", 0)
    return {"pages": len(records), "kept": kept, "share_kept": round(kept / max(len(records), 1), 3),
            "top_drops": dict(verdicts.most_common(5))}  # fmt: skip


def site_of(record: dict) -> str:
    return record["name"].split("//")[1].split(".")[0]


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    language = "zh"  # ja: three clean texts at hand, too few to calibrate (its kept share is printed)
    summary: dict = {"bench": "language_calibration", "language": language}
    missing = [str(p) for p in refs.needed_files() if not p.exists()]
    if missing:
        print(f"needs the shared data: {', '.join(missing)} missing")
        print(json.dumps({**summary, "skipped": "shared data missing"}))
        return
    started = time.perf_counter()
    sets = refs.load_sets()
    print(f"reference sets ({time.perf_counter() - started:.0f} s, cache {refs.CACHE}): "
          + ", ".join(f"{name} {len(records)}" for name, records in sets.items()))  # fmt: skip
    config = load_config("multilingual")
    chain = Chain(config)
    english = [chain.measures(r["text"], "en") for r in sets["en_gold"]]
    english_pages = [chain.measures(r["text"], "en") for r in sets["en_pages"]]
    news = sets[f"{language}_news"]
    other = sets[f"{language}_other"]
    news_measures = [chain.measures(r["text"], language) for r in news]
    other_measures = [chain.measures(r["text"], language) for r in other]
    rules = [rule for rule in CALIBRATED if rule in english[0]]

    derived = calibrate(english, news_measures + other_measures, rules)
    pages_share = {rule: row["english_fail_share"] for rule, row in calibrate(english_pages, news_measures, rules).items()}
    print(f"\nrules: English gold ({len(english)} texts) against {language} reference "
          f"({len(news)} news pages + {len(other)} other texts); quantiles {QUANTILES}")
    print(f"{'rule':<40} {'English':<34} {language:<34} {'p_en':>6} {'derived':>8} {'config':>8} {'p_pages':>8} method")
    mismatched = []
    for rule in rules:
        en = np.quantile([m[rule][0] for m in english], QUANTILES)
        zh = np.quantile([m[rule][0] for m in news_measures + other_measures], QUANTILES)
        row = derived[rule]
        config_bound = chain.bound(language, *rule)
        if not np.isclose(config_bound, row["bound"]):
            mismatched.append(f"{rule[0]}.{rule[1]}: config {config_bound}, derived {row['bound']}")
        print(f"{rule[0][:7] + '.' + rule[1]:<40} {_q(en):<34} {_q(zh):<34} {row['english_fail_share']:>6.3f} "
              f"{row['bound']:>8g} {config_bound:>8g} {pages_share[rule]:>8.3f} {row['method']}")  # fmt: skip
    print("p_en: share of English gold the English bound drops; p_pages: the same on the English pages as extracted")
    print("config matches the derived bounds" if not mismatched else "config differs: " + "; ".join(mismatched))
    print(f"\nderived bounds as the config takes them (sections' `languages: {{{language}: ...}}`):")
    for section, values in _overrides(derived).items():
        print(f"  {section}: {json.dumps(values)}")
    summary["bounds"] = {f"{s}.{k}": v["bound"] for (s, k), v in derived.items()}
    summary["config_matches_derived"] = not mismatched

    alpha_rule = ("gopher_quality", "min_alpha_words_ratio")
    summary["alpha_forms_spam_caught"] = _alpha_forms(sets, language, derived[alpha_rule]["english_fail_share"])

    print("\nshare kept by the multilingual config's chain:")
    reports = {
        "en_pages": kept_report(chain, sets["en_pages"]),
        "en_gold": kept_report(chain, sets["en_gold"]),
        f"{language}_news": kept_report(chain, news),
        f"{language}_other": kept_report(chain, other),
    }
    reports["ja_other"] = kept_report(chain, sets["ja_other"])
    for name, report in reports.items():
        print(f"  {name:<10} {report['kept']:>5}/{report['pages']:<5} {report['share_kept']:.3f}  {report['top_drops']}")
    summary["kept"] = reports
    gap = reports["en_pages"]["share_kept"] - reports[f"{language}_news"]["share_kept"]
    print(f"  gap, English pages minus {language} news: {gap:+.3f} (target: within 0.10)")
    summary["gap_en_pages_minus_news"] = round(gap, 3)

    spam = sets["zh_spam"]
    print(f"\nChinese pages of the Common Crawl sample (spam; target: none kept), {len(spam)}:")
    summary["spam_drops"] = []
    for record in spam:
        verdict = chain.verdict(record["text"], "zh")
        summary["spam_drops"].append(verdict)
        print(f"  {verdict:<42} {record['name'][:60]}  {record['text'][:40]!r}")
    summary["spam_kept"] = summary["spam_drops"].count("kept")
    print(f"  spam pages kept: {summary['spam_kept']} of {len(spam)}")

    held_out = _held_out(config, english, news, news_measures, other_measures, rules, language)
    pooled = sum(r["kept"] for r in held_out) / max(sum(r["pages"] for r in held_out), 1)
    gap = reports["en_pages"]["share_kept"] - pooled
    print(f"  both halves: {pooled:.3f} kept; English pages minus held-out {language} news: {gap:+.3f}")
    summary["held_out"] = held_out
    summary["held_out_share_kept"] = round(pooled, 3)
    summary["gap_en_pages_minus_held_out"] = round(gap, 3)
    print(json.dumps(summary))


def _held_out(config, english, news, news_measures, other_measures, rules, language) -> list[dict]:
    """Bounds derived without one half of the news sites, the chain run on that half."""
    sites = sorted({site_of(r) for r in news})
    halves = [set(sites[0::2]), set(sites[1::2])]
    results = []
    print(f"\nheld out: {language} news split by site into halves of {len(halves[0])} and {len(halves[1])} sites")
    for i, held in enumerate(halves):
        fit = [m for r, m in zip(news, news_measures) if site_of(r) not in held] + other_measures
        test = [r for r in news if site_of(r) in held]
        bounds = {rule: row["bound"] for rule, row in calibrate(english, fit, rules).items()}
        report = kept_report(Chain(with_bounds(config, language, bounds)), test, language)
        results.append({"held_out_sites": sorted(held), "calibrated_on": len(fit), **report})
        print(f"  half {i + 1}: bounds from {len(fit)} texts, kept {report['kept']}/{report['pages']} "
              f"({report['share_kept']:.3f}) {report['top_drops']}")  # fmt: skip
    return results


def _alpha_forms(sets: dict, language: str, bound_share: float) -> dict:
    """Gopher's alpha-word ratio with punctuation marks counted as words (datatrove's form,
    the one the filter uses) and left out: how many spam pages fall under the bound that
    drops `bound_share` of the clean news pages (the share English loses to the rule)."""
    def ratios(records, counts_punctuation):
        values = []
        for r in records:
            summary = text_stats(r["text"], language).word_summary
            counted = summary.words if counts_punctuation else summary.non_symbol_words
            values.append(summary.alpha_words / max(counted, 1))
        return np.array(values)

    print(f"\nalpha-word ratio in {language}: spam under the bound that drops {bound_share:.1%} of clean news")
    caught = {}
    for counts_punctuation, label in ((True, "punctuation counted"), (False, "punctuation left out")):
        clean = ratios(sets[f"{language}_news"], counts_punctuation)
        spam = ratios(sets.get(f"{language}_spam", []), counts_punctuation)
        bound = float(np.quantile(clean, bound_share))
        caught[label] = int(np.sum(spam < bound))
        print(f"  {label:<22} clean median {np.median(clean):.3f}, bound {bound:.3f}: "
              f"{caught[label]} of {len(spam)} spam pages under it")  # fmt: skip
    return caught


def _overrides(derived: dict) -> dict[str, dict]:
    """{section: {key: bound}}, n-gram bounds gathered into their tables."""
    out: dict[str, dict] = {}
    for (section, key), row in derived.items():
        if "." in key:
            field, n = key.split(".")
            out.setdefault(section, {}).setdefault(field, {})[n] = row["bound"]
        else:
            out.setdefault(section, {})[key] = row["bound"]
    return out


def _q(values) -> str:
    return " ".join(f"{v:.3g}" for v in values)


if __name__ == "__main__":
    main()
