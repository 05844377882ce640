"""Duplicate groups of real articles through the real job: do they end as one document?

  python benchmarks/bench_dedup_groups.py [--sites N] [--groups-per-site N] [--distinct-per-site N]
                                          [--set KEY=VALUE ...]

Articles are pages of ../shared/data/bench (real HTML with hand-made gold text) whose site
(the host of their canonical or og:url link) has at least three articles of 150 gold
words or more; two articles whose gold texts are near duplicates themselves (word 5-gram
Jaccard >= 0.3) are never both taken. Per site, `--groups-per-site` articles become
groups of five pages, each at its own URL:

  the original page, an exact copy (same bytes), and copies with 1%, 2% and 5% of the
  words of the page's text nodes replaced by words of other articles (lxml: the edited
  tree is written back with non-ASCII characters as character references),

and `--distinct-per-site` other articles of the same site come once: distinct articles
on the same site, sharing its template and topics. Everything is written to one WARC and
run through `ccforge run` with the defaults (trafilatura, extract.deduplicate false)
and every stage that could drop a page other than dedup skipped (url_filter, language,
gopher_repetition, gopher_quality, c4, fineweb_quality; pii and tokenize skipped for
time). Counted from the output documents (their URLs and `minhash_cluster_size`; a
group's pages that reached dedup are read from the run's phase-A chunks):

- 0-2%: the original, its exact copy and its 1% and 2% copies ended as exactly one
  document (the one kept stands for all of them; the 5% copy may be in it or apart);
- 5%: all five pages ended as one document;
- wrongly merged: articles (group or distinct) a document of another article stands
  for, or that absorbed pages of another article (the cluster sizes do not add up).

Diagnosis from the same run's keys: the edit rates as seen after extraction (word 5-gram
Jaccard of each copy's extracted text with its original's), the share of copies sharing a
band bucket with their original beside what the LSH curve 1-(1-s^r)^b promises at their
Jaccard, and for every group whose 0-2% pages did not end as one document the pairs of
its pages, their Jaccard and whether they share a band bucket. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "data" / "bench"
BENCH_WARC = BENCH / "bench-pages.warc.gz"
BENCH_GOLD = BENCH / "bench-gold.jsonl.gz"
RATES = (0.01, 0.02, 0.05)
VARIANTS = ("original", "exact", *(f"edit{round(r * 100)}" for r in RATES))
SKIP = "url_filter,language,gopher_repetition,gopher_quality,c4,fineweb_quality,pii,tokenize"
MIN_GOLD_WORDS = 150
NEAR_GOLD_JACCARD = 0.3
_SITE_LINK = (
    re.compile(rb"""<link[^>]+rel=["']canonical["'][^>]*href=["']https?://([^/"':]+)""", re.IGNORECASE),
    re.compile(rb"""<meta[^>]+og:url["'][^>]*content=["']https?://([^/"':]+)""", re.IGNORECASE),
)
_WORD = re.compile(r"[^\W\d_]{2,}")
_NO_TEXT = {"script", "style", "noscript", "template"}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def site_of(html: bytes) -> str | None:
    for pattern in _SITE_LINK:
        found = pattern.search(html)
        if found:
            return found.group(1).decode("ascii", "replace").lower()
    return None


