"""Run directories and inputs on an object store (gs://, s3://) through Beam's FileSystems,
and the driver's checks for a Dataflow job that would touch this machine's files.

`ccfstest://` stands in for gs://: an object store with no directories, objects published
when closed, prefix listing (backed by a local folder; registered with Beam by subclassing
its FileSystem). The job runs in_memory, where the registration is visible.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystem import BeamIOError, CompressedFile, CompressionTypes, FileMetadata, FileSystem

from ccforge.config import load_config
from ccforge.jobs.run import check_remote_settings, local_config_files, run_job
from conftest import SAMPLE_DIR

pytestmark = pytest.mark.whole_jobs  # scheduled first (conftest)

SCHEME = "ccfstest"
BEAM = ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


class ObjectStore(FileSystem):
    """A flat object store over a local folder (`ObjectStore.root`), like GCS."""

    root: Path | None = None

    @classmethod
    def scheme(cls):
        return SCHEME

    def _local(self, path: str) -> Path:
        assert path.startswith(f"{SCHEME}://"), path
        return self.root / path[len(SCHEME) + 3:]

    def _url(self, local: Path) -> str:
        return f"{SCHEME}://{local.relative_to(self.root).as_posix()}"

    def join(self, basepath, *paths):
        return "/".join([basepath.rstrip("/"), *(p.strip("/") for p in paths)])

    def split(self, path):
        head, _, tail = path.rstrip("/").rpartition("/")
        return head, tail

    def mkdirs(self, path):
        pass  # no directories in an object store

    def has_dirs(self):
        return False

    def _list(self, prefix):
        for local in sorted(self.root.rglob("*")):
            url = self._url(local)
            if local.is_file() and url.startswith(prefix):
                yield FileMetadata(url, local.stat().st_size, local.stat().st_mtime)

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        raw = _Upload(self._local(path))
        compression_type = FileSystem._get_compression_type(path, compression_type)
        return raw if compression_type == CompressionTypes.UNCOMPRESSED else CompressedFile(raw, compression_type)

    def open(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        local = self._local(path)
        if not local.is_file():
            raise BeamIOError("no such object", {path: FileNotFoundError(path)})
        raw = open(local, "rb")
        compression_type = FileSystem._get_compression_type(path, compression_type)
        return raw if compression_type == CompressionTypes.UNCOMPRESSED else CompressedFile(raw, compression_type)

    def copy(self, sources, destinations):
        for src, dst in zip(sources, destinations):
            self._local(dst).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self._local(src), self._local(dst))

    def rename(self, sources, destinations):
        self.copy(sources, destinations)
        self.delete(sources)

    def exists(self, path):
        return self._local(path).is_file()  # a "directory" is not an object

    def size(self, path):
        return self._local(path).stat().st_size

    def last_updated(self, path):
        return self._local(path).stat().st_mtime

    def checksum(self, path):
        return str(self.size(path))

    def metadata(self, path):
        return FileMetadata(path, self.size(path), self.last_updated(path))

    def delete(self, paths):
        errors = {}
        for path in paths:
            if path.endswith("/"):  # like GCS: a prefix
                for meta in list(self._list(path)):
                    self._local(meta.path).unlink()
            elif self._local(path).is_file():
                self._local(path).unlink()
            else:
                errors[path] = FileNotFoundError(path)
        if errors:
            raise BeamIOError("delete failed", errors)


class _Upload(io.BytesIO):
    """Written in memory, published whole on close (as object stores do)."""

    def __init__(self, final: Path):
        super().__init__()
        self.final = final

    def close(self):
        if not self.closed:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.final.with_name(f".upload-{uuid.uuid4().hex}")
            tmp.write_bytes(self.getvalue())
            os.replace(tmp, self.final)
        super().close()


@pytest.fixture
def bucket(tmp_path):
    ObjectStore.root = tmp_path / "bucket"
    (ObjectStore.root / "in").mkdir(parents=True)
    for path in sorted(SAMPLE_DIR.glob("*.warc.gz")):
        shutil.copy(path, ObjectStore.root / "in" / path.name)
    yield ObjectStore.root
    ObjectStore.root = None


@pytest.mark.slow  # make test-slow (CI runs it too)
def test_object_store_run_dir_and_inputs(bucket, capsys):
    config = load_config(None, ["extract.extractor=resiliparse"])
    run_dir = f"{SCHEME}://run"
    stats = run_job([f"{SCHEME}://in/*.warc.gz"], run_dir, config, BEAM)
    out = bucket / "run"
    kept = stats["stages"][-1]["kept"]
    assert kept > 0 and stats["inputs"][0].startswith(f"{SCHEME}://in/")
    assert pq.read_table(out / "documents").num_rows == kept
    manifest = json.loads((out / "manifest.json").read_text())
    assert sum(s["rows"] for s in manifest["shards"]) == kept
    for shard in manifest["shards"]:
        assert (out / shard["path"]).stat().st_size == shard["bytes"]
    assert (out / "stats.json").is_file() and (out / "report.html").stat().st_size > 1000
    assert len(list((out / "chunks").glob("*/*/_SUCCESS"))) == stats["pieces"] == 3
    assert not (out / "logs").exists()  # local worker logs stay on this machine for a remote run dir
    first = {p.relative_to(out): p.read_bytes() for p in [out / "manifest.json", *(out / "documents").glob("*.parquet")]}

    # rerun: markers read back from the store; stale phase-B objects are removed
    (out / "tokens" / "val-00009.parquet").write_bytes(b"stale")
    (out / "documents" / "documents-00001-of-00002.parquet").write_bytes(b"stale")
    capsys.readouterr()
    run_job([f"{SCHEME}://in/*.warc.gz"], run_dir, config, BEAM)
    assert "3 piece(s), 3 done earlier" in capsys.readouterr().out
    assert not (out / "tokens" / "val-00009.parquet").exists()
    assert not (out / "documents" / "documents-00001-of-00002.parquet").exists()
    assert {p.relative_to(out): p.read_bytes() for p in [out / "manifest.json", *(out / "documents").glob("*.parquet")]} == first


def test_dataflow_job_refuses_local_files_before_starting():
    config = load_config(None, [])
    dataflow = ["--runner=DataflowRunner", "--project=p", "--region=us-central1", "--temp_location=gs://b/tmp"]
    with pytest.raises(ValueError, match="local file, which Dataflow workers cannot read"):
        check_remote_settings([("/data/x.warc.gz", "")], "gs://b/run", config, dataflow)
    with pytest.raises(ValueError, match="local directory, which Dataflow workers cannot write"):
        check_remote_settings([("gs://b/x.warc.gz", "")], "/tmp/run", config, dataflow)
    check_remote_settings([("gs://b/x.warc.gz", ""), ("https://h/x.warc.gz", "")], "gs://b/run", config, dataflow)
    check_remote_settings([("/data/x.warc.gz", "")], "/tmp/run", config, [])  # local runs: anything goes


def test_local_config_files_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("CCFORGE_BLOCKLISTS", str(tmp_path))
    (tmp_path / "adult.tar.gz").write_bytes(b"")
    config = load_config(None, ["language.model_path=/models/lid.176.bin", "url_filter.blocklists=[gs://b/ut1.tar.gz]",
                                "tokenize.encoding=/enc/my.tiktoken"])
    found = dict(local_config_files(config))
    assert found["language.model_path"] == "/models/lid.176.bin"
    assert found["url_filter.use_fetched"].endswith("adult.tar.gz")
    assert found["tokenize.encoding"] == "/enc/my.tiktoken"
    assert "url_filter.blocklists" not in found  # gs:// is not a local file
