"""What this processor offers, and how the model's runtimes should use it.

Kept apart from the embedders so that both runtimes (``openvino_model``, the
torch path in ``embeddings``) can ask it without reaching up to each other.
"""

from __future__ import annotations

import os

from . import messages
from .errors import VraagbaakError

__all__ = ["PRECISIONS", "PRECISION_ENV", "cpu_flags", "int8_support", "openvino_precision", "quiet_torch_threads", "usable_cores"]


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


# ------------------------------------------------------------ int8 or not

PRECISION_ENV = "VRAAGBAAK_PRECISION"  # "int8" or "fp32": overrides the choice below (to test the fallback on any host)
PRECISIONS = ("int8", "fp32")  # the OpenVINO models this version makes of the bundled model

# What oneDNN's kernels (OpenVINO's and torch's) may use under each value of
# ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA, by oneDNN's names ("AVX10_1_512" is the
# newer name of AVX512_CORE_FP16, "AVX10_1_512_AMX" of AVX512_CORE_AMX). A limit
# a CPU is above holds its kernels back to that level: the way to measure, on one
# machine, what an older processor would do (BENCHMARKS.md).
_LIMIT_ALLOWS = {
    "SSE41": frozenset(),
    "AVX": frozenset(),
    "AVX2": frozenset({"avx2"}),
    "AVX2_VNNI": frozenset({"avx2", "avx_vnni"}),
    "AVX2_VNNI_2": frozenset({"avx2", "avx_vnni"}),
    "AVX512_CORE": frozenset({"avx2", "avx512"}),
    "AVX512_CORE_VNNI": frozenset({"avx2", "avx512", "avx512_vnni"}),
    "AVX512_CORE_BF16": frozenset({"avx2", "avx512", "avx512_vnni", "avx_vnni"}),
    "AVX10_1_512": frozenset({"avx2", "avx512", "avx512_vnni", "avx_vnni"}),
    "AVX512_CORE_FP16": frozenset({"avx2", "avx512", "avx512_vnni", "avx_vnni"}),
}
_AMX_LIMITS = ("AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "AVX10_2_512_AMX_2")
_ISA_LIMIT_ENV = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")  # oneDNN reads the first that is set

# Where the int8 model is the fastest faithful one (benchmarks/precision.py, BENCHMARKS.md Round 4, passages
# per second against torch on one Zen 4 under each ONEDNN_MAX_CPU_ISA limit): with VNNI int8 3.0x, fp32 1.1x;
# AVX-512 without VNNI (Skylake servers) int8 1.4x, fp32 0.9x; AVX2 only (laptops before 2020, AMD before Zen 4)
# int8 0.7x, fp32 1.3x: there the 8-bit products are emulated, and the fp32 model (torch's vectors) wins.
_INT8_FASTEST = ("amx", "vnni", "avx512", "unknown")  # "unknown": flags not readable, as before issue 39


def cpu_flags() -> frozenset[str]:
    """The processor's feature flags as Linux names them (empty where they cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def int8_support(flags: frozenset[str] | None = None, environ: dict | None = None) -> str:
    """What this processor offers 8-bit kernels, under any ONEDNN_MAX_CPU_ISA limit:
    "amx", "vnni" (AVX-512 VNNI or AVX-VNNI), "avx512" or "avx2" (without VNNI:
    8-bit products emulated), "older", or "unknown" (flags not readable: not Linux)."""
    flags = cpu_flags() if flags is None else flags
    environ = os.environ if environ is None else environ
    if not flags:
        return "unknown"
    have = set()
    if "avx2" in flags and "fma" in flags:
        have.add("avx2")
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        have.add("avx512")
        if "avx512_vnni" in flags:
            have.add("avx512_vnni")
    if "avx_vnni" in flags and "avx2" in have:
        have.add("avx_vnni")
    amx = {"amx_int8", "amx_tile"} <= flags and "avx512_vnni" in have
    limit = next((environ[name].strip().upper() for name in _ISA_LIMIT_ENV if environ.get(name, "").strip()), "")
    if limit in _LIMIT_ALLOWS:  # an AMX level, ALL, DEFAULT or a name oneDNN does not know: no limit here
        amx = False
        have &= _LIMIT_ALLOWS[limit]
    if amx:
        return "amx"
    if "avx512_vnni" in have or "avx_vnni" in have:
        return "vnni"
    return "avx512" if "avx512" in have else "avx2" if "avx2" in have else "older"


def openvino_precision(environ: dict | None = None) -> str:
    """The OpenVINO model for this processor: int8 where it has VNNI, AMX or AVX-512
    (or cannot be asked), fp32 where it has AVX2 or less; ``VRAAGBAAK_PRECISION`` overrides."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(PRECISION_ENV, "").strip().lower()
    if chosen:
        if chosen not in PRECISIONS:
            raise VraagbaakError(messages.not_a_precision(PRECISION_ENV, chosen, PRECISIONS))
        return chosen
    return "int8" if int8_support(environ=environ) in _INT8_FASTEST else "fp32"
