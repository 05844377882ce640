"""Phase B's dedup as Beam steps: shuffle only keys, decide, then drop.

    keys = ...                                          # dicts read from chunk Parquet
    verdicts = keys | FindDuplicates(exact_cfg, minhash_cfg)
    kept = docs | DropDuplicates(exact_cfg, minhash_cfg, verdicts, join)
    keys | WriteBandIndex(run_dir, minhash_cfg, verdicts, join)   # for later --dedup-against

The verdicts (one per dropped document or cluster) reach the documents in one of two
ways. As a side input, a dict every worker holds whole: right for the local runner,
where phase B runs in one process over one machine's output. Or, with `join`, by a
CoGroupByKey on the document id: what a remote runner needs, since on a crawl there are
hundreds of millions of verdicts, far more than one worker's memory. Both keep the same
documents.

FindDuplicates chains URL dedup -> exact dedup -> MinHash buckets, each over the winners
of the one before (a document dropped for being a copy must not also decide a bucket).
The keep rules themselves are pure functions in `ccforge.dedup.keep`.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from ccforge.dedup.config import ExactDedupConfig, MinhashDedupConfig
from ccforge.dedup.keep import (
    EXACT_DUPLICATE,
    NEAR_DUPLICATE,
    URL_DUPLICATE,
    KeyRecord,
    bucket_verdicts,
    merge_verdicts,
    newest_capture,
    smallest_id,
    verdict,
)
from ccforge.dedup.normalize import NORMALIZE_VERSION
from ccforge.document import Document
from ccforge.pipeline.metrics import StageCounters
from ccforge.pipeline.parquet_io import WriteParquetBundles

BAND_INDEX_DIR = "dedup/band_index"
_PARAMS_KEY = b"ccforge.minhash"


def band_index_schema(minhash_cfg: MinhashDedupConfig) -> pa.Schema:
    """Band index rows (band, band_hash); the file metadata records what made the hashes."""
    params = {**minhash_cfg.signature_params(), "normalize_version": NORMALIZE_VERSION}
    return pa.schema(
        [("band", pa.int32()), ("band_hash", pa.int64())],
        metadata={_PARAMS_KEY: json.dumps(params, sort_keys=True).encode()},
    )


def band_index_files(location: str, minhash_cfg: MinhashDedupConfig) -> str:
    """The glob of an earlier run's band index, checked to exist and to match this config.

    `location` is a run directory, a band-index directory, or a Parquet glob."""
    if location.endswith(".parquet") or any(c in location for c in "*?["):
        candidates = [location]
    else:
        base = location.rstrip("/")
        candidates = [posixpath.join(base, BAND_INDEX_DIR, "*.parquet"), posixpath.join(base, "*.parquet")]
    for pattern in candidates:
        files = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
        if files:
            break
    else:
        raise ValueError(
            f"no band index at {location} (looked for {' and '.join(candidates)}); name a run made with "
            "minhash_dedup on, or drop it from --dedup-against"
        )
    with FileSystems.open(files[0]) as handle:
        found = (pq.read_schema(handle).metadata or {}).get(_PARAMS_KEY, b"{}")
    wanted = band_index_schema(minhash_cfg).metadata[_PARAMS_KEY]
    if json.loads(found) != json.loads(wanted):
        raise ValueError(
            f"band index at {location} was made with minhash settings {found.decode()}, this run uses "
            f"{wanted.decode()}; use the same minhash_dedup settings or drop it from --dedup-against"
        )
    return pattern


def _key_record(row: dict) -> KeyRecord:
    bands = row.get("minhash_bands")
    return KeyRecord(
        id=str(row["id"]),
        url=str(row.get("url") or ""),
        date=str(row.get("date") or ""),
        exact_hash=int(row["exact_hash"]),
        bands=tuple(int(b) for b in bands) if bands is not None else (),
    )


def _url_key(record: KeyRecord) -> tuple[str, str]:
    # Documents without a URL are not captures of one page: each stays alone.
    return (record.url, "") if record.url else ("", record.id)


def _collapse(grouped, pick, reason: str):
    """Winner of one group to the main output, a verdict per loser to 'verdicts'."""
    _, records = grouped
    winner, losers = pick(records)
    yield winner
    for loser in losers:
        yield beam.pvalue.TaggedOutput("verdicts", (loser.id, verdict(reason, winner.copies)))


def _band_members(record: KeyRecord):
    for band, band_hash in enumerate(record.bands):
        yield (band, band_hash), (record.id, record.copies)


def _copies_verdict(record: KeyRecord):
    # Survivors that absorbed copies carry a cluster size even without a near duplicate.
    if record.copies > 1:
        yield record.id, verdict(None, record.copies)


class FindDuplicates(beam.PTransform):
    """Key dicts {"id","url","date","exact_hash","minhash_bands"} -> (id, verdict).

    Emits every id that is dropped or stands for more than one document; ids it does not
    emit are kept with cluster size 1. A disabled stage decides nothing.
    """

    def __init__(
        self,
        exact_cfg: ExactDedupConfig,
        minhash_cfg: MinhashDedupConfig,
        against_indexes: tuple[str, ...] | list[str] = (),
    ):
        super().__init__()
        minhash_cfg.validate()
        self.exact_cfg = exact_cfg
        self.minhash_cfg = minhash_cfg
        locations = list(against_indexes) or list(minhash_cfg.against)
        # Resolved now, so a wrong path fails before the pipeline runs.
        self.index_patterns = (
            [band_index_files(loc, minhash_cfg) for loc in locations] if minhash_cfg.enabled else []
        )

    def expand(self, rows):
        survivors = rows | "KeyRecords" >> beam.Map(_key_record)
        decided = []
        if self.exact_cfg.enabled and self.exact_cfg.url_dedup:
            by_url = (
                survivors
                | "ByUrl" >> beam.Map(lambda r: (_url_key(r), r))
                | "GroupByUrl" >> beam.GroupByKey()
                | "NewestCapture"
                >> beam.FlatMap(_collapse, newest_capture, URL_DUPLICATE).with_outputs("verdicts", main="kept")
            )
            survivors = by_url.kept
            decided.append(by_url.verdicts)
        if self.exact_cfg.enabled:
            by_hash = (
                survivors
                | "ByTextHash" >> beam.Map(lambda r: (r.exact_hash, r))
                | "GroupByTextHash" >> beam.GroupByKey()
                | "SmallestId"
                >> beam.FlatMap(_collapse, smallest_id, EXACT_DUPLICATE).with_outputs("verdicts", main="kept")
            )
            survivors = by_hash.kept
            decided.append(by_hash.verdicts)
        decided.append(survivors | "CopiesClusterSize" >> beam.FlatMap(_copies_verdict))
        if self.minhash_cfg.enabled:
            members = [survivors | "BandMembers" >> beam.FlatMap(_band_members)]
            for i, pattern in enumerate(self.index_patterns):
                members.append(
                    rows.pipeline
                    | f"ReadBandIndex{i}" >> beam.io.ReadFromParquet(pattern, columns=["band", "band_hash"])
                    | f"EarlierBuckets{i}" >> beam.Map(lambda row: ((int(row["band"]), int(row["band_hash"])), None))
                )
            decided.append(
                members
                | "AllBandMembers" >> beam.Flatten()
                | "GroupByBucket" >> beam.GroupByKey()
                | "KeepSmallestPerBucket" >> beam.FlatMap(lambda bucket: bucket_verdicts(bucket[1]))
            )
        return decided | "AllVerdicts" >> beam.Flatten() | "OneVerdictPerId" >> beam.CombinePerKey(merge_verdicts)


class _ApplyVerdicts(beam.DoFn):
    """Keeps or drops a document by its verdict (from the side-input dict here; handed in
    with the documents of its id by _ApplyJoinedVerdicts), counting both dedup funnel rows."""

    def __init__(self, exact_enabled: bool, minhash_enabled: bool):
        self.exact_enabled = exact_enabled
        self.minhash_enabled = minhash_enabled

    def setup(self):
        self.exact_counters = StageCounters("exact_dedup")
        self.minhash_counters = StageCounters("minhash_dedup")

    def process(self, doc: Document, verdicts: dict):
        yield from self.judge(doc, verdicts.get(doc.id))

    def judge(self, doc: Document, found: dict | None):
        found = found or verdict(None, 1)
        drop = found["drop"]
        if self.exact_enabled:
            self.exact_counters.seen()
            if drop in (URL_DUPLICATE, EXACT_DUPLICATE):
                self.exact_counters.dropped(drop)
                return
            self.exact_counters.kept()
        if self.minhash_enabled:
            self.minhash_counters.seen()
            if drop == NEAR_DUPLICATE:
                self.minhash_counters.dropped(drop)
                return
            self.minhash_counters.kept()
        # A new Document: Beam elements must not be changed in place.
        yield dataclasses.replace(doc, metadata={**doc.metadata, "minhash_cluster_size": found["cluster_size"]})


class _ApplyJoinedVerdicts(_ApplyVerdicts):
    def process(self, joined):
        docs, found = _items_and_verdict(joined)
        for doc in docs:
            yield from self.judge(doc, found)


def _join_by_id(items, verdicts, label: str, id_of):
    """(id, {"items": [...], "verdicts": [at most one]}) per id, by a shuffle on the id."""
    keyed = items | f"{label}ById" >> beam.Map(lambda item: (id_of(item), item))
    return {"items": keyed, "verdicts": verdicts} | f"Join{label}AndVerdicts" >> beam.CoGroupByKey()


def _items_and_verdict(joined) -> tuple:
    """One id's items and its verdict (None when it has none) from `_join_by_id`."""
    _, grouped = joined
    return grouped["items"], next(iter(grouped["verdicts"]), None)  # OneVerdictPerId: at most one


