"""The instruction-set profiles the Round 4 benchmarks run under, and the CPU they ran on.

Each profile is the environment that holds oneDNN's kernels (OpenVINO's and
torch's), MKL's and ATen's back to one level, so that one machine shows what
an older processor would do (issue 39): ``AVX2`` is a laptop before 2020 or an
AMD before Zen 4; ``AVX512_CORE`` a Skylake server (AVX-512 without VNNI);
``AVX512_CORE_VNNI`` a Cascade Lake or Zen 4; ``native`` no limit.
"""

from __future__ import annotations

import os
from pathlib import Path

PROFILES = {
    "AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"},
    "AVX512_CORE": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "DNNL_MAX_CPU_ISA": "AVX512_CORE", "MKL_ENABLE_INSTRUCTIONS": "AVX512",
                    "ATEN_CPU_CAPABILITY": "avx512"},
    "AVX512_CORE_VNNI": {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI", "DNNL_MAX_CPU_ISA": "AVX512_CORE_VNNI",
                         "MKL_ENABLE_INSTRUCTIONS": "AVX512_E1", "ATEN_CPU_CAPABILITY": "avx512"},
    "native": {},
}
_NAMES = {name for env in PROFILES.values() for name in env}
CPU_FLAGS = ("amx_int8", "amx_bf16", "amx_tile", "avx512_vnni", "avx512_bf16", "avx512f", "avx_vnni", "avx2")


def profile_env(profile: str) -> dict:
    """This process's environment with ``profile``'s limits (and none of another profile's)."""
    env = {k: v for k, v in os.environ.items() if k not in _NAMES}
    env.update(PROFILES[profile])
    return env


def cpu_facts() -> dict:
    """The CPU model, the flags that decide which kernels OpenVINO/oneDNN pick, and the load."""
    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    return {"cpu": model, "flags": [f for f in CPU_FLAGS if f in flags], "cores": os.cpu_count(),
            "load_1_5_15": [round(x, 2) for x in load]}
