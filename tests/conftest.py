"""Shared test helpers: where the bundled sample and the optional shared data live, a
result computed once for all pytest-xdist workers, and the order that lets `make test`'s
two workers finish together."""

import os
from pathlib import Path

# As in `ccforge run`'s driver (ccforge.jobs.options), before any test imports gRPC: runs
# inside this process fork extractor children, and with gRPC's fork support on, a child
# forked beside its threads now and then aborts (it is replaced, but the log fills up).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"
SHARED_DATA = ROOT.parent / "shared" / "data"


def pytest_collection_modifyitems(items):
    """Modules marked `whole_jobs` (each runs several end-to-end jobs) go first: `make test`
    hands whole modules to two workers in this order, and a long module handed out last
    would leave one worker idle while the other finishes it."""
    items.sort(key=lambda item: item.get_closest_marker("whole_jobs") is None)  # stable sort


def computed_once(tmp_path_factory, name: str, compute) -> Path:
    """A directory that `compute(path)` fills once per test session, whichever pytest-xdist
    worker asks first (the others wait on a file lock, then reuse it). A directory left by
    a compute that failed (no `.done` beside it) is computed again from scratch."""
    import shutil

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # each worker's base is a folder of the session's
    path, done = base / name, base / f"{name}.done"
    with FileLock(str(base / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            compute(path)
            done.touch()
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared test data at {SHARED_DATA} (absent on this machine)")
    return SHARED_DATA


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def job_service(tmp_path_factory):
    """Beam's own job service, the way Flink, Spark and Dataflow Runner v2 receive a job
    (loopback only: the SDK worker runs in the submitting process)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    port = free_port()
    log = tmp_path_factory.mktemp("job-service") / "service.log"
    with open(log, "w") as sink:
        service = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("localhost", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or service.poll() is not None:
                service.kill()
                pytest.fail("the job service did not start:\n" + log.read_text()[-2000:])
            time.sleep(0.2)
    yield port, log
    service.terminate()
    service.wait(10)


PORTABLE = ["--runner=PortableRunner", "--environment_type=LOOPBACK"]  # + --job_endpoint
