"""The one venv the benchmarks run datatrove in (/tmp/ccforge-bench-datatrove; never a
ccforge dependency). Each benchmark names the packages it needs and a line of Python
that must run there; what is missing is pip-installed into the same venv, once."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

DT_VENV = Path(tempfile.gettempdir()) / "ccforge-bench-datatrove"
DT_PYTHON = DT_VENV / "bin" / "python"
DATATROVE = "datatrove[processing]==0.10.1"


def usable(check: str) -> bool:
    """Whether `check` (Python code) runs in the venv."""
    return DT_PYTHON.exists() and subprocess.run([str(DT_PYTHON), "-c", check], capture_output=True).returncode == 0


def ensure_datatrove(packages: list[str], check: str, timeout_s: float = 1800) -> str | None:
    """Creates the venv when missing and installs `packages` when `check` fails there;
    returns why datatrove is unusable (one line), or None."""
    if usable(check):
        return None
    print(f"installing {' '.join(packages)} into {DT_VENV} (once; a few minutes) ...", flush=True)
    try:
        if not DT_PYTHON.exists():
            base_python = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base_python, "-m", "venv", str(DT_VENV)], check=True, capture_output=True)
        subprocess.run([str(DT_PYTHON), "-m", "pip", "install", "--quiet", *packages],
                       check=True, capture_output=True, timeout=timeout_s)
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
        return f"'{' '.join(map(str, exc.cmd[:4]))} ...' failed: {tail[0][:200]}"
    except (subprocess.SubprocessError, OSError) as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None if usable(check) else f"datatrove installed in {DT_VENV} but `{check}` fails there"
