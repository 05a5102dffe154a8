"""What the processor offers, and the threads the model runtimes get (vraagbaak/cpu.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from vraagbaak.cpu import usable_cores

ROOT = Path(__file__).resolve().parent.parent

THREADS = """
import json, os
from vraagbaak.cpu import quiet_torch_threads
quiet_torch_threads()
import torch
from threadpoolctl import threadpool_info
print(json.dumps({"torch": torch.get_num_threads(), "wait": os.environ.get("OMP_WAIT_POLICY"),
                  "blas": sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})}))
"""


def test_torch_gets_a_thread_per_usable_core_and_numpy_blas_one():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env=dict(env, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"torch": usable_cores(), "wait": "PASSIVE", "blas": [1]}


def test_usable_cores_follow_the_affinity():
    assert usable_cores() == len(os.sched_getaffinity(0)) >= 1
