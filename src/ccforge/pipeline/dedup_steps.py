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
import typing

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from ccforge.dedup.config import ExactDedupConfig, MinhashDedupConfig
from ccforge.dedup.keep import (
    DUPLICATE_RECORD,
    EXACT_DUPLICATE,
    NEAR_DUPLICATE,
    URL_DUPLICATE,
    KeyRecord,
    bucket_links,
    cluster_verdicts,
    first_copy,
    is_settled,
    large_star,
    merge_verdicts,
    newest_capture,
    small_star,
    smallest_id,
    union_find_stars,
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
        source=source_of(row.get("file_path"), row.get("record_offset")),
    )


def source_of(file_path, offset) -> tuple[str, int]:
    """Which copy of a record: (file, offset in it)."""
    return (str(file_path or ""), int(offset if offset is not None else -1))


def _url_key(record: KeyRecord) -> tuple[str, str]:
    # Documents without a URL are not captures of one page: each stays alone (its copies,
    # which share its id, come together here all the same).
    return (record.url, "") if record.url else ("", record.id)


def _captures(grouped, url_dedup: bool):
    """One URL's records: copies of one record collapse to one first (`duplicate_record`),
    then, with `url_dedup`, the newest capture wins (`url_duplicate`)."""
    _, records = grouped
    by_id: dict[str, list[KeyRecord]] = {}
    for record in records:
        by_id.setdefault(record.id, []).append(record)
    distinct = []
    for doc_id, copies in sorted(by_id.items()):
        kept, count = first_copy(copies)
        distinct.append(kept)
        if count > 1:
            yield beam.pvalue.TaggedOutput("verdicts", (doc_id, verdict(None, 1, kept.source)))
    if not url_dedup:
        yield from distinct
        return
    yield from _collapse((None, distinct), newest_capture, URL_DUPLICATE)


def _collapse(grouped, pick, reason: str):
    """Winner of one group to the main output, a verdict per loser to 'verdicts'."""
    _, records = grouped
    winner, losers = pick(records)
    yield winner
    for loser in losers:
        yield beam.pvalue.TaggedOutput("verdicts", (loser.id, verdict(reason, winner.copies)))


def _band_members(record: KeyRecord):
    for band, band_hash in enumerate(record.bands):
        yield (band, band_hash), record.id


def _bucket_links(bucket):
    edges, seen = bucket_links(bucket[1])
    yield from edges
    for doc_id in seen:
        yield beam.pvalue.TaggedOutput("seen", (doc_id, True))


def _copies_verdict(record: KeyRecord):
    # Survivors that absorbed copies carry a cluster size even without a near duplicate.
    if record.copies > 1:
        yield record.id, verdict(None, record.copies)


@beam.typehints.with_output_types(typing.Any)  # a tagged output beside the main one
def _cluster_member(joined):
    """One id's cluster root, copies and whether an earlier run holds it -> (root, member);
    an id an earlier run holds that is in no cluster is dropped on its own."""
    doc_id, grouped = joined
    roots, copies, seen = list(grouped["roots"]), list(grouped["copies"]), any(grouped["seen"])
    count = max(copies) if copies else 1
    if roots:
        yield min(roots), (doc_id, count, seen)
    elif seen:
        yield beam.pvalue.TaggedOutput("verdicts", (doc_id, verdict(NEAR_DUPLICATE, count)))


class FindDuplicates(beam.PTransform):
    """Key dicts {"id","url","date","file_path","record_offset","exact_hash","minhash_bands"}
    -> (id, verdict).

    Emits every id that is dropped, stands for more than one document, or was read more
    than once; ids it does not emit are kept with cluster size 1. A disabled stage decides
    nothing, but copies of one record always collapse to one.
    `cc_rounds`: connected components by that many rounds of shuffles (remote runners);
    None: in one process (the local runner).
    """

    def __init__(
        self,
        exact_cfg: ExactDedupConfig,
        minhash_cfg: MinhashDedupConfig,
        against_indexes: tuple[str, ...] | list[str] = (),
        cc_rounds: int | None = None,
    ):
        super().__init__()
        minhash_cfg.validate()
        self.exact_cfg = exact_cfg
        self.minhash_cfg = minhash_cfg
        self.cc_rounds = cc_rounds
        locations = list(against_indexes) or list(minhash_cfg.against)
        # Resolved now, so a wrong path fails before the pipeline runs.
        self.index_patterns = (
            [band_index_files(loc, minhash_cfg) for loc in locations] if minhash_cfg.enabled else []
        )

    def expand(self, rows):
        url_dedup = self.exact_cfg.enabled and self.exact_cfg.url_dedup
        by_url = (
            rows
            | "KeyRecords" >> beam.Map(_key_record)
            | "ByUrl" >> beam.Map(lambda r: (_url_key(r), r))
            | "GroupByUrl" >> beam.GroupByKey()
            | "OneCopyNewestCapture" >> beam.FlatMap(_captures, url_dedup).with_outputs("verdicts", main="kept")
        )
        survivors = by_url.kept
        decided = [by_url.verdicts]
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
            decided += self._near_duplicates(rows.pipeline, survivors)
        return decided | "AllVerdicts" >> beam.Flatten() | "OneVerdictPerId" >> beam.CombinePerKey(merge_verdicts)

    def _near_duplicates(self, pipeline, survivors) -> list:
        """Documents sharing a band bucket are linked; each cluster (connected component)
        keeps its smallest id."""
        members = [survivors | "BandMembers" >> beam.FlatMap(_band_members)]
        for i, pattern in enumerate(self.index_patterns):
            members.append(
                pipeline
                | f"ReadBandIndex{i}" >> beam.io.ReadFromParquet(pattern, columns=["band", "band_hash"])
                | f"EarlierBuckets{i}" >> beam.Map(lambda row: ((int(row["band"]), int(row["band_hash"])), None))
            )
        linked = (
            members
            | "AllBandMembers" >> beam.Flatten()
            | "GroupByBucket" >> beam.GroupByKey()
            | "LinkBucketMembers" >> beam.FlatMap(_bucket_links).with_outputs("seen", main="edges")
        )
        stars = linked.edges | "Clusters" >> ConnectedComponents(self.cc_rounds)
        roots = stars | "RootOfMember" >> beam.FlatMap(lambda edge: [edge, (edge[1], edge[1])])
        copies = survivors | "Copies" >> beam.FlatMap(lambda r: [(r.id, r.copies)] if r.copies > 1 else [])
        members_of = (
            {"roots": roots, "copies": copies, "seen": linked.seen}
            | "JoinClusterFacts" >> beam.CoGroupByKey()
            | "ClusterMember" >> beam.FlatMap(_cluster_member).with_outputs("verdicts", main="members")
        )
        clusters = (
            members_of.members
            | "GroupByCluster" >> beam.GroupByKey()
            | "KeepSmallestPerCluster" >> beam.FlatMap(lambda cluster: cluster_verdicts(cluster[0], cluster[1]))
        )
        return [clusters, members_of.verdicts]


