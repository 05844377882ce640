"""OUT/report.html: one self-contained page that shows what a run kept, dropped and why.

Reads OUT/stats.json (always there) and, when they exist, OUT/documents/*.parquet and
OUT/manifest.json; a section whose data is missing says so instead of failing. Plots
are PNGs drawn with matplotlib's Agg canvas (no pyplot, no global state) and embedded
as base64, so the file can be mailed or attached to a ticket as is.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

from ccforge.tokenize.run_files import (
    DocumentColumns,
    document_files,
    dropped_total,
    funnel_rows,
    language_counts,
    pii_counts,
    quality_scores,
    read_document_columns,
    stage_row,
)

REPORT_FILE = "report.html"
KEPT = "#2f6db5"
DROPPED = "#d9dee6"
ACCENT = "#e07b39"
INK = "#1f2933"
MUTED = "#6b7785"
STAGE_COLORS = ["#2f6db5", "#e07b39", "#3a9d6b", "#b5475a", "#7a5cc2", "#c29a2f", "#3b9bb5", "#8a8f99"]


class ReportError(ValueError):
    """A run directory without stats.json; the message is one line."""


_READ = object()


def write_report(run_dir: str | Path, stats: dict | None = None, manifest=_READ) -> Path:
    """Write OUT/report.html from the run's stats, documents and manifest; return its path.
    `stats` and `manifest` (None: the run has none) are read from the run directory unless
    given, as the job gives them from memory."""
    run_dir = Path(run_dir)
    if stats is None:
        stats_path = run_dir / "stats.json"
        if not stats_path.is_file():
            raise ReportError(f"no stats.json in {run_dir}: the run has not finished a phase yet")
        stats = json.loads(stats_path.read_text())
    if manifest is _READ:
        manifest_path = run_dir / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else None
    paths = document_files(run_dir)
    columns = read_document_columns(paths) if paths else None
    page = _page(run_dir, stats, manifest, columns)
    out = run_dir / REPORT_FILE
    tmp = out.with_name(f".{REPORT_FILE}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


# --- page -------------------------------------------------------------------------------


def _page(run_dir: Path, stats: dict, manifest: dict | None, columns: DocumentColumns | None) -> str:
    rows = funnel_rows(stats)
    sections = [
        _headline(stats, manifest, columns),
        _section("Stage funnel", "Documents entering each stage, and how many it kept.", _funnel_body(rows)),
        _row(
            _section("Language mix", "Kept documents by language.", _languages_body(stats, columns)),
            _section("PII found", "Matches the pii stage scrubbed, by type.", _pii_body(stats)),
        ),
        _quality_section(stats),
        _row(
            _section("Document length", "Characters per kept document (log scale).", _length_body(columns)),
            _section("Tokens per document", "Tokens per kept document (log scale).", _tokens_body(columns)),
        ),
        _row(
            _section(
                "Near-duplicate clusters", "MinHash cluster size of each kept document.", _dedup_body(stats, columns)
            ),
            _section("Token shards", "From manifest.json.", _shards_body(manifest)),
        ),
    ]
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = f"ccforge report: {run_dir.resolve().name}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style></head>
<body><main>
<header><h1>{_e(title)}</h1><p class="muted">{_e(str(run_dir.resolve()))} · generated {created}</p></header>
{"".join(sections)}
</main></body></html>
"""


