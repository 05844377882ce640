"""Shared test helpers: where the bundled sample and the optional shared data live."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"
SHARED_DATA = ROOT.parent / "shared" / "data"


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
