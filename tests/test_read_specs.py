"""Input specs -> WARC files (local paths, globs, @lists, crawl ids, Beam filesystems).

Crawl ids and http(s) against a loopback server are in test_read_http.py.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from ccforge.read.errors import ReadError
from ccforge.read.reader import ReadConfig, plan_splits, read_split
from ccforge.read.specs import dump_of, resolve_inputs

DATA = Path(__file__).parent / "data" / "read"
WARCFILE = DATA / "warcfile.warc.gz"


@pytest.fixture
def crawl_dir(tmp_path):
    """A local tree shaped like Common Crawl's, with three copies of the fixture WARC."""
    warcs = []
    for n in range(3):
        rel = f"crawl-data/CC-MAIN-2024-10/segments/1707/warc/CC-MAIN-20240220211055-2024022100{n}-0000{n}.warc.gz"
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(WARCFILE, target)
        warcs.append(str(target))
    return tmp_path, warcs


def test_local_path_glob_and_directory(crawl_dir):
    root, warcs = crawl_dir
    config = ReadConfig()
    assert resolve_inputs([warcs[1]], config) == [(warcs[1], "CC-MAIN-2024-10")]
    assert resolve_inputs([str(root / "crawl-data/*/segments/*/warc/*.warc.gz")], config) == [
        (w, "CC-MAIN-2024-10") for w in warcs
    ]
    assert [u for u, _ in resolve_inputs([str(root / "**" / "*.warc.gz")], config)] == warcs
    assert [u for u, _ in resolve_inputs([str(root)], config)] == warcs  # a directory
    assert resolve_inputs([str(WARCFILE)], config) == [(str(WARCFILE), "")]


def test_directory_takes_warc_and_arc_files_and_says_what_it_skipped(crawl_dir, caplog):
    root, warcs = crawl_dir
    other = root / "crawl-data" / "CC-MAIN-2024-10"
    (other / "warc.paths.gz").write_bytes(b"")
    (other / "README.txt").write_text("not a WARC")
    (other / "old.arc.gz").write_bytes(b"")
    with caplog.at_level("WARNING", logger="ccforge.read.specs"):
        got = [u for u, _ in resolve_inputs([str(root)], ReadConfig())]
    assert got == sorted([*warcs, str(other / "old.arc.gz")])
    assert "4 WARC/ARC file(s) taken, 2 other file(s) skipped" in caplog.text


def test_file_url_and_repeats(crawl_dir):
    _, warcs = crawl_dir
    got = resolve_inputs([f"file://{warcs[0]}", warcs[0], warcs[1]], ReadConfig())
    assert got == [(warcs[0], "CC-MAIN-2024-10"), (warcs[1], "CC-MAIN-2024-10")]


def test_list_file_with_comments(crawl_dir, tmp_path):
    _, warcs = crawl_dir
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# my inputs\n\n{warcs[2]}  # the last one\n   \n{warcs[0]}\n")
    assert [u for u, _ in resolve_inputs([f"@{listing}"], ReadConfig())] == [warcs[2], warcs[0]]


def test_max_files_caps_each_spec(crawl_dir):
    root, warcs = crawl_dir
    got = resolve_inputs([str(root / "**/*.warc.gz"), str(WARCFILE)], ReadConfig(), max_files=2)
    assert [u for u, _ in got] == warcs[:2] + [str(WARCFILE)]


def test_crawl_id_through_a_local_mirror(crawl_dir):
    root, warcs = crawl_dir
    listing = root / "crawl-data/CC-MAIN-2024-10/warc.paths.gz"
    listing.write_bytes(gzip.compress("\n".join(str(Path(w).relative_to(root)) for w in warcs).encode()))
    config = ReadConfig(cc_base_url=str(root))
    assert resolve_inputs(["CC-MAIN-2024-10"], config, max_files=2) == [(w, "CC-MAIN-2024-10") for w in warcs[:2]]
    with pytest.raises(ReadError, match="CC-MAIN-2023-50"):
        resolve_inputs(["CC-MAIN-2023-50"], config)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("no/such/file.warc.gz", "input 'no/such/file.warc.gz' not found"),
        ("no/such/*.warc.gz", "no file matches input glob 'no/such/\\*.warc.gz'"),
        ("@no/such/list.txt", "cannot read input list @no/such/list.txt"),
        ("CC-MAIN-24-10", "crawl ids look like CC-MAIN-2024-10"),
        ("", "empty input spec"),
    ],
)
def test_unknown_inputs_are_one_line_errors(spec, message):
    with pytest.raises(ReadError, match=message) as error:
        resolve_inputs([spec], ReadConfig())
    assert "\n" not in str(error.value)


def test_lists_do_not_nest_and_must_name_files(tmp_path):
    inner = tmp_path / "inner.txt"
    inner.write_text(str(WARCFILE))
    outer = tmp_path / "outer.txt"
    outer.write_text(f"@{inner}\n")
    with pytest.raises(ReadError, match="do not nest"):
        resolve_inputs([f"@{outer}"], ReadConfig())
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(ReadError, match="names no files"):
        resolve_inputs([f"@{empty}"], ReadConfig())


def test_dump_from_path():
    path = "s3://commoncrawl/crawl-data/CC-MAIN-2024-10/segments/1/warc/CC-MAIN-20240220211055-20240221001055-00000.warc.gz"
    assert dump_of(path) == "CC-MAIN-2024-10"
    assert dump_of("/data/CC-MAIN-20240220211055-00000.warc.gz") == ""


def test_beam_filesystem_paths(tmp_path):
    """s3:// and gs:// go through Beam's FileSystems; a stand-in scheme proves the path."""
    pytest.importorskip("apache_beam")
    from apache_beam.io.filesystem import FileMetadata, MatchResult
    from apache_beam.io.localfilesystem import LocalFileSystem

    root = tmp_path / "bucket"
    (root / "warcs").mkdir(parents=True)
    shutil.copy(WARCFILE, root / "warcs" / "a.warc.gz")
    shutil.copy(WARCFILE, root / "warcs" / "b.warc.gz")
    prefix = "ccforgetest://"

    class PrefixedLocal(LocalFileSystem):
        @classmethod
        def scheme(cls):
            return "ccforgetest"

        def open(self, path, *args, **kwargs):
            return super().open(path.replace(prefix, f"{root}/", 1), *args, **kwargs)

        def match(self, patterns, limits=None):
            results = super().match([p.replace(prefix, f"{root}/", 1) for p in patterns], limits)
            return [
                MatchResult(p, [FileMetadata(m.path.replace(f"{root}/", prefix, 1), m.size_in_bytes)
                                for m in r.metadata_list])
                for p, r in zip(patterns, results, strict=True)
            ]

    config = ReadConfig(split_min_bytes=1)
    found = resolve_inputs([f"{prefix}warcs/*.warc.gz"], config)
    assert found == [(f"{prefix}warcs/a.warc.gz", ""), (f"{prefix}warcs/b.warc.gz", "")]
    splits = plan_splits(found[0][0], config, 3)
    assert len(splits) == 3
    docs = [o for s in splits for o in read_split(s, config) if hasattr(o, "html")]
    assert len(docs) == 16 and len({d.id for d in docs}) == 16
    with pytest.raises(ReadError, match="no input matches"):
        resolve_inputs([f"{prefix}warcs/*.nothing"], config)
    with pytest.raises(ReadError, match="no filesystem for nosuchfs://"):
        plan_splits("nosuchfs://bucket/x.warc.gz", config, 1)
