"""How many CPU threads `ccforge train` and `ccforge sample` give torch: the cores that are free.

Every parallel op of torch's OpenMP pool ends in a barrier that waits for all its threads.
When another process holds a core, the thread that shares it runs only when the scheduler
lets it, and each barrier waits for that: sampling a tiny model on 2 threads of a 2-core
machine with two other busy processes made 8 tokens/s where one thread made 32-52
(README, "Training on the shards"). So the pool is sized to the cores this process may run
on minus the load already on them (the 1-minute load average), at least one; on an idle
machine that is every core, and OpenMP's own wait policy (short spinning) is left alone.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def free_cores() -> int:
    """Usable cores minus the load other processes put on them now, rounded, at least 1."""
    cores = usable_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this system: assume it is idle
        load = 0.0
    return max(1, min(cores, int(cores - load + 0.5)))


def set_cpu_threads(threads: int | None = None) -> int:
    """Give torch `threads` CPU threads (None: OMP_NUM_THREADS when set, else the free cores); the number set."""
    import torch

    if threads is None:
        from_env = os.environ.get("OMP_NUM_THREADS", "").strip()
        threads = int(from_env) if from_env.isdigit() and int(from_env) > 0 else free_cores()
    if threads < 1:
        raise ValueError(f"--threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    return threads