def _headline(stats: dict, manifest: dict | None, columns: DocumentColumns | None) -> str:
    rows = funnel_rows(stats)
    cards = []
    if stats.get("inputs") is not None:
        cards.append(("inputs", f"{len(stats['inputs']):,}"))
    if rows:
        cards.append((f"entered {rows[0]['name']}", f"{rows[0].get('in', 0):,}"))
        kept = rows[-1].get("kept", 0)
        cards.append(("documents kept", f"{kept:,}"))
        first_in = rows[0].get("in", 0)
        if first_in:
            cards.append(("kept overall", f"{100 * kept / first_in:.1f}%"))
    elif columns is not None:
        cards.append(("documents kept", f"{columns.count:,}"))
    if manifest:
        tokens = sum(t.get("tokens", 0) for t in manifest.get("totals", {}).values())
        cards.append((f"tokens ({manifest['tokenizer'].get('name', '?')})", _human(tokens)))
    if stats.get("elapsed_s") is not None:
        cards.append(("elapsed", _duration(float(stats["elapsed_s"]))))
    config = stats.get("config") or {}
    if isinstance(config, dict) and config.get("name"):
        cards.append(("config", str(config["name"])))
    body = "".join(
        f'<div class="card"><div class="num">{_e(v)}</div><div class="lbl">{_e(k)}</div></div>' for k, v in cards
    )
    return f'<section class="cards">{body}</section>'


def _section(title: str, caption: str, body: str) -> str:
    return f'<section class="panel"><h2>{_e(title)}</h2><p class="muted">{_e(caption)}</p>{body}</section>'


def _row(*sections: str) -> str:
    return f'<div class="row">{"".join(sections)}</div>'


def _missing(text: str) -> str:
    return f'<p class="missing">{_e(text)}</p>'


# --- sections ---------------------------------------------------------------------------


def _funnel_body(rows: list[dict]) -> str:
    if not rows:
        return _missing("stats.json holds no stage counts yet.")
    names = [r["name"] for r in rows]
    ins = np.array([r.get("in", 0) for r in rows], dtype=float)
    kept = np.array([r.get("kept", 0) for r in rows], dtype=float)
    fig, ax = _figure(10, 0.42 * len(rows) + 0.9)
    y = np.arange(len(rows))[::-1]
    ax.barh(y, ins, color=DROPPED, height=0.7, label="dropped")
    ax.barh(y, kept, color=KEPT, height=0.7, label="kept")
    ax.set_yticks(y, names)
    top = ins.max() if ins.max() > 0 else 1
    for yi, row, n_in, n_kept in zip(y, rows, ins, kept):
        share = f"{100 * n_kept / n_in:.1f}%" if n_in else "-"
        reasons = sorted(((k, v) for k, v in (row.get("dropped") or {}).items() if v), key=lambda kv: -kv[1])
        why = f"  ·  top drop: {reasons[0][0]}" if reasons else ""
        ax.text(n_in + top * 0.01, yi, f"{int(n_kept):,} kept ({share}){why}", va="center", fontsize=8.5, color=INK)
    ax.set_xlim(0, top * 1.6)
    ax.legend(loc="lower right", frameon=False, fontsize=8.5)
    _tidy(ax, xlabel="documents")
    chart = _img(fig, "stage funnel")

    reasons = sorted(
        ((row["name"], reason, count) for row in rows for reason, count in (row.get("dropped") or {}).items() if count),
        key=lambda t: -t[2],
    )[:14]
    if reasons:
        stage_color = {name: STAGE_COLORS[i % len(STAGE_COLORS)] for i, name in enumerate(names)}
        fig, ax = _figure(10, 0.32 * len(reasons) + 0.9)
        y = np.arange(len(reasons))[::-1]
        counts = [c for _, _, c in reasons]
        ax.barh(y, counts, color=[stage_color[s] for s, _, _ in reasons], height=0.65)
        ax.set_yticks(y, [f"{s}: {r}" for s, r, _ in reasons])
        for yi, c in zip(y, counts):
            ax.text(c + max(counts) * 0.01, yi, f"{c:,}", va="center", fontsize=8.5, color=INK)
        ax.set_xlim(0, max(counts) * 1.12)
        _tidy(ax, xlabel="documents dropped")
        chart += "<h3>Why documents were dropped</h3>" + _img(fig, "drop reasons")

    table = [
        "<table><thead><tr><th>stage</th><th>in</th><th>kept</th><th>dropped</th><th>kept %</th>"
        '<th class="reasons">drop reasons</th></tr></thead><tbody>'
    ]
    for row in rows:
        n_in, n_kept, n_drop = row.get("in", 0), row.get("kept", 0), dropped_total(row)
        share = f"{100 * n_kept / n_in:.1f}" if n_in else "-"
        reasons_text = ", ".join(
            f"{k} {v:,}" for k, v in sorted((row.get("dropped") or {}).items(), key=lambda kv: -kv[1]) if v
        )
        table.append(
            f"<tr><td>{_e(row['name'])}</td><td>{n_in:,}</td><td>{n_kept:,}</td><td>{n_drop:,}</td>"
            f"<td>{share}</td><td class='reasons'>{_e(reasons_text)}</td></tr>"
        )
    table.append("</tbody></table>")
    return chart + "".join(table)