class DropDuplicates(beam.PTransform):
    """Documents -> the kept ones, with metadata["minhash_cluster_size"] (1 when none).

    Counts funnel rows `exact_dedup` (dropped: url_duplicate, exact_duplicate) and
    `minhash_dedup` (dropped: near_duplicate); a disabled stage counts nothing and drops nothing.
    `join`: verdicts by a shuffle on the id rather than as a side input (see above).
    """

    def __init__(self, exact_cfg: ExactDedupConfig, minhash_cfg: MinhashDedupConfig, verdicts, join: bool = False):
        super().__init__()
        self.exact_cfg = exact_cfg
        self.minhash_cfg = minhash_cfg
        self.verdicts = verdicts
        self.join = join

    def expand(self, docs):
        enabled = (self.exact_cfg.enabled, self.minhash_cfg.enabled)
        if not self.join:
            return docs | "ApplyVerdicts" >> beam.ParDo(_ApplyVerdicts(*enabled), beam.pvalue.AsDict(self.verdicts))
        return (
            _join_by_id(docs, self.verdicts, "Docs", lambda doc: doc.id)
            | "ApplyJoinedVerdicts" >> beam.ParDo(_ApplyJoinedVerdicts(*enabled))
        )


def _kept_band_rows(row: dict, verdicts: dict):
    yield from _band_rows(row, verdicts.get(str(row["id"])))


