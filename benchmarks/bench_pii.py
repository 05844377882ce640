"""PII scrubbing: precision and recall per kind on a labelled set, speed, and its cost next to stage A.

- Quality: `pii_labelled_set.build` puts real-looking PII of several countries and
  hard negatives into the real web texts of ../shared/data/bench (see that module for
  how). A detection that overlaps a label of its kind is a true positive; one that
  overlaps a negative, a label of another kind or only the sentence around a value is
  a false positive. Detections in the untouched base text ("base": real addresses and
  phone numbers of the pages, which are not labelled) are counted apart, not in
  precision. Recall is per label (found as its kind); "exact" is the share found with
  exactly the label's span, "scrubbed" the share fully replaced by any kind.
- Speed: `PiiScrubber.scrub` over the 2,236 original bench texts, one process: docs/s
  per core and MB/s.
- Cost next to stage A: scrub time of the bench texts against 70 s, the reference
  stage-A time of the bench WARC quoted in issue 9 (`--stage-a-seconds`); and, measured
  here, trafilatura extraction (FineWeb settings) of `--extract-pages` pages of the
  bench WARC against scrubbing what it extracted. Target: under 10%.

    python benchmarks/bench_pii.py [--gold PATH] [--warc PATH] [--extract-pages N] [--seed S]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pii_labelled_set import DEFAULT_GOLD, LabelledDoc, build, load_texts  # noqa: E402

from ccforge.filters.pii import PRECEDENCE, PiiConfig, PiiScrubber  # noqa: E402

DEFAULT_WARC = DEFAULT_GOLD.with_name("bench-pages.warc.gz")
STAGE_A_REFERENCE_S = 70.0


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
    variant_labels, variant_found = Counter(), Counter()
    negatives, negatives_hit = Counter(), Counter()
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
        for lab in doc.labels:
            touching = [s for s in spans if _overlaps(s.start, s.end, lab.start, lab.end)]
            if lab.kind == "negative":
                negatives[lab.variant] += 1
                negatives_hit[lab.variant] += bool(touching)
                continue
            labels[lab.kind] += 1
            variant_labels[(lab.kind, lab.variant)] += 1
            if any(_same_kind(s.kind, lab.kind) for s in touching):
                found[lab.kind] += 1
                variant_found[(lab.kind, lab.variant)] += 1
            exact[lab.kind] += any((s.start, s.end) == (lab.start, lab.end) and _same_kind(s.kind, lab.kind) for s in touching)
            covered = sum(min(s.end, lab.end) - max(s.start, lab.start) for s in touching)
            scrubbed[lab.kind] += covered >= lab.end - lab.start
    per_kind = {}
    for kind in PRECEDENCE:
        detections = tp[kind] + fp[kind]
        per_kind[kind] = {
            "labels": labels[kind],
            "recall": found[kind] / labels[kind] if labels[kind] else None,
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
    }


def time_scrub(texts: list[str], scrubber: PiiScrubber) -> float:
    start = time.perf_counter()
    for text in texts:
        scrubber.scrub(text)
    return time.perf_counter() - start


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD)
    parser.add_argument("--warc", type=Path, default=DEFAULT_WARC)
    parser.add_argument("--extract-pages", type=int, default=300, help="pages to extract for the measured ratio; 0 skips")
    parser.add_argument("--stage-a-seconds", type=float, default=STAGE_A_REFERENCE_S)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.gold.is_file():
        sys.exit(f"gold texts not found at {args.gold}; pass --gold PATH to bench-gold.jsonl.gz")

    texts = load_texts(args.gold)
    docs = build(texts, seed=args.seed)
    scrubber = PiiScrubber(PiiConfig())
    scrubber.setup()
    time_scrub(texts[:50], scrubber)  # phonenumbers compiles its patterns on first use

    result = evaluate(docs, scrubber)
    print(f"labelled set: {len(docs)} real texts, {sum(len(d.labels) for d in docs)} inserted snippets (seed {args.seed})")
    print(f"{'kind':<16}{'labels':>7}{'recall':>8}{'exact':>7}{'scrub':>7}{'prec':>7}{'tp':>6}{'fp':>5}{'base':>6}  fp from")
    for kind, row in result["per_kind"].items():
        print(
            f"{kind:<16}{row['labels']:>7}{_fmt(row['recall']):>8}{_fmt(row['exact']):>7}{_fmt(row['scrubbed']):>7}"
            f"{_fmt(row['precision']):>7}{row['tp']:>6}{row['fp']:>5}{row['base']:>6}  {row['fp_sources'] or ''}"
        )
    print("phone recall by format:", {k[6:]: f"{f}/{n}" for k, (f, n) in result["variants"].items() if k.startswith("phone/")})
    print("variants not all found:", {k: f"{f}/{n}" for k, (f, n) in result["variants"].items() if f < n})
    print("hard negatives flagged:", {k: f"{h}/{n}" for k, (h, n) in result["negatives"].items()})

    scrub_s = time_scrub(texts, scrubber)
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    docs_per_s = len(texts) / scrub_s
    overhead_reference = 100 * scrub_s / args.stage_a_seconds
    print(f"speed (one core): {len(texts)} bench texts, {megabytes:.1f} MB in {scrub_s:.2f} s = {docs_per_s:.0f} docs/s, "
          f"{megabytes / scrub_s:.1f} MB/s")
    print(f"vs stage A reference {args.stage_a_seconds:.0f} s for the bench WARC: +{overhead_reference:.1f}%")

    summary = {
        "bench": "pii",
        "docs": len(docs),
        "labels": sum(r["labels"] for r in result["per_kind"].values()),
        "negatives": sum(n for _, n in result["negatives"].values()),
        "precision": {k: round(r["precision"], 4) for k, r in result["per_kind"].items() if r["precision"] is not None},
        "recall": {k: round(r["recall"], 4) for k, r in result["per_kind"].items() if r["recall"] is not None},
        "base_detections": {k: r["base"] for k, r in result["per_kind"].items() if r["base"]},
        "docs_per_s_core": round(docs_per_s, 1),
        "mb_per_s_core": round(megabytes / scrub_s, 2),
        "scrub_s_bench": round(scrub_s, 2),
        "stage_a_reference_s": args.stage_a_seconds,
        "overhead_pct_vs_reference": round(overhead_reference, 2),
    }
    if args.extract_pages and args.warc.is_file():
        pages, extract_s = extracted_pages(args.warc, args.extract_pages)
        scrub_extracted_s = time_scrub(pages, scrubber)
        measured = 100 * scrub_extracted_s / extract_s
        extracted_mb = sum(len(t.encode()) for t in pages) / 1e6
        print(f"measured: trafilatura on {len(pages)} bench pages {extract_s:.2f} s, scrubbing its output "
              f"({extracted_mb:.1f} MB) {scrub_extracted_s:.3f} s: +{measured:.1f}% (extraction alone; stage A does more)")
        summary.update(extract_pages=len(pages), extract_s=round(extract_s, 2),
                       scrub_s_extracted=round(scrub_extracted_s, 3), overhead_pct_vs_extraction=round(measured, 2))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