def shingle_set(text: str, n: int = 5) -> set[str]:
    from ccforge.dedup.normalize import normalize_text

    words = normalize_text(text).split()
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def select_articles(sites_wanted: int, groups_per_site: int, distinct_per_site: int, seed: int = 0):
    """({url: html}, [(site, url)] of group articles, [(site, url)] of distinct ones)."""
    from warcio.archiveiterator import ArchiveIterator

    gold = {r["url"]: r["gold"] for r in map(json.loads, gzip.open(BENCH_GOLD, "rt", encoding="utf-8"))}
    pages, by_site = {}, defaultdict(list)
    with open(BENCH_WARC, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            html = record.content_stream().read()
            site = site_of(html)
            if site and len(gold.get(url, "").split()) >= MIN_GOLD_WORDS:
                pages[url] = html
                by_site[site].append(url)
    rng = random.Random(seed)
    needed = groups_per_site + distinct_per_site
    sites = sorted(site for site, urls in by_site.items() if len(urls) >= 3)
    rng.shuffle(sites)
    taken: list[tuple[str, set]] = []
    groups, distinct = [], []
    for site in sites:
        if len(groups) >= sites_wanted * groups_per_site:
            break
        urls = sorted(by_site[site])
        rng.shuffle(urls)
        chosen = []
        for url in urls:
            shingles = shingle_set(gold[url])
            if all(jaccard(shingles, other) < NEAR_GOLD_JACCARD for _, other in taken):
                chosen.append(url)
                taken.append((url, shingles))
            if len(chosen) == needed:
                break
        groups += [(site, url) for url in chosen[:groups_per_site]]
        distinct += [(site, url) for url in chosen[groups_per_site:]]
    vocab = sorted({w for url, _ in taken for w in _WORD.findall(gold[url])})
    return pages, groups, distinct, vocab


def edit_html(html: bytes, share: float, rng: random.Random, vocab: list[str]) -> bytes:
    """The page with `share` of the words of its text nodes replaced (outside scripts and
    styles), written back as ASCII with character references."""
    import lxml.etree
    import lxml.html

    from ccforge.read.charset import decode_html

    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", decode_html(html))
    root = lxml.html.document_fromstring(text)
    slots = []  # (element, "text" | "tail", match)
    for element in root.iter():
        inside = element.tag if isinstance(element.tag, str) else ""
        if inside.lower() not in _NO_TEXT and isinstance(element.tag, str):
            slots += [(element, "text", m) for m in _WORD.finditer(element.text or "")]
        parent = element.getparent()
        outside = parent.tag.lower() if parent is not None and isinstance(parent.tag, str) else ""
        if outside not in _NO_TEXT:
            slots += [(element, "tail", m) for m in _WORD.finditer(element.tail or "")]
    chosen = rng.sample(range(len(slots)), max(1, round(share * len(slots)))) if slots else []
    edits = defaultdict(list)
    for index in chosen:
        element, attr, match = slots[index]
        edits[(element, attr)].append((match.start(), match.end(), rng.choice(vocab)))
    for (element, attr), spans in edits.items():
        value = getattr(element, attr)
        for start, end, word in sorted(spans, reverse=True):
            value = value[:start] + word + value[end:]
        setattr(element, attr, value)
    return lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>").encode("ascii", "xmlcharrefreplace")


def variant_url(url: str, variant: str) -> str:
    return url if variant == "original" else url.replace(".bench.example/", f".bench.example/{variant}/")


def build_warc(path: Path, pages: dict, groups: list, distinct: list, vocab: list[str]) -> dict[str, tuple]:
    """Writes the WARC; returns {url: (article url, variant)}."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rng = random.Random(1)
    made: dict[str, tuple] = {}
    with open(path, "wb") as stream:
        writer = WARCWriter(stream, gzip=True)

        def add(url: str, payload: bytes, article: str, variant: str) -> None:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            warc_headers = {"WARC-Date": "2024-03-01T00:00:00Z"}
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(payload),
                                                          http_headers=headers, warc_headers_dict=warc_headers))
            made[url] = (article, variant)

        for _, url in groups:
            html = pages[url]
            add(url, html, url, "original")
            add(variant_url(url, "exact"), html, url, "exact")
            for rate, variant in zip(RATES, VARIANTS[2:]):
                add(variant_url(url, variant), edit_html(html, rate, rng, vocab), url, variant)
        for _, url in distinct:
            add(url, pages[url], url, "original")
    return made


def run_ccforge(warc: Path, out: Path, settings: list[str]) -> tuple[float, dict]:
    command = [sys.executable, "-c", "import sys; from ccforge.cli import main; sys.exit(main(sys.argv[1:]))",
               "run", "--input", str(warc), "--output", str(out), "--skip", SKIP]
    for setting in settings:
        command += ["--set", setting]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"ccforge run failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}")
    return wall, json.loads((out / "stats.json").read_text())


def read_parquet_rows(pattern_dir: Path, columns: list[str]) -> list[dict]:
    import pyarrow.parquet as pq

    rows = []
    for path in sorted(pattern_dir.rglob("*.parquet")):
        rows += pq.read_table(path, columns=columns).to_pylist()
    return rows


def judge_groups(made: dict, groups: list, distinct: list, reached: dict, kept: dict) -> dict:
    """Per article, from the output: survivors, their cluster sizes, and the verdicts."""
    pages_of = defaultdict(list)
    for url, (article, variant) in made.items():
        pages_of[article].append((variant, url))
    outcome = {}
    for _, article in groups + distinct:
        present = [(v, u) for v, u in pages_of[article] if u in reached]
        survivors = [(v, u, kept[u]) for v, u in present if u in kept]
        outcome[article] = {"present": present, "survivors": survivors,
                            "size_sum": sum(size for _, _, size in survivors)}
    return outcome


def summarize(outcome: dict, groups: list, distinct: list) -> dict:
    complete = [a for _, a in groups if len(outcome[a]["present"]) == len(VARIANTS)]
    one_low = one_all = 0
    failures = []
    for article in complete:
        o = outcome[article]
        variants = {v: size for v, _, size in o["survivors"]}
        all_one = len(variants) == 1 and o["size_sum"] == len(VARIANTS)
        low_one = all_one or (len(variants) == 2 and variants.get("edit5") == 1 and o["size_sum"] == len(VARIANTS))
        one_all += all_one
        one_low += low_one
        if not all_one:
            failures.append((article, low_one))
    wrong = [a for _, a in groups + distinct if outcome[a]["present"]
             and outcome[a]["size_sum"] != len(outcome[a]["present"])]
    return {
        "groups": len(groups), "groups_complete": len(complete), "distinct": len(distinct),
        "one_doc_0_2": one_low, "one_doc_all5": one_all,
        "share_one_doc_0_2": round(one_low / len(complete), 4) if complete else None,
        "share_one_doc_all5": round(one_all / len(complete), 4) if complete else None,
        "wrongly_merged_articles": len(wrong), "complete": complete, "failures": failures, "wrong": wrong,
    }


def diagnose(rows: list[dict], made: dict, complete: list, failures: list, wrong: list, lsh) -> dict:
    """Edit rates after extraction, and the pairs behind every group that did not collapse."""
    by_url = {r["url"]: r for r in rows}
    shingles = {url: shingle_set(r["text"]) for url, r in by_url.items()}
    seen_rate = defaultdict(list)
    for url, (article, variant) in made.items():
        if variant.startswith("edit") and url in shingles and article in shingles:
            seen_rate[variant].append(jaccard(shingles[url], shingles[article]))
    medians = {v: round(sorted(j)[len(j) // 2], 3) for v, j in sorted(seen_rate.items()) if j}
    lows = {v: round(min(j), 3) for v, j in sorted(seen_rate.items()) if j}
    print(f"\nJaccard (word 5-grams of the extracted text) of each edited copy with its original: median {medians}, "
          f"lowest {lows}")
    # Per edit rate: copies sharing a band bucket with their original, against what the
    # LSH curve promises at each pair's measured Jaccard.
    detection = {}
    for variant in VARIANTS[2:]:
        pairs = [(variant_url(a, variant), a) for a in complete if variant_url(a, variant) in by_url and a in by_url]
        if not pairs:
            continue
        shared = sum(any(x == y for x, y in zip(by_url[c]["minhash_bands"], by_url[o]["minhash_bands"]))
                     for c, o in pairs)
        promised = sum(curve(jaccard(shingles[c], shingles[o]), lsh.rows_per_band, lsh.num_bands) for c, o in pairs)
        detection[variant] = {"pairs": len(pairs), "share_bucket": round(shared / len(pairs), 4),
                              "curve": round(promised / len(pairs), 4)}
    print(f"copies sharing a band bucket with their original (the curve 1-(1-s^{lsh.rows_per_band})^{lsh.num_bands} "
          "at their Jaccard in brackets): "
          + ", ".join(f"{v} {d['share_bucket']:.1%} ({d['curve']:.1%})" for v, d in detection.items()))
    lines = []
    apart5 = [article for article, low_one in failures if low_one]
    j5 = sorted(jaccard(shingles[variant_url(a, "edit5")], shingles[a]) for a in apart5
                if variant_url(a, "edit5") in shingles and a in shingles)
    if j5:
        print(f"{len(apart5)} group(s) ended as one document plus their 5% copy apart; that copy's Jaccard with "
              f"its original: median {j5[len(j5) // 2]:.2f}, highest {j5[-1]:.2f} ({lsh.num_bands} bands of "
              f"{lsh.rows_per_band} rows: detection 50% at about {(1 / lsh.num_bands) ** (1 / lsh.rows_per_band):.2f})")
    for article, low_one in failures:
        if low_one:
            continue
        urls = [u for u, (a, _) in made.items() if a == article and u in by_url]
        pairs = []
        for a, b in combinations(urls, 2):
            shared = any(x == y for x, y in zip(by_url[a]["minhash_bands"], by_url[b]["minhash_bands"]))
            pairs.append(f"{made[a][1]}-{made[b][1]} J={jaccard(shingles[a], shingles[b]):.2f}"
                         f"{' bucket' if shared else ''}")
        lines.append(f"  {article} ({'0-2% one doc, 5% apart' if low_one else 'split'}): {'; '.join(pairs)}")
    for article in wrong:
        mine = [u for u, (a, _) in made.items() if a == article and u in by_url]
        others = [u for u in by_url if made.get(u, ("", ""))[0] != article]
        best = max(((jaccard(shingles[m], shingles[o]), m, o) for m in mine for o in others), default=None)
        if best:
            lines.append(f"  wrongly merged {article}: closest other page {best[2]} J={best[0]:.2f}")
    if lines:
        print("groups whose original, exact, 1% and 2% pages did not end as one document, pairs of their pages "
              "(J: Jaccard; bucket: share a band bucket):")
        print("\n".join(lines))
    return {"extracted_jaccard_median": medians, "extracted_jaccard_min": lows, "detection_vs_original": detection}


def lsh_settings(settings: list[str]):
    """The run's MinHash settings: ccforge's defaults with this command's `--set minhash_dedup.*` applied."""
    from ccforge.dedup.config import MinhashDedupConfig

    given = dict(setting.split("=", 1) for setting in settings if setting.startswith("minhash_dedup."))
    return MinhashDedupConfig(**{key.split(".", 1)[1]: int(value) for key, value in given.items()
                                 if key.split(".", 1)[1] in ("num_bands", "rows_per_band")})


def curve(s: float, rows: int, bands: int) -> float:
    """The chance that two texts of Jaccard s share at least one band bucket."""
    return 1.0 - (1.0 - s**rows) ** bands


def star_edges(rows: list[dict]) -> dict:
    """What the remote path would shuffle first for this run: after exact dedup (smallest
    id per text hash), a star of edges per shared band bucket (ccforge's bucket_links),
    and their size under Beam's default coder (each an (id, id) pair of WARC record ids)."""
    import apache_beam as beam

    from ccforge.dedup.keep import bucket_links

    survivors = {}
    for r in sorted(rows, key=lambda r: r["id"]):
        survivors.setdefault(r["exact_hash"], r)
    buckets = defaultdict(list)
    for r in survivors.values():
        for band, value in enumerate(r["minhash_bands"]):
            buckets[(band, value)].append(r["id"])
    edges = [e for members in buckets.values() if len(members) > 1 for e in bucket_links(members)[0]]
    linked = {doc for members in buckets.values() if len(members) > 1 for doc in members}
    coder = beam.coders.TupleCoder([beam.coders.registry.get_coder(beam.typehints.Any)] * 2)
    size = sum(len(coder.encode(e)) for e in edges) / len(edges) if edges else 0.0
    result = {"after_exact": len(survivors), "in_shared_buckets": len(linked), "edges": len(edges),
              "edges_per_linked_doc": round(len(edges) / len(linked), 2) if linked else 0.0,
              "bytes_per_edge": round(size, 1)}
    print(f"\nedges the remote path starts from: {result['edges']:,} (a star per shared bucket, after exact dedup) "
          f"for {result['in_shared_buckets']:,} of {result['after_exact']:,} documents, "
          f"{result['edges_per_linked_doc']} per document in a shared bucket; {result['bytes_per_edge']} bytes per "
          "edge under Beam's default coders")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=100, help="sites to take articles from")
    parser.add_argument("--groups-per-site", type=int, default=2)
    parser.add_argument("--distinct-per-site", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="write the WARC and the run here and keep them")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to ccforge run (e.g. extract.deduplicate=true)")
    args = parser.parse_args()
    summary: dict = {"bench": "dedup_groups"}
    if not (BENCH_WARC.exists() and BENCH_GOLD.exists()):
        print(f"skip: {BENCH} is missing (../shared/data holds the benchmark pages)")
        print(json.dumps({**summary, "skipped": "no bench data"}))
        return
    with tempfile.TemporaryDirectory(prefix="ccforge-dedup-groups-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        pages, groups, distinct, vocab = select_articles(args.sites, args.groups_per_site, args.distinct_per_site)
        warc = work / "groups.warc.gz"
        made = build_warc(warc, pages, groups, distinct, vocab)
        sites = len({site for site, _ in groups})
        print(f"{len(groups)} articles x {len(VARIANTS)} pages + {len(distinct)} distinct articles of the same "
              f"{sites} sites: {len(made)} pages, {warc.stat().st_size / 1e6:.1f} MB WARC")
        load_before = load_average()
        out = work / "run"
        wall, stats = run_ccforge(warc, out, args.set)
        settings = "".join(f" --set {setting}" for setting in args.set)
        print(f"ccforge run --skip {SKIP}{settings}: {wall:.0f} s (load before {load_before}, after {load_average()})")
        rows = read_parquet_rows(out / "chunks", ["id", "url", "text", "exact_hash", "minhash_bands"])
        reached = {r["url"] for r in rows}
        kept = {r["url"]: int(r["minhash_cluster_size"])
                for r in read_parquet_rows(out / "documents", ["url", "minhash_cluster_size"])}
        outcome = judge_groups(made, groups, distinct, reached, kept)
        result = summarize(outcome, groups, distinct)
        print(f"\n{'':<44}{'articles':>9}{'one doc':>9}{'share':>8}")
        print(f"{'original + exact + 1% + 2% (target >= 97%)':<44}{result['groups_complete']:>9}"
              f"{result['one_doc_0_2']:>9}{result['share_one_doc_0_2'] or 0:>8.1%}")
        print(f"{'... and the 5% copy too':<44}{result['groups_complete']:>9}"
              f"{result['one_doc_all5']:>9}{result['share_one_doc_all5'] or 0:>8.1%}")
        print(f"distinct articles (group or single) wrongly merged: {result['wrongly_merged_articles']} of "
              f"{len(groups) + len(distinct)} (target 0)")
        missing = len(groups) - result["groups_complete"]
        if missing:
            print(f"({missing} group(s) left out: a page gave no text at extraction)")
        diagnosis = diagnose(rows, made, result.pop("complete"), result.pop("failures"), result.pop("wrong"),
                             lsh_settings(args.set))
        edges = star_edges(rows)
        stages = {row["name"]: row for row in stats["stages"]}
        summary.update({
            **result, **diagnosis, "star_edges": edges, "sites": sites, "pages": len(made), "reached_dedup": len(reached),
            "documents": len(kept), "settings": args.set, "run_s": round(wall, 1), "load": load_average(),
            "exact_dropped": stages.get("exact_dedup", {}).get("dropped", 0),
            "near_dropped": stages.get("minhash_dedup", {}).get("dropped", 0),
            "dedup_clusters": stats.get("dedup_clusters"),
        })
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
