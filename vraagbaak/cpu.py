"""What this processor offers, and how the model's runtimes should use it.

Kept apart from the embedders so that both runtimes (``openvino_model``, the
torch path in ``embeddings``) can ask it without reaching up to each other.
"""

from __future__ import annotations

import os

__all__ = ["quiet_torch_threads", "usable_cores"]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: a container's or taskset's share), not the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def quiet_torch_threads() -> None:
    """Threads for torch that work without spinning.

    torch runs its kernels on OpenMP threads that busy-wait between parallel
    regions, and numpy's OpenBLAS keeps threads of its own that busy-wait after
    each product. On 2 cores shared with anything else, a waiting thread spins
    on the core the working one needs: measured under load (BENCHMARKS.md,
    Round 4), a question took 1,018 ms and 40 passages 30.3 s; with OpenMP's
    passive wait 58 ms and 5.6 s, and with numpy's BLAS on one thread as well
    55 ms and 5.6 s. So: OpenMP threads sleep when idle (read by libgomp when
    torch loads it, hence set before the import; a caller's own setting wins),
    torch gets one thread per usable core, and numpy's BLAS one thread (its
    products here are one question against a few thousand rows, where threads
    buy nothing).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(usable_cores())
    threadpool_limits(1, user_api="blas")