def _joined_band_rows(joined):
    rows, found = _items_and_verdict(joined)
    for row in rows:
        yield from _band_rows(row, found)


def _band_rows(row: dict, found: dict | None):
    """The band index rows of a kept document (none for a dropped one)."""
    if found is not None and found["drop"] is not None:
        return
    bands = row.get("minhash_bands")
    for band, band_hash in enumerate(bands if bands is not None else ()):
        yield {"band": band, "band_hash": int(band_hash)}


class WriteBandIndex(beam.PTransform):
    """Key dicts -> RUN/dedup/band_index/bands-*.parquet: the buckets of the kept documents,
    which a later run names with `--dedup-against RUN` (minhash_dedup.against).
    `join`: verdicts by a shuffle on the id rather than as a side input."""

    def __init__(self, run_dir: str, minhash_cfg: MinhashDedupConfig, verdicts, join: bool = False):
        super().__init__()
        self.directory = posixpath.join(run_dir.rstrip("/"), BAND_INDEX_DIR)
        self.schema = band_index_schema(minhash_cfg)
        self.verdicts = verdicts
        self.join = join

    def expand(self, rows):
        if self.join:
            joined = _join_by_id(rows, self.verdicts, "Keys", lambda row: str(row["id"]))
            kept = joined | "KeptBands" >> beam.FlatMap(_joined_band_rows)
        else:
            kept = rows | "KeptBands" >> beam.FlatMap(_kept_band_rows, beam.pvalue.AsDict(self.verdicts))
        # Written per bundle, as phase A's chunks are: Beam's WriteToParquet adds a
        # shuffle and a finalising stage, which cost more than the writing on a small run.
        writer = WriteParquetBundles(self.directory, self.schema, dict, 1 << 30, "zstd")
        return kept | "WriteBandIndex" >> beam.ParDo(writer)


def write_band_index(rows, verdicts, run_dir: str, minhash_cfg: MinhashDedupConfig, join: bool = False):
    """Apply WriteBandIndex to the key dicts that FindDuplicates read (same pipeline)."""
    return rows | "BandIndex" >> WriteBandIndex(run_dir, minhash_cfg, verdicts, join)
