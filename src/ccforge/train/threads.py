"""CPU threads for `ccforge train` and `ccforge sample`, chosen by the work and by how busy the machine is.

Every parallel op of torch's OpenMP pool ends in a barrier that waits for all its threads.
When another process holds a core, the thread that shares it runs only when the scheduler
lets it; with OpenMP's default wait policy the waiting threads spin meanwhile and take CPU
from it. Measured on 2 shared cores (README, "Training on the shards"): on a busy machine 2
spinning threads trained at 349-443 tokens/s where 1 thread made 755-880 and 2 threads
with OMP_WAIT_POLICY=PASSIVE (waiting threads sleep) 1,350-1,382 (load 2.1-3.3); sampling
one prompt, whose ops are tiny, gained nothing from a second thread. On an idle machine spinning pays (issue 21:
one sample 2.5x faster than with PASSIVE). Hence:

- sample: the free cores (usable cores minus the 1-minute load average, rounded, at least 1),
  wait policy left to the library;
- train: on an idle machine every core, wait policy left alone; on a busy one every core with
  PASSIVE, which must be set before torch is imported (so `plan_threads` runs first in the
  command); at a load of cores + 1 or more, the free cores, as sleeping threads still wait
  for busy cores (load 4.9-7.6 on 2 cores: 574 tokens/s on 1 thread, 299 on 2 PASSIVE).

`--threads N` or OMP_NUM_THREADS overrides the count, and then nothing else is changed.
"""

from __future__ import annotations

import os
import sys


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def load_average() -> float:
    """The 1-minute load average (0 where the system has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def free_cores() -> int:
    """Usable cores minus the load other processes put on them now, rounded, at least 1."""
    cores = usable_cores()
    return max(1, min(cores, int(cores - load_average() + 0.5)))


def plan_threads(work: str, threads: int | None = None) -> int:
    """The thread count for `work` ("train" or "sample"); sets OMP_WAIT_POLICY where training on a busy machine.

    Call before torch is imported for the wait policy to take effect; then `set_cpu_threads`.
    """
    if threads is not None:
        if threads < 1:
            raise ValueError(f"--threads must be at least 1, got {threads}")
        return threads
    from_env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if from_env.isdigit() and int(from_env) > 0:
        return int(from_env)
    free, cores = free_cores(), usable_cores()
    if work == "sample" or free == cores or load_average() >= cores + 1:
        return free  # idle: every core; overloaded: even sleeping threads wait on busy cores
    if "torch" in sys.modules and "OMP_WAIT_POLICY" not in os.environ:
        return free  # too late to make waiting threads sleep: stay off the busy cores instead
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return cores


def set_cpu_threads(threads: int) -> int:
    """Give torch `threads` CPU threads; returns it."""
    import torch

    torch.set_num_threads(threads)
    return threads
