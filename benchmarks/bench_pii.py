"""PII scrubbing: recall, precision and hard negatives on two labelled sets, and speed.

- Faker set (`pii_faker_set`, the one the targets are judged on): values written by Faker
  across its locales, in sentences, with hard negatives (dates, times, prices, years,
  postcodes, street addresses, ISBNs, order and version numbers), inserted into the real
  web texts of ../shared/data/bench. Generated fresh in each run from `--seed`.
- Hand set (`pii_labelled_set`): the project's own hand-made snippets in the same texts.
- In both, a detection that overlaps a label of its kind is a true positive; one that
  overlaps a negative, a label of another kind or only the sentence around a value is a
  false positive. Detections in the untouched bench text ("base": real addresses and phone
  numbers of the pages, not labelled) are counted apart, not in precision. Recall is per
  label (found as its kind); "exact" is the share found with exactly the label's span,
  "scrub" the share fully replaced by any kind. Labels whose variant starts with
  `faker-invalid:` (values no issuer writes) or `by-design:` (special-purpose IPv6 ranges
  the stage keeps) are counted in "recall" and left out of "rec.v" (see pii_faker_set).
- Speed: `PiiScrubber.scrub` over the 2,236 original bench texts, one process, in this run
  (CPU time of the process, best of `--repeat`: steadier than wall time on a shared machine).
  `--extract-pages N` also times trafilatura on N bench pages against scrubbing its output.

    python benchmarks/bench_pii.py [--gold PATH] [--warc PATH] [--extract-pages N] [--seed S]
                                   [--show-misses N] [--repeat R]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pii_faker_set  # noqa: E402
import pii_labelled_set  # noqa: E402
from pii_labelled_set import DEFAULT_GOLD, LabelledDoc, load_texts  # noqa: E402

from ccforge.filters.pii import PRECEDENCE, PiiConfig, PiiScrubber  # noqa: E402

DEFAULT_WARC = DEFAULT_GOLD.with_name("bench-pages.warc.gz")
NOT_EXPECTED = ("faker-invalid:", "by-design:")  # see pii_faker_set


# A mainland mobile is a phone number: either kind is right for the other's label.
FAMILY = {"cn_mobile": "phone"}


def _same_kind(a: str, b: str) -> bool:
    return FAMILY.get(a, a) == FAMILY.get(b, b)


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def evaluate(docs: list[LabelledDoc], scrubber: PiiScrubber) -> dict:
    tp, fp, base = Counter(), Counter(), Counter()
    fp_sources: dict[str, Counter] = defaultdict(Counter)
    labels, found, exact, scrubbed = Counter(), Counter(), Counter(), Counter()
    valid_labels, valid_found = Counter(), Counter()
    variant_labels, variant_found = Counter(), Counter()
    negatives, negatives_hit = Counter(), Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    wrongly_scrubbed: dict[str, list[str]] = defaultdict(list)
    for doc in docs:
        spans = scrubber.find(doc.text)
        for span in spans:
            if not any(_overlaps(span.start, span.end, s, e) for s, e in doc.inserted):
                base[span.kind] += 1
                continue
            hits = [lab for lab in doc.labels if _overlaps(span.start, span.end, lab.start, lab.end)]
            if any(_same_kind(lab.kind, span.kind) for lab in hits):
                tp[span.kind] += 1
                continue
            fp[span.kind] += 1
            source = hits[0] if hits else None
            fp_sources[span.kind][f"{source.kind}/{source.variant}" if source else "template text"] += 1
            if not hits:
                wrongly_scrubbed[f"{span.kind} in template text"].append(_line(doc.text, span.start, span.end))
        for lab in doc.labels:
            touching = [s for s in spans if _overlaps(s.start, s.end, lab.start, lab.end)]
            if lab.kind == "negative":
                negatives[lab.variant] += 1
                negatives_hit[lab.variant] += bool(touching)
                if touching:
                    wrongly_scrubbed[lab.variant].append(_line(doc.text, touching[0].start, touching[0].end))
                continue
            hit = any(_same_kind(s.kind, lab.kind) for s in touching)
            valid = not lab.variant.startswith(NOT_EXPECTED)
            labels[lab.kind] += 1
            valid_labels[lab.kind] += valid
            variant_labels[(lab.kind, lab.variant)] += 1
            found[lab.kind] += hit
            valid_found[lab.kind] += hit and valid
            variant_found[(lab.kind, lab.variant)] += hit
            if not hit:
                misses[lab.kind].append(f"{lab.variant}: {doc.text[lab.start:lab.end]!r}  <- {_line(doc.text, lab.start, lab.end)}")
            exact[lab.kind] += any((s.start, s.end) == (lab.start, lab.end) and _same_kind(s.kind, lab.kind) for s in touching)
            covered = sum(min(s.end, lab.end) - max(s.start, lab.start) for s in touching)
            scrubbed[lab.kind] += covered >= lab.end - lab.start
    per_kind = {}
    for kind in PRECEDENCE:
        detections = tp[kind] + fp[kind]
        per_kind[kind] = {
            "labels": labels[kind],
            "recall": found[kind] / labels[kind] if labels[kind] else None,
            "valid_labels": valid_labels[kind],
            "recall_valid": valid_found[kind] / valid_labels[kind] if valid_labels[kind] else None,
            "exact": exact[kind] / labels[kind] if labels[kind] else None,
            "scrubbed": scrubbed[kind] / labels[kind] if labels[kind] else None,
            "precision": tp[kind] / detections if detections else None,
            "tp": tp[kind],
            "fp": fp[kind],
            "fp_sources": dict(fp_sources[kind].most_common(3)),
            "base": base[kind],
        }
    return {
        "per_kind": per_kind,
        "variants": {f"{k}/{v}": (variant_found[(k, v)], n) for (k, v), n in sorted(variant_labels.items())},
        "negatives": {v: (negatives_hit[v], n) for v, n in sorted(negatives.items())},
        "misses": misses,
        "wrongly_scrubbed": wrongly_scrubbed,
    }


def _line(text: str, start: int, end: int) -> str:
    """The line around a span, the span in [[ ]], for reading misses and false positives."""
    line_start, line_end = text.rfind("\n", 0, start) + 1, text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return f"{text[line_start:start]}[[{text[start:end]}]]{text[end:line_end]}"[:200]


def time_scrub(texts: list[str], scrubber: PiiScrubber) -> float:
    start = time.perf_counter()
    for text in texts:
        scrubber.scrub(text)
    return time.perf_counter() - start


def cpu_time_scrub(texts: list[str], scrubber: PiiScrubber) -> float:
    """CPU seconds of this process: steadier than wall time on a shared machine."""
    start = time.process_time()
    for text in texts:
        scrubber.scrub(text)
    return time.process_time() - start


def extracted_pages(warc: Path, limit: int) -> tuple[list[str], float]:
    """trafilatura (FineWeb settings) on the first `limit` pages; returns texts and seconds."""
    from warcio.archiveiterator import ArchiveIterator

    from ccforge.extract.extractor import extract_text
    from ccforge.read.charset import decode_html

    texts, seconds = [], 0.0
    with open(warc, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            html = decode_html(record.content_stream().read())
            start = time.perf_counter()
            texts.append(extract_text(html, "trafilatura", favor_precision=True, include_comments=False, deduplicate=True))
            seconds += time.perf_counter() - start
            if len(texts) >= limit:
                break
    return texts, seconds


def _fmt(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.3f}"


def report(name: str, result: dict, show_misses: int) -> None:
    print(f"{'kind':<16}{'labels':>7}{'recall':>8}{'valid':>7}{'rec.v':>7}{'exact':>7}{'scrub':>7}{'prec':>7}"
          f"{'tp':>6}{'fp':>5}{'base':>6}  fp from")
    for kind, row in result["per_kind"].items():
        if not row["labels"] and not row["tp"] + row["fp"]:
            continue
        print(
            f"{kind:<16}{row['labels']:>7}{_fmt(row['recall']):>8}{row['valid_labels']:>7}{_fmt(row['recall_valid']):>7}"
            f"{_fmt(row['exact']):>7}{_fmt(row['scrubbed']):>7}{_fmt(row['precision']):>7}{row['tp']:>6}{row['fp']:>5}"
            f"{row['base']:>6}  {row['fp_sources'] or ''}"
        )
    short = {k: f"{f}/{n}" for k, (f, n) in result["variants"].items() if f < n}
    print(f"{name}: variants not all found:", short)
    print(f"{name}: hard negatives wrongly scrubbed:", {k: f"{h}/{n}" for k, (h, n) in result["negatives"].items()})
    for kind, lines in sorted(result["misses"].items()):
        for line in lines[:show_misses]:
            print(f"  missed {kind}: {line}")
    for kind, lines in sorted(result["wrongly_scrubbed"].items()):
        for line in lines[:show_misses]:
            print(f"  wrongly scrubbed ({kind}): {line}")


def summary_of(result: dict) -> dict:
    rows = result["per_kind"].items()
    return {
        "recall": {k: round(r["recall"], 4) for k, r in rows if r["recall"] is not None},
        "recall_valid": {k: round(r["recall_valid"], 4) for k, r in rows if r["recall_valid"] is not None},
        "precision": {k: round(r["precision"], 4) for k, r in rows if r["precision"] is not None},
        "negatives_wrongly_scrubbed": {k: round(h / n, 4) for k, (h, n) in result["negatives"].items()},
        "base_detections": {k: r["base"] for k, r in rows if r["base"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--warc", type=Path, default=DEFAULT_WARC)
    parser.add_argument("--extract-pages", type=int, default=0, help="pages to extract for the measured ratio; 0 skips")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show-misses", type=int, default=0, help="print up to N misses and false positives per kind")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the bench texts (the fastest counts)")
    parser.add_argument("--skip-quality", action="store_true", help="time the scrubber only")
    args = parser.parse_args()
    if not args.gold.is_file():
        sys.exit(f"gold texts not found at {args.gold}; pass --gold PATH to bench-gold.jsonl.gz")

    texts = load_texts(args.gold)
    scrubber = PiiScrubber(PiiConfig())
    scrubber.setup()
    time_scrub(texts[:50], scrubber)  # phonenumbers compiles its patterns on first use
    summary: dict = {"bench": "pii", "seed": args.seed}

    if not args.skip_quality:
        sets = (("faker", pii_faker_set.build), ("hand", pii_labelled_set.build))
        for name, build in sets:
            docs = build(texts, seed=args.seed)
            result = evaluate(docs, scrubber)
            snippets = sum(len(d.inserted) for d in docs)
            print(f"\n{name} set: {len(docs)} real texts, {snippets} inserted snippets (seed {args.seed})")
            report(name, result, args.show_misses)
            summary[name] = summary_of(result) | {"snippets": snippets}
            if name == "faker":
                phones = {k[6:]: v for k, v in result["variants"].items() if k.startswith("phone/")}
                print("faker set: phone locales with misses:", {k: f"{f}/{n}" for k, (f, n) in phones.items() if f < n})

    timings = [cpu_time_scrub(texts, scrubber) for _ in range(args.repeat)]
    scrub_s = min(timings)
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    print(f"\nspeed (one core, CPU time): {len(texts)} bench texts, {megabytes:.1f} MB, best of {args.repeat}: "
          f"{scrub_s:.2f} s = {len(texts) / scrub_s:.0f} docs/s, {megabytes / scrub_s:.1f} MB/s (all passes: "
          f"{', '.join(f'{t:.2f}' for t in timings)} s; load {os.getloadavg()[0]:.2f})")
    summary.update(docs_per_s_core=round(len(texts) / scrub_s, 1), mb_per_s_core=round(megabytes / scrub_s, 2),
                   scrub_cpu_s_bench=round(scrub_s, 3), loadavg_1m=round(os.getloadavg()[0], 2))
    if args.extract_pages and args.warc.is_file():
        pages, extract_s = extracted_pages(args.warc, args.extract_pages)
        scrub_extracted_s = time_scrub(pages, scrubber)
        measured = 100 * scrub_extracted_s / extract_s
        extracted_mb = sum(len(t.encode()) for t in pages) / 1e6
        print(f"trafilatura on {len(pages)} bench pages {extract_s:.2f} s, scrubbing its output "
              f"({extracted_mb:.1f} MB) {scrub_extracted_s:.3f} s: +{measured:.1f}% of extraction")
        summary.update(extract_pages=len(pages), extract_s=round(extract_s, 2),
                       scrub_s_extracted=round(scrub_extracted_s, 3), overhead_pct_vs_extraction=round(measured, 2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