def _languages_body(stats: dict, columns: DocumentColumns | None) -> str:
    counts = columns.languages if columns is not None and columns.languages else language_counts(stats)
    if not counts:
        return _missing("No language counts: the language stage did not run or no documents were written.")
    items = list(counts.items())
    top, rest = items[:10], sum(v for _, v in items[10:])
    if rest:
        top.append(("other", rest))
    total = sum(v for _, v in items) or 1
    return _labelled_bars(top, KEPT, lambda v: f"{100 * v / total:.1f}%", "documents", "language mix")


def _pii_body(stats: dict) -> str:
    if stage_row(stats, "pii") is None:
        return _missing("The pii stage did not run.")
    counts = pii_counts(stats)
    if not counts:
        return _missing("No PII found.")
    return _labelled_bars(list(counts.items())[:12], ACCENT, lambda v: f"{v:,}", "matches", "pii counts")


QUALITY_PANELS = 4  # languages drawn; the table lists them all


def _quality_section(stats: dict) -> str:
    """Score histograms per language (every document the classifier scored, kept or not)
    with the threshold drawn; nothing when the stage is off."""
    row = stage_row(stats, "quality_classifier")
    if row is None or row.get("skipped"):
        return ""
    by_language = quality_scores(stats)
    caption = "Scores of every document the classifier judged, per language; the dashed line is the threshold."
    scored = [(lang, q) for lang, q in by_language.items() if q.scored]
    if not by_language:
        return _section("Quality score", caption, _missing("The quality_classifier stage scored no documents."))
    body = ""
    if scored:
        shown = scored[:QUALITY_PANELS]
        fig = Figure(figsize=(min(10, 3.4 * len(shown)), 2.8), dpi=110)
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, len(shown), squeeze=False)[0]
        for ax, (lang, q) in zip(axes, shown):
            edges = sorted(q.bins)
            width = min(b - a for a, b in zip(edges, edges[1:])) if len(edges) > 1 else 0.05
            ax.bar(edges, [q.bins[e] for e in edges], width=width, align="edge", color=KEPT)
            for threshold in q.thresholds:
                ax.axvline(threshold, color=ACCENT, linewidth=1.2, linestyle="--")
            ax.set_title(f"{lang}: {q.scored:,} scored", fontsize=9, color=INK)
            _tidy(ax, xlabel="quality_score", ylabel="documents" if ax is axes[0] else "", horizontal=False)
        body += _img(fig, "quality score histograms")
    table = ["<table><thead><tr><th>language</th><th>scored</th><th>kept</th><th>kept %</th><th>threshold</th>"
             "<th>no model (passed)</th></tr></thead><tbody>"]
    for lang, q in by_language.items():
        share = f"{100 * q.kept / q.scored:.1f}" if q.scored else "-"
        thresholds = ", ".join(f"{t:.4g}" for t in sorted(q.thresholds)) or "-"
        table.append(f"<tr><td>{_e(lang)}</td><td>{q.scored:,}</td><td>{q.kept:,}</td><td>{share}</td>"
                     f"<td>{_e(thresholds)}</td><td>{q.no_model:,}</td></tr>")
    table.append("</tbody></table>")
    return _section("Quality score", caption, body + "".join(table))