class ConnectedComponents(beam.PTransform):
    """Edges (larger id, smaller id) -> (member, smallest id of its component) for every
    member but the smallest.

    `rounds` None: one union-find over all edges in one process (the local runner, where
    phase B runs on one machine anyway). Otherwise `rounds` rounds of large-star then
    small-star, each a GroupByKey over edges alone, so no worker holds more than one
    node's edges; a chain of n documents settles in about log2(n) rounds. Counts per round
    the nodes not yet settled (`cc_unsettled_round_NN`, 0 once every component is a star)
    and the edges each round shuffles (`cc_edges`).
    """

    def __init__(self, rounds: int | None):
        super().__init__()
        self.rounds = rounds

    def expand(self, edges):
        if self.rounds is None:
            return (
                edges
                | "AllEdges" >> beam.combiners.ToList()
                | "UnionFind" >> beam.FlatMap(union_find_stars)
            )
        for i in range(self.rounds):
            edges = (
                edges
                | f"BothWays{i}" >> beam.FlatMap(lambda e: [e, (e[1], e[0])])
                | f"ByNode{i}" >> beam.GroupByKey()
                | f"LargeStar{i}" >> beam.ParDo(_LargeStar(i))
                | f"ByLargerEnd{i}" >> beam.GroupByKey()
                | f"SmallStar{i}" >> beam.FlatMap(lambda item: small_star(item[0], item[1]))
            )
        return (
            edges
            | "ByMember" >> beam.GroupByKey()
            | "Settle" >> beam.ParDo(_Settle())
        )


class _LargeStar(beam.DoFn):
    def __init__(self, round_index: int):
        self.round_index = round_index

    def setup(self):
        counters = StageCounters("minhash_dedup")
        self.unsettled = lambda: counters.extra(f"cc_unsettled_round_{self.round_index:02d}")
        self.edges = lambda n: counters.extra("cc_edges", n)

    def process(self, item):
        node, neighbours = item
        neighbours = set(neighbours)
        self.edges(len(neighbours))
        if not is_settled(node, neighbours):
            self.unsettled()
        yield from large_star(node, neighbours)


class _Settle(beam.DoFn):
    """(member, [smaller ids]) -> (member, root). After enough rounds a member has one;
    more than one means the rounds were too few (`cc_unsettled`), and the smallest is taken."""

    def setup(self):
        self.counters = StageCounters("minhash_dedup")

    def process(self, item):
        member, roots = item
        roots = set(roots)
        if len(roots) > 1:
            self.counters.extra("cc_unsettled")
        yield member, min(roots)


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
        # The exact_dedup row also counts the copies of records read more than once, which
        # collapse whatever the config: each document id reaches the outputs once.
        self.exact_counters.seen()
        if not _is_kept_copy(found, doc.file_path, doc.metadata.get("record_offset")):
            self.exact_counters.dropped(DUPLICATE_RECORD)
            return
        if self.exact_enabled and drop in (URL_DUPLICATE, EXACT_DUPLICATE):
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


def _is_kept_copy(found: dict | None, file_path, offset) -> bool:
    """Whether this copy of a record is the one that stays (any, when it was read once)."""
    copy = found.get("copy") if found else None
    return copy is None or list(source_of(file_path, offset)) == list(copy)


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

    Counts funnel rows `exact_dedup` (dropped: duplicate_record, url_duplicate,
    exact_duplicate) and `minhash_dedup` (dropped: near_duplicate); a disabled stage drops
    nothing (but copies of one record collapse, counted under exact_dedup).
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
    """The band index rows of a kept document (none for a dropped one or another copy)."""
    if found is not None and found["drop"] is not None:
        return
    if not _is_kept_copy(found, row.get("file_path"), row.get("record_offset")):
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
