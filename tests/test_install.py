"""The README's commands work for a newcomer: the CLI and the import from any folder, and `make run PORT=… HOST=…` (issue 38)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _clean_env() -> dict:
    """The environment a newcomer's shell has: no PYTHONPATH pointing into the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def test_the_venvs_vraagbaak_command_runs_from_another_folder(tmp_path):
    script = Path(sys.executable).parent / "vraagbaak"
    assert script.is_file(), f"{script} is missing: the project is not installed into the venv"
    done = subprocess.run([str(script), "--help"], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for command in ("build", "ask", "eval", "users", "watch", "feedback"):
        assert command in done.stdout


def test_the_package_imports_from_another_folder(tmp_path):
    code = "import vraagbaak, pathlib; from vraagbaak import Index, LiveIndex; print(pathlib.Path(vraagbaak.__file__).parent)"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    where = Path(done.stdout.strip())
    assert (where / "api.py").is_file() and (where / "stores" / "local.py").is_file()  # the subpackages too
    assert tmp_path not in where.parents


def test_make_run_passes_port_host_and_args_to_the_app():
    done = subprocess.run(["make", "-n", "run", "PORT=8123", "HOST=0.0.0.0", "ARGS=--no-watch"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "app.py" in line)
    assert "--port 8123" in line and "--host 0.0.0.0" in line and line.rstrip().endswith("--no-watch")