def _labelled_bars(items: list[tuple[str, int]], color: str, label, xlabel: str, alt: str) -> str:
    """Horizontal bars, largest on top, each with its value written beside it."""
    fig, ax = _figure(5, 0.34 * len(items) + 0.9)
    y = np.arange(len(items))[::-1]
    values = [v for _, v in items]
    ax.barh(y, values, color=color, height=0.65)
    ax.set_yticks(y, [k for k, _ in items])
    for yi, v in zip(y, values):
        ax.text(v + max(values) * 0.01, yi, label(v), va="center", fontsize=8.5, color=INK)
    ax.set_xlim(0, max(values) * 1.2)
    _tidy(ax, xlabel=xlabel)
    return _img(fig, alt)


def _length_body(columns: DocumentColumns | None) -> str:
    if columns is None or not len(columns.characters):
        return _missing("No documents Parquet yet.")
    return _log_histogram(columns.characters, "characters", KEPT)


def _tokens_body(columns: DocumentColumns | None) -> str:
    if columns is None:
        return _missing("No documents Parquet yet.")
    if columns.token_count is None or not (columns.token_count > 0).any():
        return _missing("No token counts: the tokenize stage did not run.")
    return _log_histogram(columns.token_count, "tokens", ACCENT)


def _log_histogram(values: np.ndarray, unit: str, color: str) -> str:
    values = values[values > 0]
    if not len(values):
        return _missing(f"Every document has 0 {unit}.")
    low, high = max(1, values.min()), max(2, values.max())
    bins = np.logspace(np.log10(low), np.log10(high) + 1e-9, 40)
    fig, ax = _figure(5, 2.8)
    ax.hist(values, bins=bins, color=color)
    ax.set_xscale("log")
    # Labels at 1, 2, 5 x 10^k in plain numbers; matplotlib's own minor labels collide on short ranges.
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(lambda v, _: _human(v))
    ax.xaxis.set_minor_formatter(NullFormatter())
    median = float(np.median(values))
    ax.axvline(median, color=INK, linewidth=1, linestyle="--")
    ax.text(median, ax.get_ylim()[1] * 0.95, f" median {median:,.0f}", fontsize=8.5, color=INK, va="top")
    _tidy(ax, xlabel=unit, ylabel="documents", horizontal=False)
    caption = (
        f'<p class="stat">{len(values):,} documents · mean {values.mean():,.0f} · '
        f"p5 {np.percentile(values, 5):,.0f} · p95 {np.percentile(values, 95):,.0f} {unit}</p>"
    )
    return _img(fig, f"{unit} histogram") + caption


def _dedup_body(stats: dict, columns: DocumentColumns | None) -> str:
    notes = []
    for stage in ("exact_dedup", "minhash_dedup"):
        row = stage_row(stats, stage)
        if row:
            notes.append(f"{stage} dropped {dropped_total(row):,} of {row.get('in', 0):,}")
    note = f'<p class="stat">{_e(" · ".join(notes))}</p>' if notes else ""
    if columns is None or columns.cluster_size is None or not len(columns.cluster_size):
        return note + _missing("No minhash_cluster_size column: documents not written or dedup did not run.")
    sizes = np.maximum(columns.cluster_size, 1)
    edges = [1, 2, 3, 5, 9, 17, 33, 65, 129, 257, 513, 1025]
    labels, counts = [], []
    for lo, hi in zip(edges, edges[1:] + [None]):
        n = int(((sizes >= lo) & (sizes < hi)).sum()) if hi else int((sizes >= lo).sum())
        if hi is None and not n:
            continue
        labels.append(str(lo) if hi == lo + 1 else (f"{lo}-{hi - 1}" if hi else f"{lo}+"))
        counts.append(n)
    while len(counts) > 2 and counts[-1] == 0:
        labels.pop()
        counts.pop()
    fig, ax = _figure(5, 2.8)
    x = np.arange(len(counts))
    ax.bar(x, counts, color=["#9aa5b1"] + [KEPT] * (len(counts) - 1))
    ax.set_xticks(x, labels)
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.5)  # so a cluster size seen once still shows as a bar
    _tidy(ax, xlabel="cluster size (1 = unique)", ylabel="kept documents", horizontal=False)
    clustered = int((sizes > 1).sum())
    summary = (
        f'<p class="stat">{clustered:,} of {len(sizes):,} kept documents ({100 * clustered / len(sizes):.1f}%) '
        f"stand for a cluster of near-duplicates; largest {int(sizes.max()):,}</p>"
    )
    return note + _img(fig, "cluster sizes") + summary


def _shards_body(manifest: dict | None) -> str:
    if not manifest:
        return _missing("No manifest.json: the tokenize stage did not run or has not finished.")
    tok = manifest.get("tokenizer", {})
    rows = [
        "<table><thead><tr><th>split</th><th>shards</th><th>documents</th><th>tokens</th>"
        "<th>tokens/doc</th></tr></thead><tbody>"
    ]
    for split, total in manifest.get("totals", {}).items():
        n_rows, n_tokens = total.get("rows", 0), total.get("tokens", 0)
        n_shards = total.get("shards", sum(1 for s in manifest.get("shards", []) if s.get("split") == split))
        per_doc = f"{(n_tokens - n_rows) / n_rows:,.0f}" if n_rows else "-"
        rows.append(
            f"<tr><td>{_e(split)}</td><td>{n_shards:,}</td><td>{n_rows:,}</td><td>{n_tokens:,}</td>"
            f"<td>{per_doc}</td></tr>"
        )
    rows.append("</tbody></table>")
    info = (
        f'<p class="stat">tokenizer {_e(str(tok.get("name")))} · vocab {tok.get("vocab_size", 0):,} · '
        f"end-of-text {tok.get('eot')} · {_e(str(tok.get('dtype')))}</p>"
    )
    return info + "".join(rows)


# --- drawing helpers --------------------------------------------------------------------


def _figure(width: float, height: float):
    fig = Figure(figsize=(width, max(height, 1.6)), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    return fig, ax


def _tidy(ax, xlabel: str = "", ylabel: str = "", horizontal: bool = True) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#c4cbd4")
    ax.spines["bottom"].set_color("#c4cbd4")
    ax.tick_params(colors=INK, labelsize=9)
    ax.set_xlabel(xlabel, color=MUTED, fontsize=9)
    ax.set_ylabel(ylabel, color=MUTED, fontsize=9)
    ax.grid(axis="x" if horizontal else "y", color="#edf0f3", linewidth=0.8)
    ax.set_axisbelow(True)
    counts_axis = ax.xaxis if horizontal else ax.yaxis
    if (ax.get_xscale() if horizontal else ax.get_yscale()) == "linear":
        counts_axis.set_major_locator(MaxNLocator(integer=True))  # documents come whole
    counts_axis.set_major_formatter(lambda v, _: _human(v))


def _img(fig: Figure, alt: str) -> str:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _human(value: float) -> str:
    value = float(value)
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}" if value == int(value) else f"{value:.2g}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


_CSS = """
body{margin:0;background:#f5f7fa;color:#1f2933;
font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:16px;margin:0}h3{font-size:14px;margin:18px 0 4px}
.muted{color:#6b7785;margin:2px 0 10px;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #e1e6ec;border-radius:8px;padding:10px 16px;min-width:120px}
.num{font-size:22px;font-weight:600}.lbl{color:#6b7785;font-size:12px}
.panel{background:#fff;border:1px solid #e1e6ec;border-radius:8px;padding:16px;margin:0 0 16px;flex:1;min-width:0}
.row{display:flex;gap:16px;flex-wrap:wrap}.row>.panel{min-width:420px}
img{max-width:100%;height:auto;display:block}
table{border-collapse:collapse;width:100%;margin-top:12px;font-size:13px}
th,td{text-align:right;padding:4px 8px;border-bottom:1px solid #edf0f3;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.reasons,th.reasons{text-align:left;white-space:normal;color:#4a5561}
.missing{color:#6b7785;background:#f5f7fa;border:1px dashed #c4cbd4;border-radius:6px;padding:14px;text-align:center}
.stat{color:#4a5561;font-size:13px;margin:6px 0 0}
"""
